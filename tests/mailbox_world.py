"""What the app-password, secondary-account and identity tests start from, and the refusals they share."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import httpx

from fake_dimail import FakeDimail

PASSWORDS = {"jean": "Jean-pw-1", "marie": "Marie-pw-1", "paul": "Paul-pw-1"}


def world() -> FakeDimail:
    """la_regie allowed on example.fr (webmail: jean, marie) and box.fr (no OX: luc), not on other.fr (paul)."""
    fake = FakeDimail()
    fake.backend.load(copy.deepcopy(_document()))  # seeding checks domains (DKIM keys): do it once
    return fake


@cache
def _document() -> dict[str, Any]:
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("example.fr", allowed=["la_regie"])
    fake.add_domain("box.fr", features=("mailbox",), allowed=["la_regie"])
    fake.add_domain("other.fr")
    fake.add_user("nobody", password="pw")
    fake.add_mailbox("example.fr", "jean", password=PASSWORDS["jean"])
    fake.add_mailbox("example.fr", "marie", given_name="Marie", sur_name="Curie", password=PASSWORDS["marie"])
    fake.add_mailbox("other.fr", "paul", given_name="Paul", sur_name="Martin", password=PASSWORDS["paul"])
    fake.add_mailbox("box.fr", "luc", given_name="Luc", sur_name="Petit")
    return fake.state()


def bearer(fake: FakeDimail, user: str) -> httpx.Client:
    return fake.client(headers={"Authorization": f"Bearer {fake.token(user)}"})


def assert_refused(fake: FakeDimail, method: str, path: str, body: Any = None, *, allow_checked: bool = True) -> None:
    """No credentials, a token that is not a JWT, and (when the domain decides) a user without an allow:
    each gets its 403, and none changes anything (CONTRACT.md §2, §3.6)."""
    before = fake.state()
    attempts = [({}, "Not authenticated"), ({"Authorization": "Bearer not.a.jwt"}, "Permission denied")]
    if allow_checked:
        attempts.append(({"Authorization": f"Bearer {fake.token('nobody')}"}, "Permission denied"))
    for headers, detail in attempts:
        answer = fake.client(headers=headers).request(method, path, json=body)
        assert (answer.status_code, answer.json()) == (403, {"detail": detail}), (method, path, headers, answer.text)
    assert fake.state() == before
