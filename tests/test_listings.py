"""Listings answer their rows as JSON straight from the backend (`models.Listing`): byte for byte what
FastAPI answers for the same items one at a time, without a model per item, and rows that die as they
are serialised. The whole suite also runs with `models.CHECK_ROWS` on (tests/conftest.py)."""

from __future__ import annotations

import json
import os

import pytest
from pydantic import TypeAdapter

from fake_dimail import FakeDimail, models
from fake_dimail.seeding import ADMIN

ITEMS = 20  # over several chunks: the tests make a chunk 7 rows long


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "_CHUNK", 7)


@pytest.fixture(scope="module")
def fake() -> FakeDimail:
    """Rows of every shape: OX and Dovecot-only mailboxes, senders, schedules, checked domains, perms."""
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("example.fr", allowed=["la_regie"])
    fake.add_domain("checked.fr", status="broken")
    admin = fake.client(auth=("admin", "admin"))
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"})
    for i in range(ITEMS):
        if i % 3:
            body = {"givenName": "Jean", "surName": f"Dupont {i}", "additionalSenders": [f"s{i}@x.fr"] * (i % 2)}
            assert api.post(f"/domains/example.fr/mailboxes/m{i}", json=body).status_code == 201
        else:
            body2 = {"features": ["schedule"], "extras": {"schedule": {"max": i}}}
            assert api.post(f"/v2/domains/example.fr/mailboxes/m{i}", json=body2).status_code == 201
        alias = {"user_name": f"a{i}", "destination": f"m{i}@example.fr", "allow_to_send": bool(i % 2)}
        assert api.post("/domains/example.fr/aliases/", json=alias).status_code == 201
        assert api.post(f"/domains/example.fr/forwards/f{i}", json={"nexthop": "smtp:relay.fr"}).status_code == 201
        fake.add_domain(f"d{i}.fr", features=["mailbox"] if i % 2 else ["mailbox", "alias"])
        user = {"name": f"u{i}", "password": "p", "is_admin": False, "perms": ["new_domain"] * (i % 2),
                "identities": [f"sub-{i}"]}
        assert admin.post("/users/", json=user).status_code == 201
        assert admin.post("/allows/", json={"user": f"u{i}", "domain": "example.fr"}).status_code == 201
    return fake


# listing path, its model, how to get one of its items alone (None: no such operation), auth (of the listing,
# then of an item alone when it differs)
FAMILIES = {
    "mailboxes v1": ("/domains/example.fr/mailboxes/", models.Mailbox,
                     lambda item: f"/domains/example.fr/mailboxes/{item['email'].split('@')[0]}", "token"),
    "mailboxes v2": ("/v2/domains/example.fr/mailboxes/", models.Mailbox2,
                     lambda item: f"/v2/domains/example.fr/mailboxes/{item['email'].split('@')[0]}", "token"),
    "mailboxes v2 without extras": ("/v2/domains/example.fr/mailboxes/?with_extras=false", models.Mailbox2,
                                    lambda item: f"/v2/domains/example.fr/mailboxes/{item['email'].split('@')[0]}"
                                                 "?with_extras=false", "token"),
    "aliases": ("/domains/example.fr/aliases/", models.Alias, None, "token"),
    "forwards": ("/domains/example.fr/forwards/", models.Forward,
                 lambda item: f"/domains/example.fr/forwards/{item['username']}", "token"),
    "domains": ("/domains/", models.Domain, lambda item: f"/domains/{item['name']}", "basic token"),
    "users": ("/users/", models.User, lambda item: f"/users/{item['name']}", "basic"),
    "allows": ("/allows/", models.Allowed, None, "basic"),
    "mailboxes info": ("/system/mailboxes_info/example.fr", models.MailboxInfo,
                       lambda item: f"/system/mailbox_info/example.fr/{item['email'].split('@')[0]}", "basic"),
}


def client(fake: FakeDimail, auth: str):
    if auth == "basic":
        return fake.client(auth=("admin", "admin"))
    return fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"})


@pytest.mark.parametrize("family", FAMILIES)
def test_a_listing_answers_what_fastapi_answers_item_by_item(fake, family):
    path, model, single, auth = FAMILIES[family]
    api = client(fake, auth.split()[0])
    answer = api.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert int(answer.headers["content-length"]) == len(answer.content)
    items = json.loads(answer.content)
    assert len(items) >= ITEMS
    # The body is its models' own serialisation: field order, types, nothing missing.
    adapter = TypeAdapter(list[model])
    assert adapter.dump_json(adapter.validate_json(answer.content)) == answer.content
    if single is not None:
        # Each item as FastAPI answers it alone (a model, validated, then serialised): the same bytes.
        api = client(fake, auth.split()[-1])
        for item in items:
            alone = api.get(single(item))
            assert alone.status_code == 200, alone.text
            assert json.dumps(alone.json()) == json.dumps(item)


def test_a_listing_is_a_sequence_of_models_for_python_callers(fake):
    listing = fake.backend.list_mailboxes(ADMIN, "example.fr")
    assert isinstance(listing, models.Listing)
    mailboxes = list(listing)
    assert len(listing) == len(mailboxes) == ITEMS + 1  # and the context's oxadmin
    assert all(isinstance(m, models.Mailbox) for m in mailboxes)
    assert listing[0] == mailboxes[0] and listing[-1] == mailboxes[-1] and listing[1:3] == mailboxes[1:3]
    assert listing == mailboxes and listing == fake.backend.list_mailboxes(ADMIN, "example.fr")
    assert listing != fake.backend.list_mailboxes(ADMIN, "checked.fr")
    assert mailboxes[1] == fake.backend.get_mailbox(ADMIN, "example.fr", mailboxes[1].email.split("@")[0])
    assert repr(listing) == repr(mailboxes)
    assert listing.json() == TypeAdapter(list[models.Mailbox]).dump_json(mailboxes)
    assert fake.mailboxes("example.fr") == [m.model_dump(mode="json") for m in mailboxes]
    assert list(fake.backend.list_aliases(ADMIN, "nowhere.fr", "", "")) == []


def test_rows_die_as_they_are_serialised():
    """At most one chunk of rows lives at a time: nothing for the garbage collector to promote and walk."""
    live = peak = 0

    class Row(dict):  # type: ignore[type-arg]
        def __init__(self, *args: object, **kwargs: object) -> None:
            nonlocal live, peak
            super().__init__(*args, **kwargs)
            live += 1
            peak = max(peak, live)

        def __del__(self) -> None:
            nonlocal live
            live -= 1

    rows = (Row(user=f"u{i}", domain="example.fr") for i in range(100))
    listing = models.Listing(models.Allowed, rows)
    assert len(listing) == 100 and live == 0
    assert peak == models._CHUNK
    assert json.loads(listing.json())[42] == {"user": "u42", "domain": "example.fr"}


@pytest.mark.parametrize("row, problem", [
    ({"domain": "example.fr", "user": "u"}, "keys"),  # order
    ({"user": "u"}, "Field required"),
    ({"user": "u", "domain": "example.fr", "other": 1}, "keys"),
    ({"user": 1, "domain": "example.fr"}, "string"),
])
def test_a_row_unlike_its_model_is_caught_in_check_mode(row, problem):
    with pytest.raises(Exception, match=problem):
        models.check_row(models.Allowed, row)


def test_a_row_serialised_otherwise_than_its_model_is_caught():
    # Valid, but the model answers "yes" for the enum member and [] for the absent senders.
    row = {"type": "mailbox", "status": "ok", "active": "yes", "email": "a@b.fr", "givenName": None,
           "surName": None, "displayName": None, "additionalSenders": (), "rate_limit": None}
    models.check_row(models.Mailbox, row)
    with pytest.raises(AssertionError):
        models.check_row(models.MailboxCode, {"email": "a@b.fr", "code": "c", "expires_at": 1.0, "expires_in": None,
                                              "maxuse": None, "nbuse": 0})


def test_the_suite_checks_every_row_here_and_in_the_servers_it_starts():
    assert models.CHECK_ROWS is True
    assert os.environ["FAKE_DIMAIL_CHECK_ROWS"] == "1"
