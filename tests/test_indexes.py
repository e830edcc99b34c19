"""The backend's indexes against a rebuild from the stores, after random operation sequences.

A hypothesis state machine drives the backend's public methods over a few
names (so that collisions, shared OX contexts and refusals happen often) and,
after every step, checks that every index equals one rebuilt from the rows,
that the indexed listings keep the store order a full scan would give, and
that a refused call changed nothing.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fake_dimail import models
from fake_dimail.backend import Backend
from fake_dimail.backend.base import apply_list_change
from fake_dimail.errors import ApiError, ServerCrash
from fake_dimail.records import Caller

DOMAINS = st.sampled_from(["a.fr", "b.fr", "c.fr"])
CONTEXTS = st.sampled_from(["ctx1", "ctx2"])
LOCALS = st.sampled_from(["jean", "marie", "paul", "oxadmin"])
NAMES = st.sampled_from(["Jean Dupont", "jean dupont", "Marie", "Context Admin"])
USERS = st.sampled_from(["boss", "u1", "u2", "u3"])
DESTINATIONS = st.sampled_from(["jean@a.fr", "x@ext.fr", "marie@b.fr"])
ADMIN = Caller("admin", True)
PERMS = ["new_domain", "create_users", "manage_users"]


def domain_body(name: str, webmail: bool, context: str) -> models.CreateDomain:
    features = ["webmail", "mailbox", "alias"] if webmail else ["mailbox", "alias"]
    return models.CreateDomain.model_validate(
        {"name": name, "features": features, "context_name": context, "delivery": "virtual"}
    )


class IndexedBackend(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.backend = Backend()
        self.backend.create_user(ADMIN, models.CreateUser(name="admin", password="x", is_admin=True, perms=[]))
        self.backend.create_user(ADMIN, models.CreateUser(name="boss", password="x", is_admin=False, perms=PERMS))
        # Two webmail domains sharing a context and a mailbox-only one, so most rules find something to do.
        for name, webmail in [("a.fr", True), ("b.fr", False), ("c.fr", True)]:
            self.backend.create_domain(self.boss(), domain_body(name, webmail, "ctx1"), check=False)

    def boss(self) -> Caller:
        # Rights as a token would carry them, even once the rules below deleted the user.
        return Caller("boss", False, frozenset(PERMS))

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A refused call (an API error or dimail's crash) must leave the state as it was."""
        before = self.backend.snapshot()
        try:
            return getattr(self.backend, method)(*args, **kwargs)
        except (ApiError, ServerCrash):
            assert self.backend.snapshot() == before, method
            return None

    @rule(name=USERS, by_boss=st.booleans(), identities=st.lists(st.sampled_from(["s1", "s2"]), max_size=2))
    def create_user(self, name: str, by_boss: bool, identities: list[str]) -> None:
        body = models.CreateUser(name=name, password="pw", is_admin=False, perms=[], identities=identities)
        self.call("create_user", self.boss() if by_boss else ADMIN, body)

    @rule(name=USERS, change=st.lists(st.sampled_from(["+s1", "-s1", "+s2", "-s2"]), min_size=1, max_size=3))
    def update_identities(self, name: str, change: list[str]) -> None:
        self.call("update_user", ADMIN, name, models.UpdateUser(identities=change))

    @rule(name=USERS)
    def delete_user(self, name: str) -> None:
        self.call("delete_user", ADMIN, name)

    @rule(user=USERS, domain=DOMAINS)
    def create_allow(self, user: str, domain: str) -> None:
        self.call("create_allow", ADMIN, models.Allowed(user=user, domain=domain))

    @rule(user=USERS, domain=DOMAINS)
    def delete_allow(self, user: str, domain: str) -> None:
        self.call("delete_allow", ADMIN, domain, user)

    @rule(name=DOMAINS, webmail=st.booleans(), context=CONTEXTS, by_boss=st.booleans())
    def create_domain(self, name: str, webmail: bool, context: str, by_boss: bool) -> None:
        self.call("create_domain", self.boss() if by_boss else ADMIN, domain_body(name, webmail, context), check=False)

    @rule(name=DOMAINS, features=st.sampled_from([["+webmail"], ["-webmail"], ["-mailbox"]]), context=CONTEXTS)
    def update_domain(self, name: str, features: list[str], context: str) -> None:
        body = models.UpdateDomain.model_validate({"features": features, "context_name": context})
        self.call("update_domain", ADMIN, name, body)

    @rule(name=DOMAINS)
    def delete_domain(self, name: str) -> None:
        self.call("delete_domain", ADMIN, name)

    @rule(domain=DOMAINS, local=LOCALS, given=st.sampled_from(["Jean", "jean", ""]))
    def create_mailbox(self, domain: str, local: str, given: str) -> None:
        self.call("create_mailbox", ADMIN, domain, local, models.CreateMailbox(givenName=given, surName="Dupont"))

    @rule(domain=DOMAINS, local=LOCALS, ox=st.booleans(), display=NAMES)
    def create_mailbox_v2(self, domain: str, local: str, ox: bool, display: str) -> None:
        body = models.CreateMailbox2.model_validate({
            "features": ["ox"] if ox else [],
            "extras": {"ox": {"given_name": "G", "sur_name": "S", "display_name": display}} if ox else None,
        })
        self.call("create_mailbox_v2", ADMIN, domain, local, body)

    def existing_mailbox(self, data: st.DataObject) -> tuple[str, str]:
        return data.draw(st.sampled_from(sorted(self.backend.mailboxes)))

    @precondition(lambda self: self.backend.mailboxes)
    @rule(data=st.data(), display=NAMES)
    def rename_mailbox(self, data: st.DataObject, display: str) -> None:
        domain, local = self.existing_mailbox(data)
        self.call("update_mailbox", ADMIN, domain, local, models.UpdateMailbox(displayName=display))

    @precondition(lambda self: self.backend.mailboxes)
    @rule(data=st.data(), change=st.sampled_from(["+ox", "-ox", "+schedule"]), display=NAMES)
    def toggle_ox(self, data: st.DataObject, change: str, display: str) -> None:
        domain, local = self.existing_mailbox(data)
        body = models.UpdateMailbox2.model_validate({
            "features": [change], "extras": {"ox": {"given_name": "G", "sur_name": "S", "display_name": display}},
        })
        self.call("update_mailbox_v2", ADMIN, domain, local, body)

    @rule(domain=DOMAINS, local=LOCALS)
    def delete_mailbox(self, domain: str, local: str) -> None:
        self.call("delete_mailbox", ADMIN, domain, local)

    @rule(domain=DOMAINS, local=LOCALS)
    def create_code(self, domain: str, local: str) -> None:
        self.call("create_code", ADMIN, domain, local, models.CreateMailboxCode(expires_in=60, maxuse=2))

    @rule(domain=DOMAINS, local=LOCALS, destination=DESTINATIONS)
    def create_alias(self, domain: str, local: str, destination: str) -> None:
        self.call("create_alias", ADMIN, domain, models.CreateAlias(user_name=local, destination=destination))

    @rule(domain=DOMAINS, local=LOCALS, destination=st.one_of(DESTINATIONS, st.just("all")))
    def delete_alias(self, domain: str, local: str, destination: str) -> None:
        self.call("delete_alias", ADMIN, domain, local, destination)

    @invariant()
    def indexes_match_a_rebuild(self) -> None:
        indexes = self.backend.state.all_indexes()
        assert indexes["kept"] == indexes["rebuilt"]

    @invariant()
    def listings_keep_store_order(self) -> None:
        backend, state = self.backend, self.backend.state
        boss = self.boss()
        for domain in ["a.fr", "b.fr", "c.fr"]:
            found = [(a.username, a.destination) for a in backend.list_aliases(ADMIN, domain, "", "")]
            assert found == [(a.local, a.destination) for a in state.aliases.values() if a.domain == domain]
            allowed = [(a.user, a.domain) for a in backend.list_allows(ADMIN, "", domain)]
            assert allowed == [k for k in state.allows if k[1] == domain]
        mine = {d for u, d in state.allows if u == "boss"}
        assert [a.user + a.domain for a in backend.list_allows(boss, "", "")] == [u + d for u, d in state.allows if d in mine]
        assert [d.name for d in backend.list_domains(boss)] == [d for d in state.domains if d in mine]
        assert [u.name for u in backend.list_users(boss)] == [
            n for n, u in state.users.items() if n == "boss" or u.manager == "boss"
        ]
        for identity in ["s1", "s2"]:
            holders = [n for n, u in state.users.items() if identity in u.identities]
            if holders:
                assert backend.get_user_by_identity(ADMIN, identity).name == holders[0]

    @invariant()
    def snapshot_loads_back(self) -> None:
        document = self.backend.snapshot()
        copy = Backend()
        copy.load(document)
        assert copy.snapshot() == document
        assert copy.state.all_indexes() == self.backend.state.all_indexes()


IndexedBackend.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
TestIndexedBackend = IndexedBackend.TestCase


def list_edit(current: list[str], change: list[str]) -> list[str]:
    expected = list(current)
    for item in change:
        if item[0] == "+" and item[1:] not in expected:
            expected.append(item[1:])
        elif item[0] == "-" and item[1:] in expected:
            expected.remove(item[1:])
    return expected


def test_list_change_matches_list_semantics() -> None:
    """The one-pass edit gives what list.append/list.remove would, with duplicates in the list or not."""
    change = ["-a", "+d", "+a", "-a", "-z", "+b", "-c", "+c"]
    assert apply_list_change(["a", "b", "a", "c"], change) == list_edit(["a", "b", "a", "c"], change) == ["b", "d", "c"]
    assert apply_list_change(["a", "b", "c"], change) == list_edit(["a", "b", "c"], change) == ["b", "d", "c"]
    assert apply_list_change(["c", "a"], ["-c", "+c", "+e"]) == ["a", "c", "e"]
    assert apply_list_change(["x"], ["y", "x", "y"]) == ["y", "x"]
