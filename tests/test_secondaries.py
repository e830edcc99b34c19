"""Secondary accounts, through HTTP: a link between two existing mailboxes, seen from both, gone with either
(CONTRACT.md §4.13). The listings follow the document's descriptions: `…/{u}/master_of` names who can open
`{u}`, `…/{u}/mastered_by` what `{u}` can open."""

from __future__ import annotations

import pytest

from fake_dimail import FakeDimail
from tests.mailbox_world import assert_refused, bearer, world

JEAN = "/domains/example.fr/mailboxes/jean"
MARIE = "/domains/example.fr/mailboxes/marie"
LINK = f"{JEAN}/master_of/marie@example.fr"


@pytest.fixture()
def fake() -> FakeDimail:
    return world()


def secondary(master: str, secondary_email: str, display: str | None, domain: str = "example.fr") -> dict[str, object]:
    return {"domain_name": domain, "user_name": master, "master_of": secondary_email, "displayName": display}


def test_life_cycle(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    created = api.post(LINK, json={"displayName": "Marie (shared)"})
    assert (created.status_code, created.json()) == (201, secondary("jean", "marie@example.fr", "Marie (shared)"))
    assert api.get(LINK).json() == created.json()
    assert api.get(f"{JEAN}/mastered_by").json() == [created.json()]
    assert api.get(f"{MARIE}/master_of").json() == [created.json()]
    assert api.get(f"{JEAN}/master_of").json() == [] and api.get(f"{MARIE}/mastered_by").json() == []
    assert fake.state()["secondaries"] == [{"domain": "example.fr", "local": "jean", "secondary_domain": "example.fr",
                                            "secondary_local": "marie", "display_name": "Marie (shared)"}]

    again = api.post(LINK, json={})  # linking again is no conflict: the link stays, with the new displayName
    assert (again.status_code, again.json()) == (201, secondary("jean", "marie@example.fr", None))
    assert len(fake.state()["secondaries"]) == 1

    assert api.post(f"{MARIE}/master_of/jean@example.fr", json={}).status_code == 201  # each way is its own link
    assert api.get(f"{JEAN}/master_of").json() == [secondary("marie", "jean@example.fr", None)]

    deleted = api.delete(LINK)
    assert (deleted.status_code, deleted.text) == (204, "")
    assert (api.get(LINK).status_code, api.get(LINK).json()) == (404, {"detail": "Secondary not found"})
    assert api.delete(LINK).json() == {"detail": "Secondary not found"}
    assert api.get(f"{JEAN}/mastered_by").json() == []
    assert [s["local"] for s in fake.state()["secondaries"]] == ["marie"]


@pytest.mark.parametrize("deleted", ["jean", "marie"])
def test_deleting_either_mailbox_removes_the_link(fake: FakeDimail, deleted: str) -> None:
    api = bearer(fake, "la_regie")
    admin = bearer(fake, "admin")
    assert api.post(LINK, json={}).status_code == 201
    assert admin.post("/domains/other.fr/mailboxes/paul/master_of/jean@example.fr", json={}).status_code == 201
    assert api.delete(f"/domains/example.fr/mailboxes/{deleted}").status_code == 204
    left = [(s["local"], s["secondary_local"]) for s in fake.state()["secondaries"]]
    assert left == ([] if deleted == "jean" else [("paul", "jean")])


@pytest.mark.parametrize(("who", "email", "status", "detail"), [
    ("la_regie", "jean@example.fr", 422, "A mailbox cannot be its own secondary account"),
    ("la_regie", "ghost@example.fr", 404, "Mailbox not found"),
    ("la_regie", "luc@box.fr", 201, None),  # no OX needed, another domain la_regie is allowed on
    ("la_regie", "paul@other.fr", 403, "Permission denied"),  # no allow on the secondary's domain
    ("admin", "paul@other.fr", 201, None),
    ("admin", "paul@ghost.fr", 404, "Domain not found"),
    ("admin", "not-an-address", 404, "Domain not found"),
])
def test_the_secondary_must_be_an_existing_mailbox_one_may_manage(
    fake: FakeDimail, who: str, email: str, status: int, detail: str | None
) -> None:
    before = fake.state()
    answer = bearer(fake, who).post(f"{JEAN}/master_of/{email}", json={"displayName": "X"})
    assert answer.status_code == status, answer.text
    if detail is None:
        local, _, domain = email.partition("@")
        assert answer.json() == secondary("jean", email, "X")
        assert [(s["secondary_domain"], s["secondary_local"]) for s in fake.state()["secondaries"]] == [(domain, local)]
    else:
        assert answer.json() == {"detail": detail}
        assert fake.state() == before


@pytest.mark.parametrize("path", [f"{JEAN}/master_of", f"{JEAN}/mastered_by", LINK])
def test_unknown_mailbox_and_domain(fake: FakeDimail, path: str) -> None:
    ghost = bearer(fake, "la_regie").get(path.replace("/jean/", "/ghost/"))
    assert (ghost.status_code, ghost.json()) == (404, {"detail": "Mailbox not found"})
    unknown = bearer(fake, "admin").get(path.replace("example.fr/mailboxes", "ghost.fr/mailboxes"))
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Domain not found"})


def test_refusals(fake: FakeDimail) -> None:
    assert bearer(fake, "la_regie").post(LINK, json={}).status_code == 201
    for method, path, body in [("GET", f"{JEAN}/master_of", None), ("GET", f"{JEAN}/mastered_by", None),
                               ("GET", LINK, None), ("POST", f"{MARIE}/master_of/jean@example.fr", {}),
                               ("DELETE", LINK, None)]:
        assert_refused(fake, method, path, body)
