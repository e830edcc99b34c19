"""Seeding from Python: one line per factory object, no HTTP, no journal, idempotent, refusals named."""

from __future__ import annotations

import pytest

from fake_dimail import FakeDimail, SeedError


@pytest.fixture
def fake() -> FakeDimail:
    return FakeDimail(seed="people-dev")


def failing(fake: FakeDimail, domain: str) -> list[str]:
    body = fake.check(domain)
    return [name for name, result in body.items() if isinstance(result, dict) and not result["ok"]]


def test_an_ok_domain_is_valid_active_published_and_certified(fake):
    domain = fake.add_domain("ok.fr", allowed=["la_regie"])
    assert (domain.state, domain.valid, domain.active) == ("ok", True, True)
    assert {(r["target"], r["type"]) for r in fake.dns("ok.fr")} == {
        ("", "mx"), ("", "txt"), ("dimail._domainkey", "txt"), ("imap", "cname"), ("smtp", "cname"),
        ("webmail", "cname")}
    assert fake.platform("ok.fr")["certificate"] is True
    assert fake.backend.domains["ok.fr"].context_name == "ok.fr"
    assert ("la_regie", "ok.fr") in fake.backend.allows
    assert failing(fake, "ok.fr") == []
    assert fake.requests == []


@pytest.mark.parametrize(("kwargs", "state", "fails"), [
    ({"status": "broken"}, "broken", ["domain_exist"]),  # People: action required
    ({"status": "broken", "failing": ["mx"]}, "broken", ["mx"]),  # action required
    ({"status": "broken", "failing": ["spf", "dkim"]}, "broken", ["spf", "dkim"]),
    ({"status": "broken", "failing": ["ox"]}, "broken", ["ox"]),  # /fix repairs it: enabled
    ({"status": "broken", "failing": ["cert"], "fixable": False}, "broken", ["cert"]),  # failed
    ({"status": "new"}, "new", None),  # pending
])
def test_domain_statuses(fake, kwargs, state, fails):
    domain = fake.add_domain("d.fr", **kwargs)
    assert fake.backend.domains["d.fr"].state == state == domain.state
    if fails is not None:
        assert failing(fake, "d.fr") == fails


def test_people_statuses_after_fix(fake):
    fake.add_domain("fixable.fr", status="broken", failing=["ox"])
    fake.add_domain("failed.fr", status="broken", failing=["cert"], fixable=False)
    assert fake.backend.fix_domain(fake._root, "fixable.fr").state == "ok"
    assert fake.backend.fix_domain(fake._root, "failed.fr").state == "broken"


def test_domain_seeding_is_idempotent_and_refuses_contradictions(fake):
    first = fake.add_domain("a.fr")
    assert fake.add_domain("a.fr") == first
    assert list(fake.backend.domains) == ["a.fr"]
    with pytest.raises(SeedError, match="exists with features"):
        fake.add_domain("a.fr", features=["mailbox"])
    with pytest.raises(SeedError, match="no such dimail user"):
        fake.add_domain("b.fr", allowed=["nobody"])
    with pytest.raises(SeedError, match="status 'valid'"):
        fake.add_domain("b.fr", status="valid")
    with pytest.raises(SeedError, match="failing=\\['mx'\\]: only with status='broken'"):
        fake.add_domain("b.fr", failing=["mx"])
    with pytest.raises(SeedError, match="domain b..fr"):
        fake.add_domain("b..fr")
    assert list(fake.backend.domains) == ["a.fr"]


def test_users_and_allows(fake):
    user = fake.add_user("owner-sub", "pw", perms=["new_domain"])
    assert user.name == "owner-sub" and user.perms == ["new_domain"]
    assert fake.add_user("owner-sub", "pw", perms=["new_domain"]) == user
    with pytest.raises(SeedError, match="exists with other settings"):
        fake.add_user("owner-sub", "other")
    fake.add_domain("a.fr")
    fake.allow("owner-sub", "a.fr")
    fake.allow("owner-sub", "a.fr")
    assert [k for k in fake.backend.allows if k[1] == "a.fr"] == [("owner-sub", "a.fr")]
    with pytest.raises(SeedError, match="allow nobody on a.fr: dimail would refuse it: 404 User not found"):
        fake.allow("nobody", "a.fr")


def test_mailboxes(fake):
    fake.add_domain("a.fr")
    password = fake.add_mailbox("a.fr", "jean", given_name="Jean", sur_name="Dupont")
    assert password is not None and fake.backend.check_password(fake._root, "a.fr", "jean", password)
    assert fake.add_mailbox("a.fr", "jean", given_name="Jean", sur_name="Dupont") is None
    assert fake.add_mailbox("a.fr", "marie", given_name="Marie", sur_name="Curie", password="s3cret",
                            active=False) == "s3cret"
    view = fake.backend.get_mailbox(fake._root, "a.fr", "marie")
    assert (view.displayName, view.active.value) == ("Marie Curie", "no")
    with pytest.raises(SeedError, match="display name 'Jean Dupont' is already used"):
        fake.add_mailbox("a.fr", "jean.d", given_name="Jean", sur_name="Dupont")
    with pytest.raises(SeedError, match="exists with other names"):
        fake.add_mailbox("a.fr", "jean", given_name="John", sur_name="Dupont")
    with pytest.raises(SeedError, match="404 Domain not found"):
        fake.add_mailbox("none.fr", "jean")
    assert sorted(local for (d, local) in fake.backend.mailboxes if d == "a.fr") == ["jean", "marie"]
    assert fake.requests == []


def test_aliases(fake):
    fake.add_domain("a.fr")
    alias = fake.add_alias("a.fr", "contact", "jean@a.fr")
    assert fake.add_alias("a.fr", "contact", "jean@a.fr") == alias
    assert list(fake.backend.aliases) == [("a.fr", "contact", "jean@a.fr")]
    with pytest.raises(SeedError, match="no such domain"):
        fake.add_alias("b.fr", "contact", "jean@a.fr")


def test_the_seeded_state_is_what_the_api_shows(fake):
    fake.add_domain("a.fr", allowed=["la_regie"])
    fake.add_mailbox("a.fr", "jean")
    fake.add_alias("a.fr", "contact", "jean@a.fr")
    client = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    assert client.get("/domains/a.fr").json()["state"] == "ok"
    assert [m["email"] for m in client.get("/v2/domains/a.fr/mailboxes/").json()] == ["jean@a.fr", "oxadmin@a.fr"]
    assert client.get("/domains/a.fr/aliases/").json() == [
        {"username": "contact", "domain": "a.fr", "destination": "jean@a.fr", "allow_to_send": False}]
