"""The provisioner against the in-process fake: journal, fake state, idempotence, faults (issue 4).

Every event runs against `FakeDimail`; the tests assert what the fake holds
afterwards (users, allows, domains, mailboxes, aliases, codes), the exact calls
People would send (PEOPLE.md §3-§7), that a second run writes nothing, and
which failures are retried (GET/PATCH/PUT/DELETE, never POST).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import httpx
import pytest

from fake_dimail.config import Settings
from fake_dimail.fake import FakeDimail
from fake_dimail.transport import ASGISyncTransport
from provisioner.client import (
    Call,
    DimailConflict,
    DimailError,
    DimailRefused,
    DimailServerError,
    DimailUnavailable,
)
from provisioner.provisioner import PEOPLE_FEATURES, PEOPLE_PERMS, NotInitialised, Provisioner

D = "example.fr"
PERMS = ["new_domain", "create_users", "manage_users"]


# --- helpers -------------------------------------------------------------------


def calls(p: Provisioner, since: int = 0) -> list[tuple[str, str, int | None]]:
    """The journal from `since` as (method, path, status)."""
    return [(c.method, c.path, c.status) for c in p.journal[since:]]


def journal_of(p: Provisioner, method: str, path: str, since: int = 0) -> list[Call]:
    return [c for c in p.journal[since:] if c.method == method and c.path == path]


def seeded(**settings: object) -> FakeDimail:
    return FakeDimail(Settings(dns_auto=True, **settings), seed="people-dev")


def ox_user(fake: FakeDimail, domain: str, local: str):
    email = f"{local}@{domain}"
    for context in fake.backend.contexts.values():
        user = context.user_by_email(email)
        if user is not None:
            return user
    return None


def admin_post_domain(fake: FakeDimail, name: str) -> None:
    with fake.client(auth=("admin", "admin")) as http:
        answer = http.post("/domains/", json={"name": name, "context_name": name,
                                              "features": PEOPLE_FEATURES, "delivery": "virtual"})
    assert answer.status_code == 201, answer.text


@pytest.fixture
def fake() -> FakeDimail:
    return seeded()


@pytest.fixture
def p(fake: FakeDimail) -> Provisioner:
    return Provisioner.for_fake(fake)


@pytest.fixture
def enabled(fake: FakeDimail, p: Provisioner) -> Provisioner:
    """`example.fr` created by the provisioner and enabled (dns_auto)."""
    assert p.domain_created(D, "owner-sub").status == "enabled"
    return p


class Faults:
    """An httpx.MockTransport handler: scripted failures per (method, path), else the fake."""

    def __init__(self, fake: FakeDimail) -> None:
        self.inner = ASGISyncTransport(fake.app)
        self.script: dict[tuple[str, str], list[object]] = {}
        self.seen: list[tuple[str, str]] = []

    def fail(self, method: str, path: str, actions: Iterable[object]) -> None:
        """Actions, one per request: 500/502 (text body), "connect", "timeout", "lost" (forwarded, answer lost)."""
        self.script[(method, path)] = list(actions)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = (request.method, request.url.path)
        self.seen.append(key)
        queue = self.script.get(key)
        if queue:
            action = queue.pop(0)
            if action == "connect":
                raise httpx.ConnectError("connection refused", request=request)
            if action == "timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            if action == "lost":
                self.inner.handle_request(request)
                raise httpx.ReadTimeout("answer lost", request=request)
            assert isinstance(action, int)
            return httpx.Response(action, text="Bad Gateway" if action == 502 else "Internal Server Error",
                                  headers={"Content-Type": "text/plain"})
        return self.inner.handle_request(request)


@pytest.fixture
def faulty(fake: FakeDimail) -> tuple[Provisioner, Faults, list[float]]:
    faults = Faults(fake)
    sleeps: list[float] = []
    p = Provisioner(fake.base_url, transport=httpx.MockTransport(faults), sleep=sleeps.append)
    return p, faults, sleeps


# --- 1. initialise (PEOPLE.md §3) -------------------------------------------------


def test_initialise_bootstraps_an_empty_dimail() -> None:
    fake = FakeDimail()
    assert fake.backend.users == {}
    p = Provisioner.for_fake(fake)
    p.initialise(admin=("admin", "admin"))
    users = fake.backend.users
    assert set(users) == {"admin", "la_regie"}
    assert users["admin"].is_admin is True and users["admin"].perms == []
    assert users["la_regie"].is_admin is False
    assert users["la_regie"].perms == PERMS
    assert calls(p) == [("POST", "/users/", 201), ("POST", "/users/", 201),
                        ("GET", "/users/la_regie", 200), ("GET", "/token/", 200)]
    assert [c.user for c in p.journal] == ["admin", "admin", "admin", "la_regie"]
    # both can now log in
    with fake.client(auth=("la_regie", "password")) as http:
        assert http.get("/token/").status_code == 200
    with fake.client(auth=("admin", "wrong")) as http:
        assert http.get("/token/").status_code == 403


def test_initialise_is_idempotent_on_the_seeded_fake(fake: FakeDimail, p: Provisioner) -> None:
    before = {n: (u.is_admin, list(u.perms)) for n, u in fake.backend.users.items()}
    p.initialise(admin=("admin", "admin"))
    assert p.client.writes() == []
    assert calls(p) == [("POST", "/users/", 409), ("POST", "/users/", 409),
                        ("GET", "/users/la_regie", 200), ("GET", "/token/", 200)]
    assert {n: (u.is_admin, list(u.perms)) for n, u in fake.backend.users.items()} == before
    # a second run: still nothing written
    n = len(p.journal)
    p.initialise(admin=("admin", "admin"))
    assert p.client.writes(since=n) == []


def test_initialise_patches_missing_perms() -> None:
    fake = FakeDimail()
    fake.add_user("admin", "admin", is_admin=True)
    fake.add_user("la_regie", "password")
    assert fake.backend.users["la_regie"].perms == []
    p = Provisioner.for_fake(fake)
    p.initialise(admin=("admin", "admin"))
    assert sorted(fake.backend.users["la_regie"].perms) == sorted(PERMS)
    assert [(c.method, c.path, c.status) for c in p.client.writes()] == [("PATCH", "/users/la_regie", 200)]
    # a second run finds every perm: no PATCH
    n = len(p.journal)
    p.initialise(admin=("admin", "admin"))
    assert p.client.writes(since=n) == []


def test_initialise_patch_adds_only_the_missing_perm() -> None:
    fake = FakeDimail()
    fake.add_user("admin", "admin", is_admin=True)
    fake.add_user("la_regie", "password", perms=["new_domain", "create_users"])
    p = Provisioner.for_fake(fake)
    p.initialise(admin=("admin", "admin"))
    assert sorted(fake.backend.users["la_regie"].perms) == sorted(PERMS)
    assert [c.path for c in p.client.writes()] == ["/users/la_regie"]


def test_initialise_without_admin_on_an_empty_dimail_says_so() -> None:
    fake = FakeDimail()
    p = Provisioner.for_fake(fake)
    with pytest.raises(NotInitialised) as caught:
        p.initialise()
    # the bootstrap token is granted to anyone; reading People's user tells the truth
    assert calls(p) == [("GET", "/token/", 200), ("GET", "/users/la_regie", 404)]
    assert caught.value.status == 404 and caught.value.detail == "User not found"
    assert "'la_regie' does not exist" in str(caught.value) and "admin credentials" in str(caught.value)
    assert fake.backend.users == {}


def test_initialise_without_admin_verifies_an_initialised_dimail(fake: FakeDimail, p: Provisioner) -> None:
    p.initialise()
    assert calls(p) == [("GET", "/token/", 200), ("GET", "/users/la_regie", 200)]
    assert p.client.writes() == []


def test_initialise_without_admin_names_the_missing_perms() -> None:
    fake = FakeDimail()
    fake.add_user("admin", "admin", is_admin=True)
    fake.add_user("la_regie", "password", perms=["new_domain"])
    p = Provisioner.for_fake(fake)
    with pytest.raises(NotInitialised) as caught:
        p.initialise()
    assert "lacks the perms ['create_users', 'manage_users']" in str(caught.value)
    assert fake.backend.users["la_regie"].perms == ["new_domain"]


@pytest.mark.parametrize("admin", [None, ("admin", "admin")])
def test_initialise_on_a_dimail_whose_users_have_no_perms_says_so(admin: tuple[str, str] | None) -> None:
    from fake_dimail.transport import ASGISyncTransport
    from tests.mutants import users_without_perms

    p = Provisioner("http://dimail", transport=ASGISyncTransport(users_without_perms()))
    with pytest.raises(NotInitialised) as caught:
        p.initialise(admin=admin)
    assert str(caught.value).endswith("this dimail's users have no `perms` (an older dimail): People's user "
                                      "'la_regie' cannot be given new_domain, create_users, manage_users")
    assert calls(p)[-1] == ("GET", "/users/la_regie", 200)
    assert p.client.writes() == []  # the seeded users exist: nothing was patched blindly


def test_initialise_with_a_wrong_people_password_is_refused(fake: FakeDimail) -> None:
    p = Provisioner.for_fake(fake, password="wrong")
    with pytest.raises(DimailRefused) as caught:
        p.initialise()
    assert caught.value.status == 403
    assert caught.value.call.path == "/token/"
    assert "GET /token/ answered 403" in str(caught.value)
    assert len(journal_of(p, "GET", "/token/")) == 1  # a 403 is never retried


def test_initialise_with_a_wrong_admin_password_is_refused(fake: FakeDimail) -> None:
    p = Provisioner.for_fake(fake)
    with pytest.raises(DimailRefused) as caught:
        p.initialise(admin=("admin", "nope"))
    assert caught.value.status == 403
    assert calls(p) == [("POST", "/users/", 403)]
    assert set(fake.backend.users) == {"admin", "la_regie"}


# --- 2. domain_created (D1-D4, U1, U2) --------------------------------------------------


def test_domain_created_sends_peoples_calls(fake: FakeDimail, p: Provisioner) -> None:
    status = p.domain_created(D, "owner-sub")
    assert calls(p) == [
        ("POST", "/domains/", 201),
        ("POST", "/users/", 201),
        ("POST", "/allows/", 201),
        ("GET", f"/domains/{D}/check", 200),
        ("GET", f"/domains/{D}/fix/", 307),
        ("GET", f"/domains/{D}/fix", 200),
        ("GET", f"/domains/{D}/spec/", 307),
        ("GET", f"/domains/{D}/spec", 200),
    ]
    assert {c.user for c in p.journal} == {"la_regie"}
    assert status.status == "enabled"
    assert status.fixed is True
    assert status.details == []
    assert status.check["state"] == "ok"
    assert p.statuses[D] == "enabled"


def test_domain_created_state_in_the_fake(fake: FakeDimail, p: Provisioner) -> None:
    p.domain_created(D, "owner-sub")
    domain = fake.backend.domains[D]
    assert domain.features == ["webmail", "mailbox", "alias"]
    assert domain.context_name == D
    assert domain.delivery == "virtual"
    assert domain.state == "ok"
    assert set(fake.backend.allows) == {("la_regie", D), ("owner-sub", D)}
    owner = fake.backend.users["owner-sub"]
    assert owner.is_admin is False
    assert owner.perms == []
    assert owner.manager == "la_regie"
    assert owner.password_hash is None  # People's password "no": cannot log in
    assert set(fake.backend.users) == {"admin", "la_regie", "owner-sub"}


def test_domain_created_sends_peoples_d1_body(fake: FakeDimail) -> None:
    bodies: list[tuple[str, str, bytes]] = []
    inner = ASGISyncTransport(fake.app)

    def spy(request: httpx.Request) -> httpx.Response:
        bodies.append((request.method, request.url.path, request.read()))
        return inner.handle_request(request)

    p = Provisioner(fake.base_url, transport=httpx.MockTransport(spy))
    p.domain_created(D, "owner-sub")
    posts = [(path, json.loads(body)) for method, path, body in bodies if method == "POST"]
    assert posts == [
        ("/domains/", {"name": D, "context_name": D, "features": ["webmail", "mailbox", "alias"],
                       "delivery": "virtual"}),
        ("/users/", {"name": "owner-sub", "password": "no", "is_admin": "false", "perms": []}),
        ("/allows/", {"user": "owner-sub", "domain": D}),
    ]


def test_domain_created_without_dns_is_action_required() -> None:
    fake = FakeDimail(seed="people-dev")
    p = Provisioner.for_fake(fake)
    status = p.domain_created(D, "owner-sub")
    assert status.status == "action_required"
    assert status.details == [f"Le domaine {D} n'existe pas"]
    assert status.fixed is False
    assert not any("/fix" in path for _, path, _ in calls(p))
    assert calls(p)[-2:] == [("GET", f"/domains/{D}/spec/", 307), ("GET", f"/domains/{D}/spec", 200)]
    assert p.statuses[D] == "action_required"
    assert fake.backend.domains[D].state != "ok"
    # the domain and the accesses exist all the same
    assert set(fake.backend.allows) == {("la_regie", D), ("owner-sub", D)}


def test_domain_status_failed_when_the_certificate_cannot_be_fixed() -> None:
    fake = FakeDimail(seed="people-dev")
    p = Provisioner.for_fake(fake)
    p.domain_created(D, "owner-sub")
    fake.publish(D)
    fake.set_platform(D, unfixable=["cert"])
    n = len(p.journal)
    status = p.domain_status(D)
    assert status.status == "failed"
    assert status.fixed is True
    assert p.statuses[D] == "failed"
    assert calls(p, n) == [("GET", f"/domains/{D}/check", 200), ("GET", f"/domains/{D}/fix/", 307),
                           ("GET", f"/domains/{D}/fix", 200)]
    assert status.check["cert"]["ok"] is False


def test_domain_status_ok_on_check_alone_with_certs_on_check() -> None:
    fake = FakeDimail(Settings(dns_auto=True, certs_on_check=True), seed="people-dev")
    p = Provisioner.for_fake(fake)
    status = p.domain_created(D, "owner-sub")
    assert status.status == "enabled"
    assert status.fixed is False
    assert not any("/fix" in path for _, path, _ in calls(p))


def test_spec_returns_the_records(enabled: Provisioner) -> None:
    records = enabled.spec(D)
    assert records and all({"target", "type", "value"} <= set(r) for r in records)
    assert enabled.spec("unknown.fr") == []  # like People: anything but 200 gives []


# --- 3. idempotence and conflicts of domain_created --------------------------------------


def test_domain_created_twice_writes_nothing(fake: FakeDimail, enabled: Provisioner) -> None:
    allows = dict(fake.backend.allows)
    users = set(fake.backend.users)
    n = len(enabled.journal)
    status = enabled.domain_created(D, "owner-sub")
    assert enabled.client.writes(since=n) == []
    assert calls(enabled, n)[:4] == [("POST", "/domains/", 409), ("POST", "/allows/", 409),
                                     ("POST", "/users/", 409), ("POST", "/allows/", 409)]
    assert status.status == "enabled"
    assert fake.backend.allows == allows
    assert set(fake.backend.users) == users


def test_domain_created_rerun_by_a_new_provisioner_writes_nothing(fake: FakeDimail, enabled: Provisioner) -> None:
    allows = dict(fake.backend.allows)
    again = Provisioner.for_fake(fake)
    status = again.domain_created(D, "owner-sub")
    assert again.client.writes() == []
    assert status.status == "enabled"
    assert fake.backend.allows == allows


def test_domain_created_on_a_domain_of_someone_else_is_refused(fake: FakeDimail, p: Provisioner) -> None:
    admin_post_domain(fake, D)
    with pytest.raises(DimailRefused) as caught:
        p.domain_created(D, "owner-sub")
    assert caught.value.status == 403
    assert calls(p) == [("POST", "/domains/", 409), ("POST", "/allows/", 403)]
    assert "POST /allows/ answered 403" in str(caught.value)
    assert fake.backend.allows == {}
    assert "owner-sub" not in fake.backend.users


def test_domain_created_after_admin_granted_la_regie_succeeds(fake: FakeDimail, p: Provisioner) -> None:
    admin_post_domain(fake, D)
    with fake.client(auth=("admin", "admin")) as http:
        assert http.post("/allows/", json={"user": "la_regie", "domain": D}).status_code == 201
    status = p.domain_created(D, "owner-sub")
    assert status.status == "enabled"
    assert calls(p)[:4] == [("POST", "/domains/", 409), ("POST", "/allows/", 409),
                            ("POST", "/users/", 201), ("POST", "/allows/", 201)]
    assert set(fake.backend.allows) == {("la_regie", D), ("owner-sub", D)}


# --- 4. accesses (U1, U2, DELETE /allows/) ----------------------------------------------


@pytest.mark.parametrize("role", ["owner", "administrator"])
def test_access_granted_to_a_manager(fake: FakeDimail, enabled: Provisioner, role: str) -> None:
    n = len(enabled.journal)
    enabled.access_granted(D, "alice", role)
    assert calls(enabled, n) == [("POST", "/users/", 201), ("POST", "/allows/", 201)]
    assert ("alice", D) in fake.backend.allows
    assert fake.backend.users["alice"].manager == "la_regie"
    assert fake.backend.users["alice"].perms == []
    n = len(enabled.journal)
    enabled.access_granted(D, "alice", role)  # idempotent
    assert enabled.client.writes(since=n) == []
    assert calls(enabled, n) == [("POST", "/users/", 409), ("POST", "/allows/", 409)]


def test_access_granted_to_a_viewer_makes_no_call(fake: FakeDimail, enabled: Provisioner) -> None:
    n = len(enabled.journal)
    enabled.access_granted(D, "bob", "viewer")
    assert len(enabled.journal) == n
    assert "bob" not in fake.backend.users
    assert ("bob", D) not in fake.backend.allows


def test_access_revoked_deletes_the_allow(fake: FakeDimail, enabled: Provisioner) -> None:
    enabled.access_granted(D, "alice", "owner")
    n = len(enabled.journal)
    enabled.access_revoked(D, "alice")
    assert calls(enabled, n) == [("DELETE", f"/allows/{D}/alice", 204)]
    assert ("alice", D) not in fake.backend.allows
    assert "alice" in fake.backend.users  # the user is kept
    n = len(enabled.journal)
    enabled.access_revoked(D, "alice")  # twice: 404 tolerated
    assert calls(enabled, n) == [("DELETE", f"/allows/{D}/alice", 404)]
    assert enabled.client.writes(since=n) == []


def test_access_revoked_with_only_viewer_left_deletes_the_allow(fake: FakeDimail, enabled: Provisioner) -> None:
    enabled.access_granted(D, "alice", "administrator")
    enabled.access_revoked(D, "alice", remaining_role="viewer")
    assert ("alice", D) not in fake.backend.allows


@pytest.mark.parametrize("remaining", ["owner", "administrator"])
def test_access_revoked_with_a_managing_role_left_makes_no_call(
    fake: FakeDimail, enabled: Provisioner, remaining: str
) -> None:
    enabled.access_granted(D, "alice", "owner")
    n = len(enabled.journal)
    enabled.access_revoked(D, "alice", remaining_role=remaining)
    assert len(enabled.journal) == n
    assert ("alice", D) in fake.backend.allows


def test_access_revoked_disabled_makes_no_call(fake: FakeDimail) -> None:
    p = Provisioner.for_fake(fake, revoke_allows=False)
    p.domain_created(D, "owner-sub")
    n = len(p.journal)
    p.access_revoked(D, "owner-sub")
    assert len(p.journal) == n
    assert ("owner-sub", D) in fake.backend.allows


# --- 5. mailboxes (T, M1, M2) --------------------------------------------------------------


def test_mailbox_created_on_an_enabled_domain(fake: FakeDimail, enabled: Provisioner) -> None:
    n = len(enabled.journal)
    created = enabled.mailbox_created(D, "jean", "Jean", "Dupont")
    assert set(created) == {"email", "password"}
    assert created["email"] == f"jean@{D}"
    assert created["password"]
    assert calls(enabled, n) == [("GET", "/token/", 200), ("POST", f"/domains/{D}/mailboxes/jean", 201)]
    assert {c.user for c in enabled.journal[n:]} == {"la_regie"}
    assert (D, "jean") in fake.backend.mailboxes
    ox = ox_user(fake, D, "jean")
    assert (ox.given_name, ox.sur_name, ox.display_name) == ("Jean", "Dupont", "Jean Dupont")
    admin = fake.backend._caller(fake.backend.users["admin"])
    assert fake.backend.check_password(admin, D, "jean", created["password"]) is True


def test_mailbox_created_twice_is_tolerated(fake: FakeDimail, enabled: Provisioner) -> None:
    first = enabled.mailbox_created(D, "jean", "Jean", "Dupont")
    n = len(enabled.journal)
    again = enabled.mailbox_created(D, "jean", "Jean", "Dupont")
    assert again == {"email": f"jean@{D}", "password": None}
    assert enabled.client.writes(since=n) == []
    assert calls(enabled, n) == [
        ("GET", "/token/", 200),
        ("POST", f"/domains/{D}/mailboxes/jean", 500),
        ("GET", f"/domains/{D}/address/jean/", 307),
        ("GET", f"/domains/{D}/address/jean", 200),
    ]
    # the POST was not retried, and the password did not change
    assert len(journal_of(enabled, "POST", f"/domains/{D}/mailboxes/jean", n)) == 1
    admin = fake.backend._caller(fake.backend.users["admin"])
    assert fake.backend.check_password(admin, D, "jean", first["password"]) is True
    assert [k for k in fake.backend.mailboxes if k[0] == D] == [(D, "jean")]


def test_mailbox_with_names_taken_by_another_mailbox_is_a_conflict(fake: FakeDimail, enabled: Provisioner) -> None:
    enabled.mailbox_created(D, "jean", "Jean", "Dupont")
    with pytest.raises(DimailConflict) as caught:
        enabled.mailbox_created(D, "jd", "Jean", "Dupont")
    assert "Jean Dupont" in str(caught.value)
    assert caught.value.detail["ox_primary_email"] is None
    assert (D, "jd") not in fake.backend.mailboxes


def test_mailbox_local_part_is_lower_cased(fake: FakeDimail, enabled: Provisioner) -> None:
    created = enabled.mailbox_created(D, "Marie.Curie", "Marie", "Curie")
    assert created["email"] == f"marie.curie@{D}"
    assert (D, "marie.curie") in fake.backend.mailboxes
    assert (D, "Marie.Curie") not in fake.backend.mailboxes
    assert journal_of(enabled, "POST", f"/domains/{D}/mailboxes/marie.curie")


def test_mailbox_on_a_domain_not_enabled_stays_pending_then_is_sent() -> None:
    fake = FakeDimail(seed="people-dev")
    p = Provisioner.for_fake(fake)
    p.domain_created(D, "owner-sub")
    n = len(p.journal)
    assert p.mailbox_created(D, "Jean", "Jean", "Dupont") is None
    assert len(p.journal) == n  # status known: no call at all
    assert not any(k[0] == D for k in fake.backend.mailboxes)
    assert [m.local_part for m in p.pending[D]] == ["jean"]
    fake.publish(D)
    fake.set_platform(D, certs_on_check=True)
    status = p.domain_status(D)
    assert status.status == "enabled"
    assert status.sent == ["jean"]
    assert (D, "jean") in fake.backend.mailboxes
    assert ox_user(fake, D, "jean").display_name == "Jean Dupont"
    assert D not in p.pending
    n = len(p.journal)
    assert p.domain_status(D).sent == []  # sent once only
    assert p.client.writes(since=n) == []


def test_mailbox_created_on_an_unseen_domain_fetches_its_status_first(fake: FakeDimail, enabled: Provisioner) -> None:
    other = Provisioner.for_fake(fake)  # knows nothing of the domain
    created = other.mailbox_created(D, "jean", "Jean", "Dupont")
    assert created["email"] == f"jean@{D}"
    assert calls(other)[0] == ("GET", f"/domains/{D}/check", 200)
    assert other.statuses[D] == "enabled"


def test_a_failing_pending_mailbox_stays_pending_and_the_others_are_sent() -> None:
    fake = FakeDimail(seed="people-dev")
    p = Provisioner.for_fake(fake)
    p.domain_created(D, "owner-sub")
    p.mailbox_created(D, "jd", "Jean", "Dupont")
    p.mailbox_created(D, "marie", "Marie", "Curie")
    fake.publish(D)
    fake.set_platform(D, certs_on_check=True)
    # someone else takes "Jean Dupont" in the OX context meanwhile
    with fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"}) as http:
        assert http.post(f"/domains/{D}/mailboxes/jean", json={"givenName": "Jean", "surName": "Dupont",
                                                               "displayName": "Jean Dupont"}).status_code == 201
    with pytest.raises(DimailConflict) as caught:
        p.domain_status(D)
    assert str(caught.value) == (f"jd@{D}: the names 'Jean Dupont' are already used in the OX context "
                                 "(the address probe names no holder: a display-name clash)")
    assert [m.local_part for m in p.pending[D]] == ["jd"]  # kept for the next status fetch
    assert (D, "marie") in fake.backend.mailboxes and (D, "jd") not in fake.backend.mailboxes
    assert p.statuses[D] != "enabled"  # so the next fetch tries again
    n = len(p.journal)
    with pytest.raises(DimailConflict):
        p.domain_status(D)
    assert [c.path for c in p.journal[n:] if c.method == "POST"] == [f"/domains/{D}/mailboxes/jd"]


# --- 6. mailbox actions (M3-M6) -----------------------------------------------------------


def test_mailbox_disabled_then_enabled(fake: FakeDimail, enabled: Provisioner) -> None:
    enabled.mailbox_created(D, "jean", "Jean", "Dupont")
    row = fake.backend.mailboxes[(D, "jean")]
    assert (row.imap_active, row.smtp_active) == ("yes", "yes")
    n = len(enabled.journal)
    enabled.mailbox_disabled(D, "jean")
    assert calls(enabled, n) == [("GET", "/token/", 200), ("PATCH", f"/domains/{D}/mailboxes/jean", 200)]
    assert (row.imap_active, row.smtp_active) == ("no", "no")
    enabled.mailbox_disabled(D, "jean")  # idempotent in state
    assert (row.imap_active, row.smtp_active) == ("no", "no")
    enabled.mailbox_enabled(D, "jean", "Jeanne", "Durand")
    assert (row.imap_active, row.smtp_active) == ("yes", "yes")
    ox = ox_user(fake, D, "jean")
    assert (ox.given_name, ox.sur_name, ox.display_name) == ("Jeanne", "Durand", "Jeanne Durand")


def test_mailbox_disabled_unknown_mailbox_is_an_error(enabled: Provisioner) -> None:
    with pytest.raises(DimailError) as caught:
        enabled.mailbox_disabled(D, "nobody")
    assert caught.value.status == 404
    assert len(journal_of(enabled, "PATCH", f"/domains/{D}/mailboxes/nobody")) == 1  # a 4xx is not retried


def test_login_code(fake: FakeDimail, enabled: Provisioner) -> None:
    enabled.mailbox_created(D, "jean", "Jean", "Dupont")
    n = len(enabled.journal)
    answer = enabled.login_code(D, "jean")
    assert calls(enabled, n) == [("GET", "/token/", 200), ("POST", f"/domains/{D}/mailboxes/jean/code", 201)]
    record = fake.backend.codes[answer["code"]]
    assert (record.domain, record.local, record.maxuse, record.nbuse) == (D, "jean", 3, 0)
    assert answer["maxuse"] == 3
    assert answer["email"] == f"jean@{D}"


def test_password_reset(fake: FakeDimail, enabled: Provisioner) -> None:
    first = enabled.mailbox_created(D, "jean", "Jean", "Dupont")
    n = len(enabled.journal)
    answer = enabled.password_reset(D, "jean")
    assert calls(enabled, n) == [
        ("GET", "/token/", 200),
        ("POST", f"/domains/{D}/mailboxes/jean/reset_password/", 307),
        ("POST", f"/domains/{D}/mailboxes/jean/reset_password", 200),
    ]
    assert answer["email"] == f"jean@{D}"
    assert answer["password"] != first["password"]
    admin = fake.backend._caller(fake.backend.users["admin"])
    assert fake.backend.check_password(admin, D, "jean", answer["password"]) is True
    assert fake.backend.check_password(admin, D, "jean", first["password"]) is False


# --- 7. aliases (A1, A2) -----------------------------------------------------------------


def test_alias_created_twice(fake: FakeDimail, enabled: Provisioner) -> None:
    n = len(enabled.journal)
    enabled.alias_created(D, "contact", f"jean@{D}")
    assert calls(enabled, n) == [("GET", "/token/", 200), ("POST", f"/domains/{D}/aliases/", 201)]
    assert set(fake.backend.aliases) == {(D, "contact", f"jean@{D}")}
    n = len(enabled.journal)
    enabled.alias_created(D, "contact", f"jean@{D}")
    assert calls(enabled, n) == [("GET", "/token/", 200), ("POST", f"/domains/{D}/aliases/", 409)]
    assert enabled.client.writes(since=n) == []
    assert set(fake.backend.aliases) == {(D, "contact", f"jean@{D}")}


def test_alias_deleted_twice(fake: FakeDimail, enabled: Provisioner) -> None:
    enabled.alias_created(D, "contact", f"jean@{D}")
    enabled.alias_created(D, "contact", "marie@other.fr")
    n = len(enabled.journal)
    enabled.alias_deleted(D, "contact", f"jean@{D}")
    assert calls(enabled, n) == [("GET", "/token/", 200), ("DELETE", f"/domains/{D}/aliases/contact/jean@{D}", 204)]
    assert set(fake.backend.aliases) == {(D, "contact", "marie@other.fr")}
    n = len(enabled.journal)
    enabled.alias_deleted(D, "contact", f"jean@{D}")
    assert calls(enabled, n) == [("GET", "/token/", 200), ("DELETE", f"/domains/{D}/aliases/contact/jean@{D}", 404)]
    assert enabled.client.writes(since=n) == []
    assert set(fake.backend.aliases) == {(D, "contact", "marie@other.fr")}


# --- 8. faults: retried only when safe --------------------------------------------------


def test_patch_retried_after_two_502(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    p.domain_created(D, "owner-sub")
    p.mailbox_created(D, "jean", "Jean", "Dupont")
    path = f"/domains/{D}/mailboxes/jean"
    faults.fail("PATCH", path, [502, 502])
    n = len(p.journal)
    p.mailbox_disabled(D, "jean")
    patches = journal_of(p, "PATCH", path, n)
    assert [(c.status, c.attempt) for c in patches] == [(502, 1), (502, 2), (200, 3)]
    assert sleeps[-2:] == [0.1, 0.2]
    assert fake.backend.mailboxes[(D, "jean")].imap_active == "no"


def test_patch_failing_five_times_gives_up(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    p.domain_created(D, "owner-sub")
    p.mailbox_created(D, "jean", "Jean", "Dupont")
    path = f"/domains/{D}/mailboxes/jean"
    faults.fail("PATCH", path, [502] * 10)
    sleeps.clear()
    n = len(p.journal)
    with pytest.raises(DimailServerError) as caught:
        p.mailbox_disabled(D, "jean")
    assert caught.value.status == 502
    assert caught.value.call.attempt == 5
    assert [c.attempt for c in journal_of(p, "PATCH", path, n)] == [1, 2, 3, 4, 5]
    assert sleeps == [0.1, 0.2, 0.4, 0.8]
    assert f"PATCH {path} answered 502" in str(caught.value)
    assert caught.value.detail == "Bad Gateway"
    assert fake.backend.mailboxes[(D, "jean")].imap_active == "yes"


def test_post_domain_500_is_never_retried(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    faults.fail("POST", "/domains/", [500])
    with pytest.raises(DimailServerError) as caught:
        p.domain_created(D, "owner-sub")
    assert caught.value.status == 500
    assert calls(p) == [("POST", "/domains/", 500)]
    assert [c.attempt for c in p.journal] == [1]
    assert sleeps == []
    assert D not in fake.backend.domains
    assert "POST /domains/ answered 500" in str(caught.value)


def test_post_with_no_answer_is_never_retried(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    faults.fail("POST", "/domains/", ["connect", "connect"])
    with pytest.raises(DimailUnavailable) as caught:
        p.domain_created(D, "owner-sub")
    assert caught.value.status is None
    assert calls(p) == [("POST", "/domains/", None)]
    assert sleeps == []
    assert D not in fake.backend.domains


def test_mailbox_post_with_a_lost_answer_is_not_resent_and_a_rerun_recovers(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    p.domain_created(D, "owner-sub")
    path = f"/domains/{D}/mailboxes/jean"
    faults.fail("POST", path, ["lost"])
    with pytest.raises(DimailUnavailable):
        p.mailbox_created(D, "jean", "Jean", "Dupont")
    assert len(journal_of(p, "POST", path)) == 1
    assert (D, "jean") in fake.backend.mailboxes  # dimail did it, the answer was lost
    assert p.mailbox_created(D, "jean", "Jean", "Dupont") == {"email": f"jean@{D}", "password": None}


def test_get_check_retried_after_connect_errors(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    faults.fail("GET", f"/domains/{D}/check", ["connect", "timeout"])
    status = p.domain_created(D, "owner-sub")
    assert status.status == "enabled"
    checks = journal_of(p, "GET", f"/domains/{D}/check")
    assert [(c.status, c.attempt) for c in checks] == [(None, 1), (None, 2), (200, 3)]
    assert sleeps == [0.1, 0.2]


def test_get_check_never_answering_is_unavailable(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    p.domain_created(D, "owner-sub")
    faults.fail("GET", f"/domains/{D}/check", ["connect"] * 10)
    sleeps.clear()
    n = len(p.journal)
    with pytest.raises(DimailUnavailable) as caught:
        p.domain_status(D)
    assert caught.value.status is None
    assert calls(p, n) == [("GET", f"/domains/{D}/check", None)] * 5
    assert sleeps == [0.1, 0.2, 0.4, 0.8]
    message = str(caught.value)
    assert f"GET /domains/{D}/check" in message and "no answer" in message


def test_delete_retried_after_500(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    p.domain_created(D, "owner-sub")
    faults.fail("DELETE", f"/allows/{D}/owner-sub", [500])
    p.access_revoked(D, "owner-sub")
    assert [(c.status, c.attempt) for c in journal_of(p, "DELETE", f"/allows/{D}/owner-sub")] == [(500, 1), (204, 2)]
    assert ("owner-sub", D) not in fake.backend.allows


def test_each_retry_is_told_in_one_line_with_its_reason(fake: FakeDimail) -> None:
    faults, told = Faults(fake), []
    p = Provisioner(fake.base_url, transport=httpx.MockTransport(faults), sleep=lambda s: None, on_retry=told.append)
    p.domain_created(D, "owner-sub")
    faults.fail("GET", f"/domains/{D}/check", [503, "connect", 504])
    assert p.domain_status(D).status == "enabled"
    assert told == [f"retry 1/4 of GET /domains/{D}/check in 0.1 s: answered 503",
                    f"retry 2/4 of GET /domains/{D}/check in 0.2 s: cannot connect: connection refused",
                    f"retry 3/4 of GET /domains/{D}/check in 0.4 s: answered 504"]


def test_nothing_answering_from_the_first_call_is_tried_twice_and_named(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    faults.fail("GET", f"/domains/{D}/check", ["connect"] * 10)
    with pytest.raises(DimailUnavailable) as caught:
        p.domain_status(D)
    assert calls(p) == [("GET", f"/domains/{D}/check", None)] * 2
    assert sleeps == [0.1]
    assert str(caught.value) == (f"GET /domains/{D}/check: no answer from dimail at {fake.base_url} "
                                 "(cannot connect: connection refused): is the fake running? `make run`")


@pytest.mark.parametrize(("url", "words"), [("localhost:8001", "has no scheme: add http:// (http://localhost:8001)"),
                                            ("ftp://dimail", "is not an http://host[:port]"),
                                            ("http://dimail:99999", "has a port outside 1-65535")])
def test_an_unusable_url_is_refused_before_any_call(url: str, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        Provisioner(url)
    assert str(caught.value).startswith(f"dimail URL {url!r} ") and words in str(caught.value)


def test_initialise_after_the_bootstrap_says_so(fake: FakeDimail, p: Provisioner) -> None:
    with pytest.raises(DimailRefused) as caught:
        p.initialise(admin=("admin", "not-its-password"))
    assert calls(p) == [("POST", "/users/", 403)]
    message = str(caught.value)
    assert message.startswith("dimail refused 'admin' as an admin (POST /users/ answered 403: 'Permission denied')")
    assert "the empty-database bootstrap is over: use an existing admin's USER:PASSWORD" in message


def test_a_refused_token_names_the_credentials(fake: FakeDimail) -> None:
    p = Provisioner.for_fake(fake, password="wrong")
    with pytest.raises(DimailRefused) as caught:
        p.mailbox_disabled(D, "jean")
    assert str(caught.value) == "dimail refused la_regie's credentials (GET /token/ answered 403: 'Permission denied')"


def test_a_403_is_never_retried(fake: FakeDimail) -> None:
    faults = Faults(fake)
    sleeps: list[float] = []
    p = Provisioner(fake.base_url, password="wrong", transport=httpx.MockTransport(faults), sleep=sleeps.append)
    with pytest.raises(DimailRefused) as caught:
        p.mailbox_disabled(D, "jean")
    assert caught.value.status == 403
    assert calls(p) == [("GET", "/token/", 403)]
    assert sleeps == []
    assert faults.seen == [("GET", "/token/")]


def test_a_4xx_on_a_patch_is_never_retried(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    faults.fail("PATCH", f"/domains/{D}/mailboxes/jean", [403])
    with pytest.raises(DimailRefused):
        p.mailbox_disabled(D, "jean")
    assert len(journal_of(p, "PATCH", f"/domains/{D}/mailboxes/jean")) == 1
    assert sleeps == []


def test_retries_zero_disables_retries(fake: FakeDimail) -> None:
    faults = Faults(fake)
    sleeps: list[float] = []
    p = Provisioner(fake.base_url, transport=httpx.MockTransport(faults), sleep=sleeps.append, retries=0)
    p.domain_created(D, "owner-sub")
    p.mailbox_created(D, "jean", "Jean", "Dupont")
    path = f"/domains/{D}/mailboxes/jean"
    faults.fail("PATCH", path, [502])
    with pytest.raises(DimailServerError) as caught:
        p.mailbox_disabled(D, "jean")
    assert caught.value.call.attempt == 1
    assert len(journal_of(p, "PATCH", path)) == 1
    assert sleeps == []
    assert fake.backend.mailboxes[(D, "jean")].imap_active == "yes"


def test_initialise_patch_retried() -> None:
    fake = FakeDimail()
    fake.add_user("admin", "admin", is_admin=True)
    fake.add_user("la_regie", "password")
    faults = Faults(fake)
    p = Provisioner(fake.base_url, transport=httpx.MockTransport(faults), sleep=lambda s: None)
    faults.fail("PATCH", "/users/la_regie", [502])
    p.initialise(admin=("admin", "admin"))
    assert [(c.status, c.attempt) for c in journal_of(p, "PATCH", "/users/la_regie")] == [(502, 1), (200, 2)]
    assert sorted(fake.backend.users["la_regie"].perms) == sorted(PERMS)


def test_initialise_admin_retries_use_the_injected_sleep() -> None:
    fake = FakeDimail()
    fake.add_user("admin", "admin", is_admin=True)
    fake.add_user("la_regie", "password")
    faults = Faults(fake)
    sleeps: list[float] = []
    p = Provisioner(fake.base_url, transport=httpx.MockTransport(faults), sleep=sleeps.append)
    faults.fail("PATCH", "/users/la_regie", [502])
    p.initialise(admin=("admin", "admin"))
    assert sleeps == [0.1]


def test_mailbox_post_502_is_a_server_error_not_a_conflict(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    p.domain_created(D, "owner-sub")
    faults.fail("POST", f"/domains/{D}/mailboxes/jean", [502])
    with pytest.raises(DimailServerError):
        p.mailbox_created(D, "jean", "Jean", "Dupont")


def test_mailbox_post_502_is_neither_retried_nor_probed(fake: FakeDimail, faulty) -> None:
    p, faults, sleeps = faulty
    p.domain_created(D, "owner-sub")
    path = f"/domains/{D}/mailboxes/jean"
    faults.fail("POST", path, [502])
    with pytest.raises(DimailError) as caught:
        p.mailbox_created(D, "jean", "Jean", "Dupont")
    assert len(journal_of(p, "POST", path)) == 1
    assert journal_of(p, "GET", f"/domains/{D}/address/jean/") == []
    assert (D, "jean") not in fake.backend.mailboxes
    assert caught.value.status == 502 and caught.value.detail == "Bad Gateway"


# --- 9. tokens -----------------------------------------------------------------------


def _bearer_events(p: Provisioner) -> None:
    p.mailbox_created(D, "jean", "Jean", "Dupont")
    p.mailbox_disabled(D, "jean")
    p.mailbox_enabled(D, "jean", "Jean", "Dupont")
    p.alias_created(D, "contact", f"jean@{D}")
    p.alias_deleted(D, "contact", f"jean@{D}")


def test_a_token_per_operation_by_default(enabled: Provisioner) -> None:
    n = len(enabled.journal)
    _bearer_events(enabled)
    assert len(journal_of(enabled, "GET", "/token/", n)) == 5


def test_cache_token_fetches_one_token(fake: FakeDimail) -> None:
    p = Provisioner.for_fake(fake, cache_token=True)
    p.domain_created(D, "owner-sub")
    _bearer_events(p)
    assert len(journal_of(p, "GET", "/token/")) == 1
    assert (D, "jean") in fake.backend.mailboxes
    assert fake.backend.aliases == {}


def test_cache_token_refetches_after_a_refusal(fake: FakeDimail) -> None:
    p = Provisioner.for_fake(fake, cache_token=True)
    p.domain_created(D, "owner-sub")
    p.mailbox_created(D, "jean", "Jean", "Dupont")
    p.client._token = "not-a-valid-token"  # an expired cached token
    n = len(p.journal)
    p.mailbox_disabled(D, "jean")
    assert calls(p, n) == [("PATCH", f"/domains/{D}/mailboxes/jean", 403), ("GET", "/token/", 200),
                           ("PATCH", f"/domains/{D}/mailboxes/jean", 200)]
    assert fake.backend.mailboxes[(D, "jean")].imap_active == "no"


def test_declared_steps_cover_every_event() -> None:
    for name in ("initialise", "domain_created", "domain_status", "user_created", "access_granted",
                 "access_revoked", "mailbox_created", "mailbox_disabled", "mailbox_enabled", "login_code",
                 "password_reset", "alias_created", "alias_deleted"):
        assert getattr(Provisioner, name).steps, name
    assert PEOPLE_PERMS == PERMS
