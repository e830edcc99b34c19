"""The permission sequence as a state machine: random People events through the provisioner, and after
each one the target compared with the reference model (allows, who may read what, listings).

On a failure hypothesis prints the shrunk list of events (`state.create_domain(...)`) and, as notes,
the dimail calls each one sent.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule, \
    run_state_machine_as_test

from provisioner import DimailConflict, Provisioner

from .expect import ContractBroken
from .model import Model
from .plugin import examples, quick
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


class PermissionSequence(RuleBasedStateMachine):
    target: ClassVar[Target]

    domains = Bundle("domains")
    users = Bundle("users")

    def __init__(self) -> None:
        super().__init__()
        self.p: Provisioner = self.target.provisioner(retries=0, cache_token=True)
        self.model = Model(people=self.target.people[0])
        self.made_domains: list[str] = []
        self.made_users: list[str] = []
        self.tokens: dict[str, str] = {}  # People's by impersonation of each user

    # --- events ------------------------------------------------------------------------------

    def _calls(self, event: str, mark: int) -> None:
        note(f"  {event}: " + "; ".join(f"{c.method} {c.path} {c.status}" for c in self.p.journal[mark:]))

    @initialize(target=users)
    def first_user(self) -> str:
        return self.create_user()

    @rule(target=users)
    def create_user(self) -> str:
        sub = self.target.name("user")
        mark = len(self.p.journal)
        self.p.user_created(sub)
        self._calls(f"user_created({sub!r})", mark)
        self.made_users.append(sub)
        self.model.user_created(sub)
        return sub

    @rule(target=domains, owner=users)
    def create_domain(self, owner: str) -> str:
        domain = self.target.name("domain")
        self.made_domains.append(domain)
        mark = len(self.p.journal)
        self.p.domain_created(domain, owner)
        self._calls(f"domain_created({domain!r}, {owner!r})", mark)
        if self.target.steerable:
            self._learn_dns_mode(domain)
        self.model.domain_created(domain, owner)
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
        self._calls(f"access_granted({domain!r}, {sub!r}, {role!r})", mark)
        self.model.access_granted(domain, sub, role)

    @rule(domain=domains, sub=users, remaining=st.sampled_from([None, *ROLES]))
    def revoke(self, domain: str, sub: str, remaining: str | None) -> None:
        mark = len(self.p.journal)
        self.p.access_revoked(domain, sub, remaining_role=remaining)
        self._calls(f"access_revoked({domain!r}, {sub!r}, remaining_role={remaining!r})", mark)
        self.model.access_revoked(domain, sub, remaining)

    @precondition(lambda self: any(user != self.model.people for user, _ in self.model.allows))
    @rule(data=st.data())
    def revoke_a_manager(self, data: st.DataObject) -> None:
        """The revocation that matters: a user who holds an allow loses their last managing role."""
        held = sorted((d, u) for u, d in self.model.allows if u != self.model.people)
        domain, sub = data.draw(st.sampled_from(held), label="allow")
        self.revoke(domain, sub, data.draw(st.sampled_from([None, "viewer"]), label="remaining_role"))

    @precondition(lambda self: self.target.steerable)
    @rule(domain=domains)
    def publish_dns(self, domain: str) -> None:
        answer = self.target.call("POST", f"/_fake/dns/{domain}/publish", params={"records": "spec"})
        assert answer.status_code == 200, answer.text
        note(f"  publish_dns({domain!r})")
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
        self._calls(f"domain_status({domain!r})", mark)
        if to_send:
            went = self.model.send_pending(domain)
            assert raised is not went, f"sending the pending mailboxes of {domain}: conflict raised={raised}, " \
                                       f"model says every one could go={went}"
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
        self._calls(f"{event}({domain!r}, {local!r}, {names!r})", mark)
        assert refused is not accepted, f"{event} {local}@{domain} with {names}: dimail " \
                                        f"{'refused' if refused else 'accepted'} it, the model expected the opposite"

    @rule(domain=domains, local=st.sampled_from(LOCALS), active=st.booleans())
    def switch_mailbox(self, domain: str, local: str, active: bool) -> None:
        if (domain, local) not in self.model.mailboxes:
            return
        mark = len(self.p.journal)
        if active:
            first, last = self.model.names[(domain, local)].split(" ", 1)
            self.p.mailbox_enabled(domain, local, first, last)
        else:
            self.p.mailbox_disabled(domain, local)
        self._calls(f"mailbox_{'enabled' if active else 'disabled'}({domain!r}, {local!r})", mark)
        self.model.mailboxes[(domain, local)] = active

    @rule(domain=domains, local=st.sampled_from(["contact", "info"]), to=st.sampled_from(LOCALS))
    def create_alias(self, domain: str, local: str, to: str) -> None:
        mark = len(self.p.journal)
        self.p.alias_created(domain, local, f"{to}@{domain}")
        self._calls(f"alias_created({domain!r}, {local!r}, {to!r})", mark)
        self.model.aliases.add((domain, local, f"{to}@{domain}"))

    @rule(domain=domains, local=st.sampled_from(["contact", "info"]), to=st.sampled_from(LOCALS))
    def delete_alias(self, domain: str, local: str, to: str) -> None:
        mark = len(self.p.journal)
        self.p.alias_deleted(domain, local, f"{to}@{domain}")
        self._calls(f"alias_deleted({domain!r}, {local!r}, {to!r})", mark)
        self.model.aliases.discard((domain, local, f"{to}@{domain}"))

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
            for user in [self.model.people, *self.made_users]:
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
        if user not in self.tokens:  # rights are re-read at every request: a token may be kept
            self.tokens[user] = self.target.token(None if user == self.model.people else user)
        return self.tokens[user]

    @invariant()
    def my_domains_follow_allows(self) -> None:
        """`GET /my/domains`, for users who are neither admins nor managers: the run's domains they are allowed on."""
        if self.target.lacks(("GET", "/my/domains")):
            return
        mine = set(self.made_domains)
        for user in self.made_users:
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
        problems = self.target.remove(self.made_domains, self.made_users)
        self.p.client.close()
        assert not problems, problems


@pytest.mark.dimail_needs(*NEEDED)
@pytest.mark.dimail_people_perms  # the model is People's user's view: what it is allowed on, what it manages
def test_permission_sequence(dimail_target: Target, request: pytest.FixtureRequest) -> None:
    PermissionSequence.target = dimail_target
    shrink = not request.config.getoption("--dimail-no-shrink")
    run_state_machine_as_test(PermissionSequence, settings=settings(
        max_examples=examples(request.config), stateful_step_count=12, deadline=None, database=None,
        derandomize=quick(request.config), phases=[p for p in Phase if shrink or p is not Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], print_blob=False,
        report_multiple_bugs=False))
