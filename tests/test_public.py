"""The operations without authentication: `/public/domains/{d}` and the password webhook (CONTRACT.md §4.18-19)."""

from __future__ import annotations

import pytest

from fake_dimail import FakeDimail

WEBHOOK = "/webhook/changepassword"
NO_MAILBOX = {"detail": 'Mailbox not found: send {"email": "<user>@<domain>", "password": "<new password>"}'}


@pytest.fixture()
def fake() -> FakeDimail:
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("example.fr", allowed=["la_regie"])
    return fake


def test_public_domain_life_cycle(fake):
    anonymous = fake.client()
    answer = anonymous.get("/public/domains/new.fr")
    assert (answer.status_code, answer.json()) == (404, {"detail": "Domain not found"})
    regie = fake.client(auth=("la_regie", "password"))
    assert regie.post("/domains/", json={"name": "new.fr", "features": ["mailbox"]}).status_code == 201
    answer = anonymous.get("/public/domains/new.fr")
    assert (answer.status_code, answer.json()) == (200, {"name": "new.fr"})
    # Credentials change nothing, wrong ones included: the operation declares no scheme.
    assert fake.client(auth=("la_regie", "wrong")).get("/public/domains/new.fr").json() == {"name": "new.fr"}
    assert fake.client(headers={"Authorization": "Bearer x"}).get("/public/domains/new.fr").status_code == 200
    assert regie.delete("/domains/new.fr").status_code == 204
    assert anonymous.get("/public/domains/new.fr").status_code == 404
    # The name is not validated: any string is just not managed here.
    assert anonymous.get("/public/domains/Not%20A%20Domain").json() == {"detail": "Domain not found"}
    assert [d["name"] for d in fake.state()["domains"]] == ["example.fr"]


def check(fake, email: str, password: str) -> bool:
    local, _, domain = email.partition("@")
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    return api.post(f"/domains/{domain}/mailboxes/{local}/check_password", json={"password": password}).json()


def test_webhook_changes_the_dovecot_password(fake):
    old = fake.add_mailbox("example.fr", "jean")
    anonymous = fake.client()
    before = fake.state()["mailboxes"][0]
    answer = anonymous.post(WEBHOOK, json={"email": "jean@example.fr", "password": "Nouveau-1"})
    assert (answer.status_code, answer.headers["content-type"], answer.json()) == (200, "application/json", "OK")
    assert check(fake, "jean@example.fr", "Nouveau-1") is True
    assert check(fake, "jean@example.fr", old) is False
    after = fake.state()["mailboxes"][0]
    assert after["password_hash"] != before["password_hash"]
    assert {k: v for k, v in after.items() if k != "password_hash"} == {
        k: v for k, v in before.items() if k != "password_hash"}
    # Without a content-type too (dimail reads an untyped body as JSON); extra fields are ignored.
    raw = b'{"email": "jean@example.fr", "password": "Again-2", "source": "ox"}'
    assert anonymous.post(WEBHOOK, content=raw).json() == "OK"
    assert check(fake, "jean@example.fr", "Again-2") is True


@pytest.mark.parametrize("sent", [
    {"email": "ghost@example.fr", "password": "x"},
    {"email": "jean@ghost.fr", "password": "x"},
    {"email": "jean", "password": "x"},
])
def test_webhook_unknown_mailbox_is_404(fake, sent):
    fake.add_mailbox("example.fr", "jean")
    before = fake.state()
    answer = fake.client().post(WEBHOOK, json=sent)
    assert (answer.status_code, answer.json()) == (404, {"detail": "Mailbox not found"})
    assert fake.state() == before


@pytest.mark.parametrize("raw", [
    None, b"", b"{bad", b"[]", b'"jean@example.fr"', b'{"email": "jean@example.fr"}', b'{"password": "x"}',
    b'{"email": "jean@example.fr", "password": 5}', b"\xff\xfe", b"[" * 100_000,
    # JSON Python parses but no password can be: a lone surrogate, NaN
    b'{"email": "jean@example.fr", "password": "\\ud800"}', b'{"email": "jean@example.fr", "password": NaN}',
])
def test_webhook_body_naming_no_mailbox_is_404_and_changes_nothing(fake, raw):
    fake.add_mailbox("example.fr", "jean")
    before = fake.state()
    answer = fake.client().post(WEBHOOK, content=raw, headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()) == (404, NO_MAILBOX)
    assert fake.state() == before
