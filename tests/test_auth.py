"""Every refusal of the permission model: status, detail, header (CONTRACT.md §2, §3)."""

from __future__ import annotations

import base64
import time

import jwt
import pytest

from fake_dimail import FakeDimail, Settings

PEOPLE_DOMAIN = {"name": "example.fr", "context_name": "example.fr",
                 "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}


@pytest.fixture()
def fake() -> FakeDimail:
    fake = FakeDimail(seed="people-dev")
    regie = fake.client(auth=("la_regie", "password"))
    assert regie.post("/domains/", json=PEOPLE_DOMAIN).status_code == 201
    assert regie.post("/users/", json={"name": "owner", "password": "no", "is_admin": False, "perms": []}).status_code == 201
    assert regie.post("/allows/", json={"user": "owner", "domain": "example.fr"}).status_code == 201
    admin = fake.client(auth=("admin", "admin"))
    assert admin.post("/users/", json={"name": "stranger", "password": "s", "is_admin": False, "perms": []}).status_code == 201
    assert admin.post("/domains/", json={**PEOPLE_DOMAIN, "name": "other.fr", "context_name": "other.fr"}).status_code == 201
    return fake


def bearer(fake: FakeDimail, user: str):
    return fake.client(headers={"Authorization": f"Bearer {fake.token(user)}"})


def raw(fake: FakeDimail, authorization: str | None):
    return fake.client(headers={"Authorization": authorization} if authorization is not None else {})


# --- Basic routes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "status", "detail"),
    [
        (None, 401, "Not authenticated"),
        ("Bearer abc", 401, "Not authenticated"),
        ("Basic !!!notbase64", 401, "Invalid authentication credentials"),
        ("Basic " + base64.b64encode(b"nocolon").decode(), 401, "Invalid authentication credentials"),
        ("Basic " + base64.b64encode("admin:pässword".encode()).decode(), 401, "Invalid authentication credentials"),
        ("Basic " + base64.b64encode(b"admin:wrong").decode(), 403, "Permission denied"),
        ("Basic " + base64.b64encode(b"ghost:x").decode(), 403, "Permission denied"),
        ("Basic " + base64.b64encode(b"owner:no").decode(), 403, "Permission denied"),
        ("Basic Og==", 403, "Permission denied"),
    ],
)
def test_basic_refusals(fake, authorization, status, detail):
    response = raw(fake, authorization).get("/users/")
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    expected_challenge = "Basic" if status == 401 else None
    assert response.headers.get("www-authenticate") == expected_challenge


def test_basic_scheme_name_is_case_insensitive(fake):
    response = raw(fake, "basic " + base64.b64encode(b"admin:admin").decode()).get("/users/")
    assert response.status_code == 200


# --- Bearer routes ----------------------------------------------------------------


def _token(secret: str, **claims) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize(
    ("make_header", "detail"),
    [
        (lambda s: None, "Not authenticated"),
        (lambda s: "Bearer", "Not authenticated"),
        (lambda s: "Token abc", "Invalid authentication credentials"),
        (lambda s: "Basic " + base64.b64encode(b"admin:admin").decode(), "Invalid authentication credentials"),
        (lambda s: "Bearer not-a-jwt", "Permission denied"),
        (lambda s: "Bearer " + _token(s, sub="admin", exp=int(time.time()) - 10), "Permission denied"),
        (lambda s: "Bearer " + _token("another-secret-long-enough-for-hs256", sub="admin", exp=int(time.time()) + 60), "Permission denied"),
        (lambda s: "Bearer " + jwt.encode({"sub": "admin", "exp": int(time.time()) + 60}, None, algorithm="none"),
         "Permission denied"),
        (lambda s: "Bearer " + _token(s, sub="ghost", exp=int(time.time()) + 60), "Permission denied"),
        (lambda s: "Bearer " + _token(s, sub="admin"), "Permission denied"),
        (lambda s: "Bearer " + _token(s, exp=int(time.time()) + 60), "Permission denied"),
    ],
    ids=["none", "empty", "token-scheme", "basic", "garbage", "expired", "other-secret", "alg-none", "unknown-user",
         "no-exp", "no-sub"],
)
def test_bearer_refusals_are_403_without_challenge(fake, make_header, detail):
    response = raw(fake, make_header(fake.settings.jwt_secret)).get("/domains/example.fr/mailboxes/")
    assert (response.status_code, response.json()) == (403, {"detail": detail})
    assert "www-authenticate" not in response.headers


def test_bearer_401_switch_changes_only_the_framework_rows():
    fake = FakeDimail(Settings(bearer_401=True), seed="people-dev")
    missing = raw(fake, None).get("/domains/example.fr/mailboxes/")
    assert (missing.status_code, missing.json()) == (401, {"detail": "Not authenticated"})
    assert missing.headers["www-authenticate"] == "Bearer"
    garbage = raw(fake, "Bearer not-a-jwt").get("/domains/example.fr/mailboxes/")
    assert (garbage.status_code, garbage.json()) == (403, {"detail": "Permission denied"})


def test_odd_tokens_crash_only_behind_the_switch(fake):
    fake_crashing = FakeDimail(Settings(crash_on_odd_tokens=True), seed="people-dev")
    no_exp = "Bearer " + _token(fake_crashing.settings.jwt_secret, sub="admin")
    basic_route = raw(fake_crashing, no_exp).get("/domains/")  # a token is no Basic credential at all
    assert (basic_route.status_code, basic_route.json()) == (401, {"detail": "Not authenticated"})
    crash = raw(fake_crashing, no_exp).get("/domains/x/mailboxes/")
    assert (crash.status_code, crash.text) == (500, "Internal Server Error")
    assert crash.headers["content-type"] == "text/plain; charset=utf-8"
    lower = raw(fake_crashing, "bearer " + fake_crashing.token("admin")).get("/domains/x/mailboxes/")
    assert lower.status_code == 500
    assert raw(fake, "bearer " + fake.token("admin")).get("/domains/example.fr/mailboxes/").status_code == 200


def test_deleted_user_token_stops_working(fake):
    client = bearer(fake, "stranger")
    assert fake.client(auth=("admin", "admin")).delete("/users/stranger").status_code == 204
    response = client.get("/domains/example.fr/mailboxes/")
    assert (response.status_code, response.json()) == (403, {"detail": "Permission denied"})


# --- bootstrap ----------------------------------------------------------------------


def test_bootstrap_accepts_any_credentials_until_the_first_user():
    fake = FakeDimail()
    anyone = fake.client(headers={"Authorization": "Basic Og=="})
    assert anyone.get("/users/").json() == []
    token = anyone.get("/token/").json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == "FAKE"
    useless = fake.client(headers={"Authorization": f"Bearer {token}"}).get("/domains/x/mailboxes/")
    assert (useless.status_code, useless.json()) == (403, {"detail": "Permission denied"})
    created = anyone.post("/users/", json={"name": "admin", "password": "admin", "is_admin": True, "perms": []})
    assert created.status_code == 201
    assert anyone.get("/users/").status_code == 403
    assert fake.client(auth=("admin", "admin")).get("/users/").status_code == 200
    assert fake.client(auth=("admin", "admin")).delete("/users/admin").status_code == 204
    assert anyone.get("/users/").json() == []  # the last user gone: bootstrap again


def test_non_admin_first_user_locks_admin_routes():
    fake = FakeDimail()
    anyone = fake.client(auth=("x", "y"))
    assert anyone.post("/users/", json={"name": "first", "password": "p", "is_admin": False, "perms": []}).status_code == 201
    assert fake.client(auth=("first", "p")).get("/users/").status_code == 403
    assert anyone.get("/users/").status_code == 403


# --- perms and allows ---------------------------------------------------------------


def test_user_without_perm_is_refused_everywhere(fake):
    stranger = fake.client(auth=("stranger", "s"))
    for method, path, body in [
        ("GET", "/users/", None),
        ("POST", "/users/", {"name": "n", "password": "p", "is_admin": False, "perms": []}),
        ("GET", "/allows/", None),
        ("POST", "/allows/", {"user": "stranger", "domain": "example.fr"}),
        ("GET", "/domains/", None),
        ("POST", "/domains/", {**PEOPLE_DOMAIN, "name": "mine.fr"}),
        ("DELETE", "/allows/example.fr/owner", None),
        ("PATCH", "/users/owner", {"perms": []}),
        ("DELETE", "/users/owner", None),
    ]:
        response = stranger.request(method, path, json=body)
        assert (response.status_code, response.json()) == (403, {"detail": "Permission denied"}), (method, path)
    assert "mine.fr" not in fake.backend.domains
    assert "n" not in fake.backend.users
    assert ("owner", "example.fr") in fake.backend.allows


def test_domain_rights_follow_allows(fake):
    owner, stranger = bearer(fake, "owner"), bearer(fake, "stranger")
    assert owner.get("/domains/example.fr/mailboxes/").status_code == 200
    refused = stranger.get("/domains/example.fr/mailboxes/")
    assert (refused.status_code, refused.json()) == (403, {"detail": "Permission denied"})
    typo = stranger.post("/domains/example.fr/mailboxes/jean", json={})
    assert (typo.status_code, typo.json()) == (403, {"detail": "Permisison denied"})
    # GET /domains/{d}: existence first (404), then 401 "Not authorized."
    assert stranger.get("/domains/nope.fr").json() == {"detail": "Domain not found"}
    unauthorized = stranger.get("/domains/example.fr")
    assert (unauthorized.status_code, unauthorized.json()) == (401, {"detail": "Not authorized."})
    assert "www-authenticate" not in unauthorized.headers
    # the right check comes before existence on mailbox routes
    assert stranger.get("/domains/nope.fr/mailboxes/").status_code == 403
    assert bearer(fake, "admin").get("/domains/nope.fr/mailboxes/").json() == {"detail": "Domain not found"}
    # a new allow works at once on the token already issued
    assert fake.client(auth=("admin", "admin")).post("/allows/", json={"user": "stranger", "domain": "example.fr"}).status_code == 201
    assert stranger.get("/domains/example.fr/mailboxes/").status_code == 200


def test_la_regie_manages_what_it_created_only(fake):
    regie = fake.client(auth=("la_regie", "password"))
    assert ("la_regie", "example.fr") in fake.backend.allows
    assert regie.get("/domains/").json()[0]["name"] == "example.fr"
    assert [d["name"] for d in regie.get("/domains/").json()] == ["example.fr"]
    refused = regie.post("/allows/", json={"user": "owner", "domain": "other.fr"})
    assert (refused.status_code, refused.json()) == (403, {"detail": "Permission denied"})
    assert regie.patch("/domains/other.fr", json={}).status_code == 403
    assert regie.patch("/domains/nope.fr", json={}).json() == {"detail": "Domain not found"}
    # create_users: only non-admin users, only with perms it holds
    assert regie.post("/users/", json={"name": "boss", "password": "p", "is_admin": True, "perms": []}).status_code == 403
    assert regie.post("/users/", json={"name": "x", "password": "p", "is_admin": False, "perms": ["root"]}).status_code == 403
    assert [u["name"] for u in regie.get("/users/").json()] == ["la_regie", "owner"]


def test_impersonation_managed_vs_unmanaged(fake):
    regie = fake.client(auth=("la_regie", "password"))
    managed = regie.get("/token/", params={"username": "owner"})
    assert managed.status_code == 200
    assert jwt.decode(managed.json()["access_token"], options={"verify_signature": False})["sub"] == "owner"
    unmanaged = regie.get("/token/", params={"username": "stranger"})
    assert (unmanaged.status_code, unmanaged.json()) == (403, {"detail": "Permission denied"})
    unknown = regie.get("/token/", params={"username": "ghost"})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "User not found"})
    admin = fake.client(auth=("admin", "admin")).get("/token/", params={"username": "stranger"})
    assert admin.status_code == 200
    # a manager losing manage_users loses its users
    assert fake.client(auth=("admin", "admin")).patch("/users/la_regie", json={"perms": ["-manage_users"]}).status_code == 200
    assert regie.get("/token/", params={"username": "owner"}).status_code == 403


def test_token_claims_and_lifetime(fake):
    token = fake.client(auth=("la_regie", "password")).get("/token/").json()
    assert token["token_type"] == "bearer"
    claims = jwt.decode(token["access_token"], fake.settings.jwt_secret, algorithms=["HS256"])
    assert set(claims) == {"sub", "exp"}
    assert claims["sub"] == "la_regie"
    assert abs(claims["exp"] - (time.time() + 47 * 60)) < 5


def test_a_token_verified_before_is_refused_once_it_expires(fake, monkeypatch):
    from fake_dimail import security

    token = _token(fake.settings.jwt_secret, sub="admin", exp=int(time.time()) + 60)
    client = raw(fake, "Bearer " + token)
    assert client.get("/domains/example.fr/mailboxes/").status_code == 200  # verified, and remembered
    assert (fake.settings.jwt_secret, token) in security._VERIFIED
    monkeypatch.setattr(security.time, "time", lambda: 10.0**10)
    refused = client.get("/domains/example.fr/mailboxes/")
    assert (refused.status_code, refused.json()) == (403, {"detail": "Permission denied"})
