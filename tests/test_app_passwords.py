"""App passwords of an OX mailbox, through HTTP: the secret once, listings without it, gone with the mailbox
(CONTRACT.md §4.14)."""

from __future__ import annotations

import json
import uuid

import pytest

from fake_dimail import FakeDimail
from fake_dimail.backend.base import verify_password
from tests.mailbox_world import PASSWORDS, assert_refused, bearer, world

BASE = "/domains/example.fr/mailboxes/jean/app_passwords"


@pytest.fixture()
def fake() -> FakeDimail:
    return world()


def view(key: str, name: str, kind: str, login: str = "jean@example.fr") -> dict[str, object]:
    return {"uuid": key, "name": name, "type": kind, "login": login,
            "last_use": None, "client": None, "user_agent": None, "ip_address": None}


def test_life_cycle(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    created = api.post(BASE, json={"name": "Thunderbird", "type": "imap"})
    assert created.status_code == 201
    body = created.json()
    assert list(body) == ["uuid", "password"] and str(uuid.UUID(body["uuid"])) == body["uuid"]
    secret = body["password"]
    assert len(secret) == 16

    assert api.get(BASE).json() == [view(body["uuid"], "Thunderbird", "imap")]
    assert api.get(f"{BASE}/{body['uuid']}").json() == view(body["uuid"], "Thunderbird", "imap")
    [row] = fake.state()["app_passwords"]
    assert (row["uuid"], row["domain"], row["local"], row["type"]) == (body["uuid"], "example.fr", "jean", "imap")
    assert verify_password(secret, row["password_hash"]) and secret not in json.dumps(fake.state())

    # check_password takes the mailbox's password and its app passwords (a guess), nothing else
    check = "/domains/example.fr/mailboxes/jean/check_password"
    assert [api.post(check, json={"password": p}).json() for p in (secret, PASSWORDS["jean"], "nope")] == [
        True, True, False]
    assert api.post("/domains/example.fr/mailboxes/marie/check_password", json={"password": secret}).json() is False

    second = api.post(BASE, json={"name": "Thunderbird", "type": "caldav"}).json()  # names need not be unique
    assert [a["uuid"] for a in api.get(BASE).json()] == [body["uuid"], second["uuid"]]
    deleted = api.delete(f"{BASE}/{body['uuid']}")
    assert (deleted.status_code, deleted.text) == (204, "")
    assert api.get(f"{BASE}/{body['uuid']}").json() == {"detail": "App password not found"}
    assert api.delete(f"{BASE}/{body['uuid']}").status_code == 404
    assert api.get(BASE).json() == [view(second["uuid"], "Thunderbird", "caldav")]
    assert api.post(check, json={"password": secret}).json() is False

    assert api.delete("/domains/example.fr/mailboxes/jean").status_code == 204
    assert fake.state()["app_passwords"] == []


def test_an_app_password_belongs_to_its_mailbox(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    key = api.post(BASE, json={"name": "phone", "type": "carddav"}).json()["uuid"]
    other = f"/domains/example.fr/mailboxes/marie/app_passwords/{key}"
    assert (api.get(other).status_code, api.get(other).json()) == (404, {"detail": "App password not found"})
    assert api.delete(other).status_code == 404
    for odd in (key.upper(), key.replace("-", ""), "not-a-uuid"):
        assert api.get(f"{BASE}/{odd}").json() == {"detail": "App password not found"}
    assert [a["uuid"] for a in api.get(BASE).json()] == [key]


def test_removing_ox_from_the_mailbox_removes_its_app_passwords(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    api.post(BASE, json={"name": "phone", "type": "api"})
    assert api.patch("/v2/domains/example.fr/mailboxes/jean", json={"features": ["-ox"]}).status_code == 200
    assert fake.state()["app_passwords"] == []
    assert api.get(BASE).json() == {"detail": "Mailbox not found"}


@pytest.mark.parametrize(("who", "path", "status", "detail"), [
    ("la_regie", "/domains/example.fr/mailboxes/ghost/app_passwords", 404, "Mailbox not found"),
    ("la_regie", "/domains/box.fr/mailboxes/luc/app_passwords", 404, "Mailbox not found"),  # no OX user
    ("admin", "/domains/ghost.fr/mailboxes/jean/app_passwords", 404, "Domain not found"),
    ("la_regie", "/domains/ghost.fr/mailboxes/jean/app_passwords", 403, "Permission denied"),
    ("la_regie", "/domains/other.fr/mailboxes/paul/app_passwords", 403, "Permission denied"),
])
def test_what_has_no_app_passwords(fake: FakeDimail, who: str, path: str, status: int, detail: str) -> None:
    api = bearer(fake, who)
    for method, sent in (("GET", None), ("POST", {"name": "x", "type": "imap"})):
        answer = api.request(method, path, json=sent)
        assert (answer.status_code, answer.json()) == (status, {"detail": detail}), method
    assert fake.state()["app_passwords"] == []


def test_admin_reaches_every_domain(fake: FakeDimail) -> None:
    answer = bearer(fake, "admin").post("/domains/other.fr/mailboxes/paul/app_passwords", json={"name": "x", "type": "api"})
    assert answer.status_code == 201
    assert [r["local"] for r in fake.state()["app_passwords"]] == ["paul"]


def test_refusals(fake: FakeDimail) -> None:
    key = bearer(fake, "la_regie").post(BASE, json={"name": "x", "type": "imap"}).json()["uuid"]
    for method, path, body in [("GET", BASE, None), ("POST", BASE, {"name": "y", "type": "imap"}),
                               ("GET", f"{BASE}/{key}", None), ("DELETE", f"{BASE}/{key}", None)]:
        assert_refused(fake, method, path, body)


def test_state_loads_back_with_its_app_passwords(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    created = api.post(BASE, json={"name": "x", "type": "imap"}).json()
    other = FakeDimail()
    other.backend.load(json.loads(json.dumps(fake.state())))
    assert other.state() == fake.state()
    again = bearer(other, "la_regie")
    assert [a["uuid"] for a in again.get(BASE).json()] == [created["uuid"]]
    assert again.post("/domains/example.fr/mailboxes/jean/check_password", json={"password": created["password"]}
                      ).json() is True
    indexes = other.backend.state.all_indexes()
    assert indexes["kept"] == indexes["rebuilt"]
