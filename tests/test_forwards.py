"""Forwards (CONTRACT.md §4.12): the life cycle through HTTP, the state it leaves, every refusal."""

from __future__ import annotations

import pytest

from fake_dimail import FakeDimail

WEBMAIL = {"name": "example.fr", "context_name": "example.fr",
           "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}
FORWARDS = "/domains/example.fr/forwards/"


@pytest.fixture()
def fake() -> FakeDimail:
    fake = FakeDimail(seed="people-dev")
    regie = fake.client(auth=("la_regie", "password"))
    assert regie.post("/domains/", json=WEBMAIL).status_code == 201
    assert regie.post("/users/", json={"name": "other", "password": "pw", "is_admin": False, "perms": []}).status_code == 201
    return fake


def bearer(fake: FakeDimail, user: str):
    return fake.client(headers={"Authorization": f"Bearer {fake.token(user)}"})


def test_forward_life_cycle(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    assert api.get(FORWARDS).json() == []
    created = api.post(FORWARDS + "info", json={"nexthop": "smtp:[relay.example.org]"})
    assert (created.status_code, created.json()) == (
        201, {"domain": "example.fr", "username": "info", "nexthop": "smtp:[relay.example.org]"})
    assert api.post(FORWARDS + "sales", json={"nexthop": "lmtp:inet:10.0.0.1:24"}).status_code == 201
    assert [f["username"] for f in api.get(FORWARDS).json()] == ["info", "sales"]
    assert api.get(FORWARDS + "info").json() == created.json()
    assert api.get("/domains/example.fr/address/info").json()["is_forward"] is True
    patched = api.patch(FORWARDS + "info", json={"nexthop": "mx:mail.example.org"})
    assert (patched.status_code, patched.json()["nexthop"]) == (200, "mx:mail.example.org")
    assert fake.state()["forwards"] == [
        {"domain": "example.fr", "local": "info", "nexthop": "mx:mail.example.org"},
        {"domain": "example.fr", "local": "sales", "nexthop": "lmtp:inet:10.0.0.1:24"},
    ]
    deleted = api.delete(FORWARDS + "info")
    assert (deleted.status_code, deleted.text) == (204, "")
    assert api.get(FORWARDS + "info").json() == {"detail": "Forward not found"}
    assert api.get("/domains/example.fr/address/info").json()["is_forward"] is False
    assert [f["local"] for f in fake.state()["forwards"]] == ["sales"]


def test_a_domain_with_forwards_is_not_empty(fake: FakeDimail) -> None:
    api, regie = bearer(fake, "la_regie"), fake.client(auth=("la_regie", "password"))
    api.post(FORWARDS + "info", json={"nexthop": "smtp:relay.example.org"})
    assert regie.delete("/domains/example.fr").json() == {"detail": "Domain is not empty"}
    api.delete(FORWARDS + "info")
    assert regie.delete("/domains/example.fr").status_code == 204
    assert fake.state()["forwards"] == []


def test_names_already_taken(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    api.post(FORWARDS + "info", json={"nexthop": "smtp:relay.example.org"})
    api.post("/domains/example.fr/mailboxes/jean", json={"givenName": "Jean", "surName": "Dupont"})
    api.post("/domains/example.fr/aliases/", json={"user_name": "contact", "destination": "jean@example.fr"})
    before = fake.state()
    again = api.post(FORWARDS + "info", json={"nexthop": "mx:other.example.org"})
    assert (again.status_code, again.json()) == (409, {"detail": "Forward already exists"})
    for name in ("jean", "contact"):
        taken = api.post(FORWARDS + name, json={"nexthop": "smtp:relay.example.org"})
        assert (taken.status_code, taken.json()) == (409, {"detail": "Address already used by a mailbox or an alias"})
    assert fake.state() == before


@pytest.mark.parametrize("method,path,body", [
    ("GET", FORWARDS, None),
    ("GET", FORWARDS + "info", None),
    ("POST", FORWARDS + "new", {"nexthop": "smtp:relay.example.org"}),
    ("PATCH", FORWARDS + "info", {"nexthop": "smtp:relay.example.org"}),
    ("DELETE", FORWARDS + "info", None),
])
def test_refusals(fake: FakeDimail, method: str, path: str, body: dict | None) -> None:
    bearer(fake, "la_regie").post(FORWARDS + "info", json={"nexthop": "mx:mail.example.org"})
    before = fake.state()
    cases = [
        (fake.client(), 403, "Not authenticated"),
        (fake.client(headers={"Authorization": "Bearer not-a-jwt"}), 403, "Permission denied"),
        (bearer(fake, "other"), 403, "Permission denied"),  # no allow on the domain
    ]
    for client, status, detail in cases:
        answer = client.request(method, path, json=body)
        assert (answer.status_code, answer.json()) == (status, {"detail": detail})
    # rights come first, then the domain's existence (an admin is allowed everywhere)
    ghost = path.replace("example.fr", "ghost.fr")
    assert bearer(fake, "la_regie").request(method, ghost, json=body).json() == {"detail": "Permission denied"}
    missing = bearer(fake, "admin").request(method, ghost, json=body)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Domain not found"})
    assert fake.state() == before


def test_unknown_forward(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    for method, body in (("GET", None), ("PATCH", {"nexthop": "smtp:relay.example.org"}), ("DELETE", None)):
        answer = api.request(method, FORWARDS + "ghost", json=body)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Forward not found"})


def test_snapshot_round_trip_keeps_forwards(fake: FakeDimail) -> None:
    bearer(fake, "la_regie").post(FORWARDS + "info", json={"nexthop": "mx:mail.example.org"})
    document = fake.state()
    other = FakeDimail(seed="empty")
    other.backend.load(document)
    assert other.state()["forwards"] == document["forwards"]
    assert bearer(other, "la_regie").get(FORWARDS + "info").json()["nexthop"] == "mx:mail.example.org"
