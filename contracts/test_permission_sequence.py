"""The permission sequence as a state machine: random People events through the provisioner, and after
each one the target compared with the reference model (allows, who may read what, listings).

After every write, every read that shows the written object is compared with the model field by field
(`readback.py`: the user, the domain, the allow, the mailbox in v1 and v2, the address probe, `/my/*`).
Deletions — the revocation of an allow, a user, one alias or every destination of a name — are checked
to remove exactly what they name, next to neighbours the rules create on purpose first: the same user's
allows on other domains, other users on the same domain, other names pointing at the same destination.

On a failure hypothesis prints the shrunk list of events (`state.create_domain(...)`) and, as notes,
the dimail calls each one sent.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule, \
    run_state_machine_as_test

from provisioner import DimailConflict, Provisioner
from provisioner.provisioner import PEOPLE_FEATURES

from .expect import ContractBroken, status
from .model import MANAGING, Model
from .plugin import examples, quick
from .readback import AsSet, Box, ReadBack, exactly_removed
from .target import Target

pytestmark = pytest.mark.contract("sequence")

LOCALS = ["jean", "marie", "paul", "lea"]
NAMES = [("Jean", "Dupont"), ("Marie", "Curie"), ("Paul", "Dupont"), ("jean", "dupont")]
ROLES = ["owner", "administrator", "viewer"]
NEEDED = [("GET", "/token/"), ("POST", "/users/"), ("GET", "/allows/"), ("POST", "/allows/"),
          ("DELETE", "/allows/{domain_name}/{user_name}"), ("POST", "/domains/"),
          ("GET", "/domains/{domain_name}/check"), ("GET", "/domains/{domain_name}/mailboxes/"),
          ("POST", "/domains/{domain_name}/mailboxes/{user_name}"),
          ("PATCH", "/domains/{domain_name}/mailboxes/{user_name}"), ("GET", "/v2/domains/{domain_name}/mailboxes/"),
          ("GET", "/domains/{domain_name}/aliases/"), ("POST", "/domains/{domain_name}/aliases/"),
          ("DELETE", "/domains/{domain_name}/aliases/{user_name}/{destination}")]
DELETE_USER = ("DELETE", "/users/{user_name}")
INVARIANTS = ("allows_match", "rights_follow_allows", "my_domains_follow_allows", "listings_match")
ALIAS_NAMES = ["contact", "info"]
# What People writes, as every view must show it (CONTRACT §4.2, §4.4): the defaults of what it leaves out too.
PEOPLE_USER = {"is_admin": False, "perms": AsSet([]), "acls": AsSet([]), "identities": AsSet([])}
PEOPLE_DOMAIN = {"features": AsSet(PEOPLE_FEATURES), "delivery": "virtual", "webmail": None, "webmail_domain": None,
                 "imap_domain": None, "smtp_domain": None, "mx_name": "internal", "transport": None,
                 "public_alias": False, "public_alias_rules": AsSet([]), "store_name": None,
                 "context_name": None}  # sent, and echoed by the 201 only (CONTRACT §4.4)


class PermissionSequence(RuleBasedStateMachine):
    target: ClassVar[Target]
    tally: ClassVar[Counter[str]] = Counter()  # what the run checked, for the report's note

    domains = Bundle("domains")
    users = Bundle("users")

    def __init__(self) -> None:
        super().__init__()
        self.p: Provisioner = self.target.provisioner(retries=0, cache_token=True)
        self.model = Model(people=self.target.people[0])
        self.made_domains: list[str] = []
        self.made_users: list[str] = []  # every user the run made, deleted ones too (the clean-up's list)
        self.rb = ReadBack(self.target)
        self.log: list[str] | None = None  # the tour's notes (it runs outside hypothesis)

    def _note(self, text: str) -> None:
        if self.log is None:
            note(text)
        else:
            self.log.append(text)

    # --- events ------------------------------------------------------------------------------

    def _calls(self, event: str, mark: int) -> str:
        """Note the calls an event sent; returns its writes, as read-back failures name them."""
        calls = self.p.journal[mark:]
        self._note(f"  {event}: " + "; ".join(f"{c.method} {c.path} {c.status}" for c in calls))
        writes = [f"{c.method} {c.path} {c.status}" for c in calls if c.is_write]
        self.tally["writes read back"] += bool(writes)
        return f"{', '.join(writes) or 'no write'} ({event})"

    def _created_user(self, mark: int) -> bool:
        return any(c.method == "POST" and c.path == "/users/" and c.status == 201 for c in self.p.journal[mark:])

    @property
    def live_users(self) -> list[str]:
        return [user for user in self.made_users if user in self.model.users]

    @initialize(target=users)
    def first_user(self) -> str:
        return self.create_user()

    @rule(target=users)
    def create_user(self) -> str:
        sub = self.target.name("user")
        mark = len(self.p.journal)
        self.p.user_created(sub)
        write = self._calls(f"user_created({sub!r})", mark)
        self.made_users.append(sub)
        self.model.user_created(sub)
        self.rb.user(write, sub, PEOPLE_USER)
        return sub

    @rule(target=domains, owner=users)
    def create_domain(self, owner: str) -> str:
        domain = self.target.name("domain")
        self.made_domains.append(domain)
        mark = len(self.p.journal)
        self.p.domain_created(domain, owner)
        write = self._calls(f"domain_created({domain!r}, {owner!r})", mark)
        if self.target.steerable:
            self._learn_dns_mode(domain)
        self.model.domain_created(domain, owner)
        self.rb.domain(write, domain, PEOPLE_DOMAIN)
        for user in (self.model.people, owner):
            self.rb.allow(write, user, domain)
        if self._created_user(mark):  # the owner was deleted before
            self.rb.user(write, owner, PEOPLE_USER)
        return domain

    def _learn_dns_mode(self, domain: str) -> None:
        """A fake started with `--dns auto` publishes at creation, `--certs-on-check` skips /fix: ask it."""
        if self.target.call("GET", f"/_fake/dns/{domain}").json():
            self.model.published.add(domain)
        if self.target.call("GET", f"/_fake/domains/{domain}/platform").json().get("certs_on_check"):
            self.model.certs_on_check.add(domain)

    @rule(domain=domains, sub=users, role=st.sampled_from(ROLES))
    def grant(self, domain: str, sub: str, role: str) -> None:
        mark = len(self.p.journal)
        self.p.access_granted(domain, sub, role)
        write = self._calls(f"access_granted({domain!r}, {sub!r}, {role!r})", mark)
        self.model.access_granted(domain, sub, role)
        if self.model.allowed(sub, domain):
            self.rb.allow(write, sub, domain)
        if self._created_user(mark):
            self.rb.user(write, sub, PEOPLE_USER)

    @rule(domain=domains, sub=users, remaining=st.sampled_from([None, *ROLES]))
    def revoke(self, domain: str, sub: str, remaining: str | None) -> None:
        """The allow goes when no managing role is left, and nothing else goes with it."""
        before = self._allows()
        mark = len(self.p.journal)
        self.p.access_revoked(domain, sub, remaining_role=remaining)
        write = self._calls(f"access_revoked({domain!r}, {sub!r}, remaining_role={remaining!r})", mark)
        named = set() if remaining in MANAGING else {(sub, domain)} & self.model.allows
        self.model.access_revoked(domain, sub, remaining)
        if named:
            exactly_removed(write, "GET /allows/", before, self._allows(), named)
            self.rb.allow(write, sub, domain, present=False)
            self.tally["exact deletions"] += 1

    @precondition(lambda self: any(user != self.model.people for user, _ in self.model.allows))
    @rule(data=st.data())
    def revoke_a_manager(self, data: st.DataObject) -> None:
        """The revocation that matters: a user who holds an allow loses their last managing role."""
        held = sorted((d, u) for u, d in self.model.allows if u != self.model.people)
        domain, sub = data.draw(st.sampled_from(held), label="allow")
        self.revoke(domain, sub, data.draw(st.sampled_from([None, "viewer"]), label="remaining_role"))

    @rule(domain=domains, sub=users)
    def revoke_beside_neighbours(self, domain: str, sub: str) -> None:
        """Revoke an allow whose neighbours exist: the same user allowed on another domain, another user
        allowed on the same one."""
        other = next((d for d in self.made_domains if d != domain), None) or self.create_domain(sub)
        self.grant(other, sub, "administrator")
        self.grant(domain, sub, "owner")
        self.grant(domain, self._other_user(sub), "administrator")
        self.revoke(domain, sub, None)

    def _other_user(self, sub: str) -> str:
        return next((u for u in self.live_users if u != sub), None) or self.create_user()

    @precondition(lambda self: not self.target.lacks(DELETE_USER))
    @rule(domain=domains, sub=users)
    def delete_user(self, domain: str, sub: str) -> None:
        """dimail's side (People never deletes users): the user and its allows go, on every domain; the other
        users and their allows stay. Neighbours made first: its allows on two domains, another user on them."""
        other = next((d for d in self.made_domains if d != domain), None)
        for where in [domain, *([other] if other else [])]:
            self.grant(where, sub, "owner")  # (re-)creates the user if a previous deletion took it
            self.grant(where, self._other_user(sub), "administrator")
        users, allows = set(self.live_users), self._allows()
        answer = self.target.call("DELETE", f"/users/{quote(sub, safe='')}", auth=self.target.people)
        write = f"DELETE /users/{sub} {answer.status_code} (dimail's: People never deletes users)"
        self._note(f"  delete_user({sub!r}): {write}")
        status(answer, 204, f"DELETE /users/{sub} as People's user, which created it")
        named = self.model.user_deleted(sub)
        self.rb.forget(sub)
        exactly_removed(write, "GET /allows/", allows, self._allows(), named)
        exactly_removed(write, "GET /users/", users, self._users(), {sub})
        self.rb.user(write, sub, None)
        self.tally["exact deletions"] += 1

    @precondition(lambda self: self.target.steerable)
    @rule(domain=domains)
    def publish_dns(self, domain: str) -> None:
        answer = self.target.call("POST", f"/_fake/dns/{domain}/publish", params={"records": "spec"})
        assert answer.status_code == 200, answer.text
        self._note(f"  publish_dns({domain!r})")
        self.model.published.add(domain)

    @rule(domain=domains)
    def fetch_status(self, domain: str) -> None:
        mark = len(self.p.journal)
        to_send = self.model.status_fetched(domain)
        try:
            self.p.domain_status(domain)
            raised = False
        except DimailConflict:
            raised = True
        write = self._calls(f"domain_status({domain!r})", mark)
        if to_send:
            went = self.model.send_pending(domain)
            assert raised is not went, f"sending the pending mailboxes of {domain}: conflict raised={raised}, " \
                                       f"model says every one could go={went}"
            for local in to_send:
                if (domain, local) in self.model.mailboxes:
                    self._read_mailbox(write, domain, local)
        assert (self.p.statuses.get(domain) == "enabled") == (domain in self.model.enabled), \
            f"People status of {domain}: provisioner {self.p.statuses.get(domain)}, model " \
            f"{'enabled' if domain in self.model.enabled else 'not enabled'}"

    @rule(domain=domains, local=st.sampled_from(LOCALS), names=st.sampled_from(NAMES))
    def create_mailbox(self, domain: str, local: str, names: tuple[str, str]) -> None:
        display = " ".join(names)
        mark = len(self.p.journal)
        if domain not in self.model.enabled:
            self.p.mailbox_created(domain, local, *names)
            self._calls(f"mailbox_created({domain!r}, {local!r}, ...) [pending]", mark)
            self.model.pend(domain, local, display)
            return
        self._send(domain, local, names, "mailbox_created", lambda: self.p.mailbox_created(domain, local, *names))

    @rule(domain=domains, local=st.sampled_from(LOCALS), names=st.sampled_from(NAMES))
    def send_mailbox(self, domain: str, local: str, names: tuple[str, str]) -> None:
        """dimail's side of a mailbox, whatever People's status (a real dimail never enables these domains)."""
        self._send(domain, local, names, "mailbox_sent", lambda: self.p.mailbox_sent(domain, local, *names))

    def _send(self, domain: str, local: str, names: tuple[str, str], event: str, send: Any) -> None:
        mark = len(self.p.journal)
        accepted = self.model.mailbox_sent(domain, local, " ".join(names))
        try:
            send()
            refused = False
        except DimailConflict:
            refused = True
        write = self._calls(f"{event}({domain!r}, {local!r}, {names!r})", mark)
        assert refused is not accepted, f"{event} {local}@{domain} with {names}: dimail " \
                                        f"{'refused' if refused else 'accepted'} it, the model expected the opposite"
        if accepted:  # written now, or written before and left as it was by the duplicate
            self._read_mailbox(write, domain, local)

    def _read_mailbox(self, write: str, domain: str, local: str) -> None:
        first, last = self.model.given[(domain, local)]
        active = "yes" if self.model.mailboxes[(domain, local)] else "no"
        box = Box(domain, local, webmail_domain="webmail" in PEOPLE_FEATURES, names=(first, last, f"{first} {last}"),
                  imap=active, smtp=active)
        self.rb.mailbox(write, box, viewer=self.model.viewer(domain))

    @rule(domain=domains, local=st.sampled_from(LOCALS), active=st.booleans())
    def switch_mailbox(self, domain: str, local: str, active: bool) -> None:
        if (domain, local) not in self.model.mailboxes:
            return
        mark = len(self.p.journal)
        if active:
            self.p.mailbox_enabled(domain, local, *self.model.given[(domain, local)])
        else:
            self.p.mailbox_disabled(domain, local)
        write = self._calls(f"mailbox_{'enabled' if active else 'disabled'}({domain!r}, {local!r})", mark)
        self.model.mailboxes[(domain, local)] = active
        self._read_mailbox(write, domain, local)

    @rule(domain=domains, local=st.sampled_from(ALIAS_NAMES), to=st.sampled_from(LOCALS))
    def create_alias(self, domain: str, local: str, to: str) -> None:
        mark = len(self.p.journal)
        self.p.alias_created(domain, local, f"{to}@{domain}")
        write = self._calls(f"alias_created({domain!r}, {local!r}, {to!r})", mark)
        self.model.aliases.add((domain, local, f"{to}@{domain}"))
        self._read_aliases(write, domain, local)

    def _read_aliases(self, write: str, domain: str, local: str) -> None:
        # People sends no `allow_to_send`: false (CONTRACT §4.11)
        self.rb.aliases(write, domain, local, dict.fromkeys(self.model.destinations(domain, local), False),
                        viewer=self.model.viewer(domain))

    @rule(domain=domains, local=st.sampled_from(ALIAS_NAMES), to=st.sampled_from(LOCALS))
    def delete_alias(self, domain: str, local: str, to: str) -> None:
        before = self._aliases()
        mark = len(self.p.journal)
        self.p.alias_deleted(domain, local, f"{to}@{domain}")
        write = self._calls(f"alias_deleted({domain!r}, {local!r}, {to!r})", mark)
        named = {(domain, local, f"{to}@{domain}")} & self.model.aliases
        self.model.aliases -= named
        exactly_removed(write, "GET /domains/{d}/aliases/", before, self._aliases(), named)
        self._read_aliases(write, domain, local)
        self.tally["exact deletions"] += bool(named)

    @rule(domain=domains, local=st.sampled_from(ALIAS_NAMES))
    def delete_every_destination(self, domain: str, local: str) -> None:
        """`DELETE …/aliases/{name}/all` (dimail's; People deletes one destination at a time): every destination
        of the name goes; other names, even with the same destinations, and the name on other domains stay.
        Neighbours made first: two destinations, another name to the same one, the same name elsewhere."""
        other_name = next(name for name in ALIAS_NAMES if name != local)
        for to in LOCALS[:2]:
            self.create_alias(domain, local, to)
        self.create_alias(domain, other_name, LOCALS[0])
        elsewhere = next((d for d in self.made_domains if d != domain), None)
        if elsewhere is not None:
            self.create_alias(elsewhere, local, LOCALS[0])
        before = self._aliases()
        answer = self.target.call("DELETE", f"/domains/{domain}/aliases/{local}/all", bearer=self.rb.token())
        write = f"DELETE /domains/{domain}/aliases/{local}/all {answer.status_code}"
        self._note(f"  delete_every_destination({domain!r}, {local!r}): {write}")
        status(answer, 204, f"DELETE /domains/{domain}/aliases/{local}/all, the name having destinations")
        named = self.model.aliases_deleted(domain, local)
        exactly_removed(write, "GET /domains/{d}/aliases/", before, self._aliases(), named)
        self._read_aliases(write, domain, local)
        self.tally["exact deletions"] += 1

    # --- what the target holds of the run's objects (for exact deletions) -------------------------

    def _allows(self) -> set[tuple[str, str]]:
        answer = self.target.call("GET", "/allows/", auth=self.target.people)
        status(answer, 200, "GET /allows/ as People's user")
        mine = set(self.made_domains)
        return {(a["user"], a["domain"]) for a in answer.json() if a["domain"] in mine}

    def _aliases(self) -> set[tuple[str, str, str]]:
        found = set()
        for domain in self.made_domains:
            answer = self.target.call("GET", f"/domains/{domain}/aliases/", bearer=self.rb.token())
            status(answer, 200, f"GET /domains/{domain}/aliases/ as People's user")
            found |= {(domain, a["username"], a["destination"]) for a in answer.json()}
        return found

    def _users(self) -> set[str]:
        answer = self.target.call("GET", "/users/", auth=self.target.people)
        status(answer, 200, "GET /users/ as People's user")
        return {u["name"] for u in answer.json()} & set(self.made_users)

    # --- the deliberate tour -----------------------------------------------------------------------

    def tour(self) -> None:
        """Every kind of write and deletion once, beside its neighbours, the invariants after each step:
        what the random sequences that follow may or may not draw."""
        self.log = []
        owner, other = self.create_user(), self.create_user()
        first, second = self.create_domain(owner), self.create_domain(other)
        steps: list[Any] = [
            lambda: self.grant(second, owner, "administrator"),
            *([lambda: self.publish_dns(first)] if self.target.steerable else []),
            lambda: self.fetch_status(first),
            lambda: self.create_mailbox(first, "jean", NAMES[0]),  # sent, or pending on a domain not enabled
            lambda: self.send_mailbox(first, "marie", NAMES[1]),
            lambda: self.send_mailbox(first, "marie", NAMES[1]),  # again: the duplicate leaves it as it was
            lambda: self.send_mailbox(first, "paul", ("marie", "curie")),  # names taken, case aside: refused
            lambda: self.switch_mailbox(first, "marie", False),
            lambda: self.switch_mailbox(first, "marie", True),
            lambda: self.create_alias(first, "contact", "marie"),
            lambda: self.delete_alias(first, "contact", "marie"),
            lambda: self.delete_every_destination(first, "info"),
            lambda: self.revoke_beside_neighbours(first, owner),
            *([lambda: self.delete_user(second, other)] if not self.target.lacks(DELETE_USER) else []),
        ]
        for step in steps:
            step()
            for invariant in INVARIANTS:
                getattr(self, invariant)()

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def allows_match(self) -> None:
        answer = self.target.call("GET", "/allows/", auth=self.target.people)
        if answer.status_code != 200:
            raise ContractBroken(f"GET /allows/ as People's user answered {answer.status_code}: {answer.text[:200]}")
        mine = set(self.made_domains)
        got = {(a["user"], a["domain"]) for a in answer.json() if a["domain"] in mine}
        if got != self.model.allows:
            raise ContractBroken(f"GET /allows/: extra {sorted(got - self.model.allows)} (never granted, or "
                                 f"revoked), missing {sorted(self.model.allows - got)} (granted) — (user, domain)")

    @invariant()
    def rights_follow_allows(self) -> None:
        """Allowed users read the domain's mailboxes; the others get the real refusal. People's user reads all."""
        for domain in self.made_domains:
            for user in [self.model.people, *self.live_users]:
                answer = self.target.call("GET", f"/domains/{domain}/mailboxes/", bearer=self._token(user))
                expected = 200 if self.model.allowed(user, domain) else 403
                if answer.status_code != expected:
                    raise ContractBroken(f"GET /domains/{domain}/mailboxes/ as {user}: answered "
                                         f"{answer.status_code}, expected {expected} (allowed: "
                                         f"{self.model.allowed(user, domain)}); body {answer.text[:120]}")
                if expected == 403 and answer.json() != {"detail": "Permission denied"}:
                    raise ContractBroken(f"GET /domains/{domain}/mailboxes/ as {user}: refusal body "
                                         f"{answer.text[:120]}, expected {{'detail': 'Permission denied'}}")

    def _token(self, user: str) -> str:
        return self.rb.token(None if user == self.model.people else user)  # rights are re-read: a token may be kept

    @invariant()
    def my_domains_follow_allows(self) -> None:
        """`GET /my/domains`, for users who are neither admins nor managers: the run's domains they are allowed on."""
        if self.target.lacks(("GET", "/my/domains")):
            return
        mine = set(self.made_domains)
        for user in self.live_users:
            answer = self.target.call("GET", "/my/domains", bearer=self._token(user))
            if answer.status_code != 200:
                raise ContractBroken(f"GET /my/domains as {user}: answered {answer.status_code}: {answer.text[:120]}")
            got = {domain for domain in answer.json() if domain in mine}
            expected = self.model.domains_of(user)
            if got != expected:
                raise ContractBroken(f"GET /my/domains as {user}: extra {sorted(got - expected)} (not allowed), "
                                     f"missing {sorted(expected - got)} (allowed)")

    @invariant()
    def listings_match(self) -> None:
        token = self._token(self.model.people)
        for domain in self.made_domains:
            listed = self.target.call("GET", f"/v2/domains/{domain}/mailboxes/", bearer=token).json()
            got = {m["email"].split("@")[0]: m["imap_active"] == "yes" for m in listed
                   if m["email"].endswith("@" + domain) and not m["email"].startswith("oxadmin@")}
            if got != self.model.mailboxes_of(domain):
                raise ContractBroken(f"GET /v2/domains/{domain}/mailboxes/: {got}, expected "
                                     f"{self.model.mailboxes_of(domain)} (local part: active)")
            aliases = {(a["username"], a["destination"])
                       for a in self.target.call("GET", f"/domains/{domain}/aliases/", bearer=token).json()}
            if aliases != self.model.aliases_of(domain):
                raise ContractBroken(f"GET /domains/{domain}/aliases/: {sorted(aliases)}, expected "
                                     f"{sorted(self.model.aliases_of(domain))}")

    def teardown(self) -> None:
        self.tally["reads"] += self.rb.reads
        problems = self.target.remove(self.made_domains, self.made_users)
        self.p.client.close()
        assert not problems, problems


@pytest.mark.dimail_needs(*NEEDED)
@pytest.mark.dimail_people_perms  # the model is People's user's view: what it is allowed on, what it manages
def test_permission_sequence(dimail_target: Target, request: pytest.FixtureRequest) -> None:
    PermissionSequence.target = dimail_target
    PermissionSequence.tally = Counter()
    tour = PermissionSequence()
    try:
        tour.tour()
    except AssertionError as broken:  # the first line names the culprit; the tour's calls follow
        raise type(broken)(f"{broken}\n  in the deliberate tour, after:\n" + "\n".join(tour.log or [])) from None
    finally:
        tour.teardown()
    shrink = not request.config.getoption("--dimail-no-shrink")
    run_state_machine_as_test(PermissionSequence, settings=settings(
        max_examples=examples(request.config), stateful_step_count=12, deadline=None, database=None,
        derandomize=quick(request.config), phases=[p for p in Phase if shrink or p is not Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], print_blob=False,
        report_multiple_bugs=False))
    tally = PermissionSequence.tally
    request.node.user_properties.append(("note", f"read-back after {tally['writes read back']} events that wrote "
                                                 f"({tally['reads']} reads); {tally['exact deletions']} exact "
                                                 "deletions checked beside their neighbours"))
