"""`/my/…`: what a token's API user sees, following its allows (CONTRACT.md §4.17), through HTTP."""

from __future__ import annotations

import pytest

from fake_dimail import FakeDimail

MY = ("/my/domains", "/my/mailboxes", "/my/aliases", "/my/resources")


@pytest.fixture()
def fake() -> FakeDimail:
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("example.fr", allowed=["la_regie"])
    fake.add_domain("other.fr", allowed=["la_regie"])
    fake.add_user("sub-1")
    return fake


def bearer(fake: FakeDimail, user: str):
    return fake.client(headers={"Authorization": f"Bearer {fake.token(user)}"})


def everything(client) -> dict[str, object]:
    return {path: client.get(path).json() for path in MY}


def test_life_cycle_follows_allows_mailboxes_and_aliases(fake):
    regie, admin = bearer(fake, "la_regie"), fake.client(auth=("admin", "admin"))
    user = bearer(fake, "sub-1")
    assert everything(user) == {"/my/domains": [], "/my/mailboxes": [], "/my/aliases": [],
                                "/my/resources": {"aliases": [], "domains": [], "mailboxes": []}}

    assert admin.post("/allows/", json={"user": "sub-1", "domain": "example.fr"}).status_code == 201
    jean, marie = {"givenName": "Jean", "surName": "Dupont"}, {"givenName": "Marie", "surName": "Curie"}
    assert regie.post("/domains/example.fr/mailboxes/jean", json=jean).status_code == 201
    assert regie.post("/v2/domains/example.fr/mailboxes/func", json={"features": []}).status_code == 201
    assert regie.post("/domains/other.fr/mailboxes/marie", json=marie).status_code == 201
    for domain, local, destination in [("example.fr", "contact", "jean@example.fr"),
                                       ("example.fr", "contact", "func@example.fr"),
                                       ("example.fr", "info", "x@y.fr"), ("other.fr", "info", "x@y.fr")]:
        alias = {"user_name": local, "destination": destination}
        assert regie.post(f"/domains/{domain}/aliases/", json=alias).status_code == 201

    # Only what example.fr holds: the Dovecot mailboxes (no oxadmin), each alias address once.
    assert everything(user) == {
        "/my/domains": ["example.fr"],
        "/my/mailboxes": ["jean@example.fr", "func@example.fr"],
        "/my/aliases": ["contact@example.fr", "info@example.fr"],
        "/my/resources": {"aliases": ["contact@example.fr", "info@example.fr"], "domains": ["example.fr"],
                          "mailboxes": ["jean@example.fr", "func@example.fr"]},
    }
    # la_regie, a manager, sees the domains it is allowed on, in domain order.
    assert regie.get("/my/domains").json() == ["example.fr", "other.fr"]
    assert regie.get("/my/mailboxes").json() == ["jean@example.fr", "func@example.fr", "marie@other.fr"]
    # An admin sees every domain, allowed or not.
    fake.add_domain("nobody.fr")
    assert bearer(fake, "admin").get("/my/domains").json() == ["example.fr", "other.fr", "nobody.fr"]

    # Deleting rows and revoking the allow are seen at once (rights re-read at every request).
    assert regie.delete("/domains/example.fr/aliases/contact/all").status_code == 204
    assert regie.delete("/domains/example.fr/mailboxes/jean").status_code == 204
    assert user.get("/my/resources").json() == {"aliases": ["info@example.fr"], "domains": ["example.fr"],
                                                 "mailboxes": ["func@example.fr"]}
    assert admin.delete("/allows/example.fr/sub-1").status_code == 204
    assert user.get("/my/resources").json() == {"aliases": [], "domains": [], "mailboxes": []}
    # Reading changed nothing.
    state = fake.state()
    assert [a for a in state["allows"] if a["user"] == "sub-1"] == []
    assert {(m["domain"], m["local"]) for m in state["mailboxes"]} == {("example.fr", "func"), ("other.fr", "marie")}


@pytest.mark.parametrize("path", MY)
def test_refusals(fake, path):
    anonymous = fake.client()
    answer = anonymous.get(path)
    assert (answer.status_code, answer.json()) == (403, {"detail": "Not authenticated"})
    answer = fake.client(headers={"Authorization": "Bearer not.a.jwt"}).get(path)
    assert (answer.status_code, answer.json()) == (403, {"detail": "Permission denied"})
    # A Bearer route refuses Basic credentials, even right ones.
    answer = fake.client(auth=("la_regie", "password")).get(path)
    assert (answer.status_code, answer.json()) == (403, {"detail": "Invalid authentication credentials"})
    # A token whose user is gone.
    token = fake.token("sub-1")
    assert fake.client(auth=("admin", "admin")).delete("/users/sub-1").status_code == 204
    answer = fake.client(headers={"Authorization": f"Bearer {token}"}).get(path)
    assert (answer.status_code, answer.json()) == (403, {"detail": "Permission denied"})


def test_no_allow_sees_nothing_of_other_domains(fake):
    """Not a refusal: `my/` lists what the user may see, which without an allow is nothing."""
    fake.add_mailbox("example.fr", "jean")
    fake.add_alias("example.fr", "contact", "jean@example.fr")
    fake.add_user("sub-2")
    fake.allow("sub-2", "other.fr")
    assert everything(bearer(fake, "sub-2")) == {
        "/my/domains": ["other.fr"], "/my/mailboxes": [], "/my/aliases": [],
        "/my/resources": {"aliases": [], "domains": ["other.fr"], "mailboxes": []}}


def test_public_aliases_of_an_allowed_domain_are_listed_after_its_aliases(fake):
    regie = fake.client(auth=("la_regie", "password"))
    assert regie.post("/domains/", json={"name": "pub.fr", "features": ["alias"], "public_alias": True}).status_code == 201
    fake.add_mailbox("example.fr", "jean")
    fake.add_alias("pub.fr", "contact", "jean@example.fr")
    created = bearer(fake, "la_regie").post(
        "/aliases", json={"domain": "pub.fr", "destination": "jean@example.fr", "description": "shop"})
    assert created.status_code == 201
    fake.allow("sub-1", "pub.fr")
    assert bearer(fake, "sub-1").get("/my/aliases").json() == ["contact@pub.fr", created.json()["alias"]]


def test_mailboxes_linked_to_the_users_identities_come_after_its_domains(fake):
    password = fake.add_mailbox("other.fr", "marie", given_name="Marie", sur_name="Curie")
    fake.add_mailbox("example.fr", "jean")
    fake.allow("sub-1", "example.fr")
    regie = bearer(fake, "la_regie")
    # sub-1's name is its ProConnect sub (People's convention); an explicit identity counts too.
    for proconnect in ("sub-1", "pc-42"):
        linked = regie.post("/identities", json={"proconnect": proconnect, "email": "marie@other.fr",
                                                 "password": password})
        assert linked.status_code == 201, linked.text
    user = bearer(fake, "sub-1")
    assert user.get("/my/mailboxes").json() == ["jean@example.fr", "marie@other.fr"]
    assert user.get("/my/domains").json() == ["example.fr"]  # a linked mailbox gives no right on its domain
    fake.add_user("sub-2")
    assert fake.client(auth=("admin", "admin")).patch("/users/sub-2", json={"identities": ["pc-42"]}).status_code == 200
    assert bearer(fake, "sub-2").get("/my/resources").json() == {
        "aliases": [], "domains": [], "mailboxes": ["marie@other.fr"]}
    assert regie.delete("/identities/pc-42/marie@other.fr").status_code == 204
    assert bearer(fake, "sub-2").get("/my/mailboxes").json() == []
