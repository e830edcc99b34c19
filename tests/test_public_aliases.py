"""Public aliases (CONTRACT.md §4.15): the life cycle through HTTP, the state it leaves, every refusal."""

from __future__ import annotations

import re

import pytest

from fake_dimail import FakeDimail

WEBMAIL = {"name": "example.fr", "context_name": "example.fr",
           "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}
PUBLIC = {"name": "pub.fr", "features": ["alias"], "public_alias": True}
RESTRICTED = {"name": "gouv-alias.fr", "features": ["alias"], "public_alias": True, "public_alias_rules": ["*.gouv.fr"]}
CLOSED = {"name": "closed.fr", "features": ["alias"]}
JEAN = "jean@example.fr"
USER_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")


@pytest.fixture()
def fake() -> FakeDimail:
    fake = FakeDimail(seed="people-dev")
    regie = fake.client(auth=("la_regie", "password"))
    for domain in (WEBMAIL, PUBLIC, RESTRICTED, CLOSED):
        assert regie.post("/domains/", json=domain).status_code == 201
    assert regie.post("/users/", json={"name": "other", "password": "pw", "is_admin": False, "perms": []}).status_code == 201
    created = bearer(fake, "la_regie").post("/domains/example.fr/mailboxes/jean",
                                            json={"givenName": "Jean", "surName": "Dupont"})
    assert created.status_code == 201
    return fake


def bearer(fake: FakeDimail, user: str):
    return fake.client(headers={"Authorization": f"Bearer {fake.token(user)}"})


def create(api, domain: str = "pub.fr", destination: str = JEAN, description: str = "shop"):
    return api.post("/aliases", json={"domain": domain, "destination": destination, "description": description})


def test_public_alias_life_cycle(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    assert api.get("/aliases/domains", params={"destination": JEAN}).json() == ["pub.fr"]
    assert api.get("/aliases", params={"destination": JEAN}).json() == []
    first, second = create(api), create(api, description="newsletter")
    assert (first.status_code, second.status_code) == (201, 201)
    alias = first.json()["alias"]
    local, _, domain = alias.partition("@")
    assert (domain, first.json()["description"]) == ("pub.fr", "shop")
    assert USER_NAME.match(local) and alias != second.json()["alias"]
    assert api.get("/aliases", params={"destination": JEAN}).json() == [first.json(), second.json()]
    assert api.get(f"/domains/pub.fr/address/{local}").json()["is_alias"] is True
    assert fake.state()["public_aliases"][0] == {
        "domain": "pub.fr", "local": local, "destination": JEAN, "description": "shop"}
    patched = api.patch(f"/aliases/{alias}/{JEAN}", json={"description": "shopping"})
    assert (patched.status_code, patched.json()) == (200, {"alias": alias, "description": "shopping"})
    deleted = api.delete(f"/aliases/{alias}/{JEAN}")
    assert (deleted.status_code, deleted.text) == (204, "")
    assert api.get("/aliases", params={"destination": JEAN}).json() == [second.json()]
    assert api.delete(f"/aliases/{alias}/{JEAN}").json() == {"detail": "Alias not found"}
    # the mailbox takes its public aliases with it
    assert api.delete("/domains/example.fr/mailboxes/jean").status_code == 204
    assert fake.state()["public_aliases"] == []


def test_domains_offered_follow_the_settings_and_rules(fake: FakeDimail) -> None:
    regie, admin = fake.client(auth=("la_regie", "password")), bearer(fake, "admin")
    assert regie.post("/domains/", json={"name": "mairie.gouv.fr", "context_name": "gouv",
                                         "features": ["webmail", "mailbox"]}).status_code == 201
    assert bearer(fake, "la_regie").post("/domains/mairie.gouv.fr/mailboxes/marie",
                                         json={"givenName": "Marie", "surName": "Curie"}).status_code == 201
    assert admin.get("/aliases/domains", params={"destination": "marie@mairie.gouv.fr"}).json() == [
        "gouv-alias.fr", "pub.fr"]
    assert create(admin, "gouv-alias.fr", "marie@mairie.gouv.fr").status_code == 201
    refused = create(admin, "gouv-alias.fr", JEAN)
    assert (refused.status_code, refused.json()) == (
        403, {"detail": "Public aliases are not allowed for this destination on the domain"})
    assert create(admin, "closed.fr").status_code == 403
    # switching the setting on offers the domain
    assert regie.patch("/domains/closed.fr", json={"public_alias": True}).status_code == 200
    assert admin.get("/aliases/domains", params={"destination": JEAN}).json() == ["closed.fr", "pub.fr"]


def test_deleting_a_domain_takes_its_public_aliases(fake: FakeDimail) -> None:
    regie = fake.client(auth=("la_regie", "password"))
    create(bearer(fake, "la_regie"))
    assert create(bearer(fake, "admin"), domain="gouv-alias.fr", destination="x@mairie.gouv.fr").status_code == 201
    assert regie.delete("/domains/pub.fr").status_code == 204
    assert [a["domain"] for a in fake.state()["public_aliases"]] == ["gouv-alias.fr"]
    assert bearer(fake, "la_regie").get("/aliases", params={"destination": JEAN}).json() == []


def test_creation_refusals_change_nothing(fake: FakeDimail) -> None:
    api, admin = bearer(fake, "la_regie"), bearer(fake, "admin")
    before = fake.state()
    for client, body, status, detail in [
        (api, {"domain": "ghost.fr", "destination": JEAN, "description": ""}, 404, "Domain not found"),
        (api, {"domain": "pub.fr", "destination": "jean@foreign.fr", "description": ""}, 403, "Permission denied"),
        (admin, {"domain": "ghost.fr", "destination": "x@elsewhere.org", "description": ""}, 404, "Domain not found"),
    ]:
        answer = client.post("/aliases", json=body)
        assert (answer.status_code, answer.json()) == (status, {"detail": detail}), body
    assert fake.state() == before


def test_the_destination_is_not_looked_up(fake: FakeDimail) -> None:
    """Only the rights on its domain count: an address no mailbox has, or a domain this dimail does not hold."""
    created = create(bearer(fake, "la_regie"), destination="nobody@example.fr")
    assert created.status_code == 201
    assert create(bearer(fake, "admin"), destination="x@elsewhere.org").status_code == 201
    assert [a["destination"] for a in fake.state()["public_aliases"]] == ["nobody@example.fr", "x@elsewhere.org"]


def test_patch_and_delete_need_the_exact_alias_and_destination(fake: FakeDimail) -> None:
    api = bearer(fake, "la_regie")
    alias = create(api).json()["alias"]
    before = fake.state()
    for path in (f"/aliases/{alias}/other@example.fr", f"/aliases/ghost@pub.fr/{JEAN}", f"/aliases/{alias.upper()}/{JEAN}"):
        patched = api.patch(path, json={"description": "x"})
        deleted = api.delete(path)
        assert (patched.status_code, patched.json()) == (404, {"detail": "Alias not found"}), path
        assert (deleted.status_code, deleted.json()) == (404, {"detail": "Alias not found"}), path
    assert fake.state() == before


@pytest.mark.parametrize("method,path,params,body", [
    ("GET", "/aliases", {"destination": JEAN}, None),
    ("GET", "/aliases/domains", {"destination": JEAN}, None),
    ("POST", "/aliases", None, {"domain": "pub.fr", "destination": JEAN, "description": "x"}),
    ("PATCH", "/aliases/{alias}/" + JEAN, None, {"description": "x"}),
    ("DELETE", "/aliases/{alias}/" + JEAN, None, None),
])
def test_refusals(fake: FakeDimail, method: str, path: str, params: dict | None, body: dict | None) -> None:
    path = path.format(alias=create(bearer(fake, "la_regie")).json()["alias"])
    before = fake.state()
    for client, detail in [
        (fake.client(), "Not authenticated"),
        (fake.client(headers={"Authorization": "Bearer not-a-jwt"}), "Permission denied"),
        (bearer(fake, "other"), "Permission denied"),  # no allow on the destination's domain
    ]:
        answer = client.request(method, path, params=params, json=body)
        assert (answer.status_code, answer.json()) == (403, {"detail": detail})
    assert fake.state() == before


def test_no_trailing_slash(fake: FakeDimail) -> None:
    answer = bearer(fake, "la_regie").get("/aliases/", params={"destination": JEAN}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (307, "http://dimail/aliases?destination=jean%40example.fr")
