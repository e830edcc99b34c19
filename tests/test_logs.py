"""Logs: the request journal at `/logs/`, and a crash log per deliberate 500 (CONTRACT.md §4.20), admin only."""

from __future__ import annotations

import re

import pytest

from fake_dimail import FakeDimail
from fake_dimail.backend.logs import MAX_CRASHES
from fake_dimail.config import Settings
from fake_dimail.routes.logs import MAX_LINES

LOGS = [("GET", "/logs/"), ("GET", "/logs/crashes"), ("GET", "/logs/crashes/{name}"),
        ("DELETE", "/logs/crashes/{name}")]
NAME = re.compile(r"^crash-\d{8}-\d{6}-[0-9a-f]{6}\.log$")
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture()
def fake() -> FakeDimail:
    fake = FakeDimail(Settings(crash_on_odd_tokens=True), seed="people-dev")
    fake.add_domain("example.fr", allowed=["la_regie"])
    fake.add_mailbox("example.fr", "jean")
    return fake


@pytest.fixture()
def admin(fake):
    return fake.client(auth=("admin", "admin"))


def test_crash_life_cycle(fake, admin):
    assert admin.get("/logs/crashes").json() == []
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    # Three of the fake's deliberate 500s: a duplicate mailbox, a crashing SPF record, an odd scheme.
    duplicate = api.post("/domains/example.fr/mailboxes/jean", json={"givenName": "Jean", "surName": "Dupont"})
    assert (duplicate.status_code, duplicate.text) == (500, "Internal Server Error")
    fake.set_dns("example.fr", [{"target": "", "type": "txt", "value": "v=spf1 include:_spf.ox.numerique.gouv.fr"}])
    assert fake.client(auth=("la_regie", "password")).get("/domains/example.fr/check?x=1").status_code == 500
    lowercase = fake.client(headers={"Authorization": f"bearer {fake.token('la_regie')}"})
    assert lowercase.get("/my/domains").status_code == 500

    crashes = admin.get("/logs/crashes").json()
    assert [list(c) for c in crashes] == [["name", "size", "date"]] * 3
    assert all(NAME.match(c["name"]) and DATE.match(c["date"]) for c in crashes), crashes
    assert len({c["name"] for c in crashes}) == 3
    files = [admin.get(f"/logs/crashes/{c['name']}").json()["logs"] for c in crashes]
    assert [f[1:] for f in files] == [
        ["request: POST /domains/example.fr/mailboxes/jean", "user: la_regie",
         "fake_dimail.errors.ServerCrash: dovecot mailbox already exists"],
        ["request: GET /domains/example.fr/check?x=1", "user: la_regie",
         "fake_dimail.errors.ServerCrash: SPF record without a final 'all'"],
        ["request: GET /my/domains", "user: -",  # the scheme crashes before the user is known
         "fake_dimail.errors.ServerCrash: scheme spelled otherwise than 'Bearer'"],
    ]
    assert all(f[0] == f"{c['date']} ERROR Exception in ASGI application" for f, c in zip(files, crashes))
    assert [c["size"] for c in crashes] == [len("".join(line + "\n" for line in f).encode()) for f in files]

    # Kept in the state: in the snapshot, through a load, emptied by a reset.
    state = fake.state()
    assert [(c["name"], c["method"], c["user"]) for c in state["crashes"]] == [
        (crashes[0]["name"], "POST", "la_regie"), (crashes[1]["name"], "GET", "la_regie"),
        (crashes[2]["name"], "GET", None)]
    other = FakeDimail(seed="people-dev")
    other.backend.load(state)
    assert other.client(auth=("admin", "admin")).get("/logs/crashes").json() == crashes

    deleted = admin.delete(f"/logs/crashes/{crashes[0]['name']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    again = admin.delete(f"/logs/crashes/{crashes[0]['name']}")
    assert (again.status_code, again.json()) == (404, {"detail": "Not found"})
    assert admin.get(f"/logs/crashes/{crashes[0]['name']}").json() == {"detail": "Not found"}
    assert admin.get("/logs/crashes").json() == crashes[1:]
    fake.reset()
    assert fake.state()["crashes"] == []


def test_crash_logs_are_bounded_oldest_dropped(fake, admin):
    names = [fake.backend.record_crash("GET", f"/x/{n}", None, "test").name for n in range(MAX_CRASHES + 2)]
    listed = [c["name"] for c in admin.get("/logs/crashes").json()]
    assert listed == names[2:]


def test_server_log_is_the_request_journal(fake, admin):
    fake.client().get("/public/domains/example.fr")
    fake.client(auth=("la_regie", "wrong")).get("/domains/")
    logs = admin.get("/logs/").json()
    assert list(logs) == ["logs"]
    # "<when the request arrived> <the request log's line>"
    dates, lines = zip(*(line.split(" ", 1) for line in logs["logs"]))
    assert all(DATE.match(date) for date in dates), dates
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        "GET /public/domains/example.fr 200 user=-", "GET /domains/ 403 user=-"]
    assert all(line.endswith("ms") for line in lines)
    anonymous = fake.client()
    for _ in range(MAX_LINES):
        anonymous.get("/public/domains/nowhere.fr")
    lines = admin.get("/logs/").json()["logs"]
    # The last MAX_LINES only: the earlier GET /logs/ has gone (the journal itself keeps more).
    assert len(lines) == MAX_LINES and set(lines) == {line for line in lines if line.split(" ", 1)[1].startswith(
        "GET /public/domains/nowhere.fr 404 user=- ")}
    assert len(fake.requests) == MAX_LINES + 4


@pytest.mark.parametrize(("method", "path"), LOGS)
def test_refusals(fake, method, path):
    name = fake.backend.record_crash("GET", "/", None, "test").name
    url = path.format(name=name)
    answer = fake.client().request(method, url)
    assert (answer.status_code, answer.json(), answer.headers["www-authenticate"]) == (
        401, {"detail": "Not authenticated"}, "Basic")
    answer = fake.client(auth=("admin", "wrong")).request(method, url)
    assert (answer.status_code, answer.json()) == (403, {"detail": "Permission denied"})
    # Not an admin: la_regie, with every perm People needs, is refused.
    answer = fake.client(auth=("la_regie", "password")).request(method, url)
    assert (answer.status_code, answer.json()) == (403, {"detail": "Permission denied"})
    # A Basic route refuses a token, even an admin's.
    answer = fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"}).request(method, url)
    assert (answer.status_code, answer.json()) == (401, {"detail": "Not authenticated"})
    assert [c["name"] for c in fake.state()["crashes"]] == [name]
