"""ProConnect identities, through HTTP: linked with the mailbox's password or by its domain's manager, read
from both ends, gone with the mailbox (CONTRACT.md §4.9, §4.16)."""

from __future__ import annotations

import pytest

from fake_dimail import FakeDimail
from tests.mailbox_world import PASSWORDS, assert_refused, bearer, world

JEAN = "/domains/example.fr/mailboxes/jean"
MARIE = "/domains/example.fr/mailboxes/marie"


@pytest.fixture()
def fake() -> FakeDimail:
    return world()


def link(proconnect: str, local: str, password: str | None = None, domain: str = "example.fr") -> dict[str, str]:
    return {"proconnect": proconnect, "email": f"{local}@{domain}", "password": password or PASSWORDS[local]}


def test_life_cycle(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    created = api.post("/identities", json=link("sub-1", "jean"))
    assert (created.status_code, created.json()) == (201, {})
    again = api.post("/identities", json=link("sub-1", "jean"))
    assert (again.status_code, again.json()) == (409, {"detail": "Identity already exists"})

    added = api.post(f"{MARIE}/identities/sub-1")
    assert (added.status_code, added.json()) == (201, {})
    assert api.post(f"{MARIE}/identities/sub-1").status_code == 201  # already there: nothing changes
    assert api.post(f"{MARIE}/identities/sub-2").status_code == 201
    assert bearer(fake, "admin").post("/domains/other.fr/mailboxes/paul/identities/sub-1").status_code == 201

    assert api.get("/identities", params={"identity": "sub-1"}).json() == ["jean@example.fr", "marie@example.fr"]
    assert bearer(fake, "admin").get("/identities", params={"identity": "sub-1"}).json() == [
        "jean@example.fr", "marie@example.fr", "paul@other.fr"]  # la_regie sees only its domains'
    assert api.get("/identities", params={"identity": "nobody"}).json() == []
    assert api.get(f"{MARIE}/identities").json() == ["sub-1", "sub-2"]
    assert api.get(f"{JEAN}/identities").json() == ["sub-1"]
    assert sorted((i["proconnect"], i["local"]) for i in fake.state()["identities"]) == [
        ("sub-1", "jean"), ("sub-1", "marie"), ("sub-1", "paul"), ("sub-2", "marie")]

    deleted = api.delete("/identities/sub-1/jean@example.fr")
    assert (deleted.status_code, deleted.text) == (204, "")
    gone = api.delete("/identities/sub-1/jean@example.fr")
    assert (gone.status_code, gone.json()) == (404, {"detail": "Identity not found"})
    assert api.get(f"{JEAN}/identities").json() == []

    assert api.delete("/domains/example.fr/mailboxes/marie").status_code == 204
    assert [(i["proconnect"], i["local"]) for i in fake.state()["identities"]] == [("sub-1", "paul")]


@pytest.mark.parametrize(("who", "sent", "status", "detail"), [
    ("la_regie", link("sub-1", "jean", "wrong"), 403, "Permission denied"),
    ("la_regie", link("sub-1", "ghost", "x"), 404, "Mailbox not found"),
    ("la_regie", link("sub-1", "paul", domain="other.fr"), 403, "Permission denied"),
    ("admin", link("sub-1", "paul", "x", domain="ghost.fr"), 404, "Domain not found"),
    ("nobody", link("sub-1", "jean"), 403, "Permission denied"),
])
def test_linking_needs_the_right_mailbox_password(fake: FakeDimail, who: str, sent: dict[str, str], status: int,
                                                  detail: str) -> None:
    before = fake.state()
    answer = bearer(fake, who).post("/identities", json=sent)
    assert (answer.status_code, answer.json()) == (status, {"detail": detail})
    assert fake.state() == before


def test_an_app_password_does_not_link_an_identity(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    secret = api.post(f"{JEAN}/app_passwords", json={"name": "x", "type": "imap"}).json()["password"]
    assert api.post("/identities", json=link("sub-1", "jean", secret)).status_code == 403
    assert fake.state()["identities"] == []


def test_the_identity_query_is_required(fake: FakeDimail) -> None:
    answer = bearer(fake, "la_regie").get("/identities")
    assert (answer.status_code, answer.json()) == (422, {"detail": [
        {"type": "missing", "loc": ["query", "identity"], "msg": "Field required", "input": None}]})


@pytest.mark.parametrize("path", [f"{JEAN}/identities", f"{JEAN}/identities/sub-1"])
def test_unknown_mailbox_and_domain(fake: FakeDimail, path: str) -> None:
    method = "GET" if path.endswith("identities") else "POST"
    ghost = bearer(fake, "la_regie").request(method, path.replace("/jean/", "/ghost/"))
    assert (ghost.status_code, ghost.json()) == (404, {"detail": "Mailbox not found"})
    unknown = bearer(fake, "admin").request(method, path.replace("example.fr/", "ghost.fr/"))
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Domain not found"})
    assert fake.state()["identities"] == []


def test_refusals(fake: FakeDimail) -> None:
    assert bearer(fake, "la_regie").post(f"{JEAN}/identities/sub-1").status_code == 201
    for method, path, body in [("POST", "/identities", link("sub-2", "jean")),
                               ("DELETE", "/identities/sub-1/jean@example.fr", None),
                               ("GET", f"{JEAN}/identities", None), ("POST", f"{JEAN}/identities/sub-2", None)]:
        assert_refused(fake, method, path, body)
    # reading an identity's mailboxes needs credentials only: a user without allows sees none of them
    assert_refused(fake, "GET", "/identities?identity=sub-1", allow_checked=False)
    assert bearer(fake, "nobody").get("/identities", params={"identity": "sub-1"}).json() == []
