"""`fake.calls`: dimail's exchanges with their bodies, as `responses.calls` shows them (issue 19);
`GET /_fake/requests?bodies=1` shows the same over HTTP, secrets redacted."""

from __future__ import annotations

import json

import pytest

from fake_dimail import FakeDimail
from fake_dimail.journal import Exchange, Journal

MAILBOX = "/domains/{domain_name}/mailboxes/{user_name}"
PAYLOAD = {"givenName": "Jean", "surName": "Dupont", "displayName": "Jean Dupont"}


@pytest.fixture
def fake() -> FakeDimail:
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("d.fr", allowed=["la_regie"])
    return fake


def people_calls(fake: FakeDimail) -> None:
    """People's mailbox creation: a Basic token request, then the Bearer POST."""
    token = fake.client(auth=("la_regie", "password")).get("/token/").json()["access_token"]
    bearer = fake.client(headers={"Authorization": f"Bearer {token}"})
    bearer.post("/domains/d.fr/mailboxes/jean?trace=1&trace=2", json=PAYLOAD)


def test_each_call_has_what_was_sent_and_what_came_back(fake):
    people_calls(fake)
    token, created = fake.calls
    assert (token.method, token.path, token.user, token.auth, token.status, token.body) == (
        "GET", "/token/", "la_regie", "basic", 200, b"")
    assert token.response["token_type"] == "bearer" and token.response["access_token"]
    assert (created.method, created.path, created.query, created.operation) == (
        "POST", "/domains/d.fr/mailboxes/jean", {"trace": "2"}, MAILBOX)
    assert (created.user, created.auth, created.status) == ("la_regie", "bearer", 201)
    assert json.loads(created.body) == created.json() == PAYLOAD
    assert created.response["email"] == "jean@d.fr"
    assert fake.backend.check_password(fake._root, "d.fr", "jean", created.response["password"])  # as sent
    assert repr(created) == "<Call POST /domains/d.fr/mailboxes/jean?trace=1&trace=2 201>"


def test_filter_by_concrete_path_or_template_and_reset(fake):
    people_calls(fake)
    fake.client().get("/_fake/")  # the control plane is not one of dimail's calls
    assert [c.path for c in fake.calls.filter(method="post", path=MAILBOX)] == ["/domains/d.fr/mailboxes/jean"]
    assert fake.calls.filter(path="/domains/d.fr/mailboxes/jean")[0].status == 201
    assert fake.calls.filter(method="GET", path=MAILBOX) == [] and len(fake.calls) == 2
    assert [c.path for c in fake.calls[-1:]] == ["/domains/d.fr/mailboxes/jean"]
    fake.calls.reset()
    assert list(fake.calls) == [] and fake.requests == []


def test_a_call_without_a_json_body_and_a_dropped_connection(fake):
    fake.faults.add("GET", "/token/", "connection-error")
    with pytest.raises(Exception, match="connection-error"):
        fake.client(auth=("la_regie", "password")).get("/token/")
    dropped = fake.calls[0]
    assert (dropped.status, dropped.fault, dropped.response, dropped.operation) == (None, "connection-error", None,
                                                                                     "/token/")
    with pytest.raises(ValueError):
        dropped.json()
    fake.client().get("/domains/d.fr/spec/")
    redirect = fake.calls[1]
    assert (redirect.status, redirect.operation, redirect.response) == (307, None, None)


def test_over_http_bodies_are_shown_with_secrets_redacted(fake):
    people_calls(fake)
    code = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"}).post(
        "/domains/d.fr/mailboxes/jean/code", json={"expires_in": 3600, "maxuse": 3})
    assert code.status_code == 201
    plain = fake.client().get("/_fake/requests").json()
    assert list(plain[0]) == ["id", "time", "method", "path", "user", "status", "duration_ms", "fault"]
    token, created, login = fake.client().get("/_fake/requests", params={"bodies": 1}).json()
    assert list(created) == ["id", "time", "method", "path", "user", "status", "duration_ms", "fault", "query",
                             "auth", "operation", "request", "response"]
    assert token["response"]["body"] == {"access_token": "<redacted>", "token_type": "bearer"}
    assert (created["query"], created["auth"], created["operation"]) == ("trace=1&trace=2", "bearer", MAILBOX)
    assert created["request"] == {"content_type": "application/json", "size": len(json.dumps(PAYLOAD,
                                  separators=(",", ":"))), "body": PAYLOAD}
    assert created["response"]["body"] == {"email": "jean@d.fr", "password": "<redacted>"}
    assert login["response"]["body"]["code"] == "<redacted>" and login["response"]["body"]["maxuse"] == 3
    assert fake.journal(bodies=True)[1]["request"]["body"] == PAYLOAD
    assert fake.calls[1].response["password"] != "<redacted>"  # in-process, as sent


def test_bodies_count_in_the_journals_budget():
    journal = Journal(entries=100, text_bytes=10_000, body_bytes=1000)

    def exchange(ident: int, size: int) -> Exchange:
        return Exchange("POST", "/users/", "admin", 201, 1.0, None, ident, 0.0, request_body=b"x" * size,
                        response_body=b"{}")

    for n in range(5):
        journal.append(exchange(n, 298))  # 300 bytes of bodies each
    assert [e.id for e in journal] == [3, 4, 5]
    journal.append(exchange(9, 5000))  # the newest stays, whatever its size
    assert [e.id for e in journal] == [6]
