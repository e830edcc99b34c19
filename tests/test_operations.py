"""Each operation's answer and the state it leaves (CONTRACT.md §4)."""

from __future__ import annotations

import pytest

from fake_dimail import FakeDimail

WEBMAIL = {"name": "example.fr", "context_name": "example.fr",
           "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}


@pytest.fixture()
def fake() -> FakeDimail:
    fake = FakeDimail(seed="people-dev")
    assert fake.client(auth=("la_regie", "password")).post("/domains/", json=WEBMAIL).status_code == 201
    return fake


@pytest.fixture()
def admin(fake):
    return fake.client(auth=("admin", "admin"))


@pytest.fixture()
def api(fake):
    """la_regie's Bearer client, as People uses it."""
    return fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})


def create_mailbox(api, local, given="Jean", sur="Dupont", domain="example.fr"):
    return api.post(f"/domains/{domain}/mailboxes/{local}", json={"givenName": given, "surName": sur, "displayName": "ignored"})


# --- users -----------------------------------------------------------------------


def test_user_create_patch_delete_state(fake, admin):
    created = admin.post("/users/", json={"name": "op", "password": "p", "is_admin": "false", "perms": ["new_domain"]})
    assert created.status_code == 201
    body = created.json()
    assert list(body) == ["name", "is_admin", "uuid", "perms", "acls", "identities"]
    assert (body["name"], body["is_admin"], body["perms"], body["acls"], body["identities"]) == ("op", False, ["new_domain"], [], [])
    assert admin.get("/users/op").json() == body
    assert admin.post("/users/", json={"name": "op", "password": "x", "is_admin": False, "perms": []}).json() == {
        "detail": "User already exists"}
    patched = admin.patch("/users/op", json={"perms": ["+create_users", "-new_domain"], "identities": ["sub-1"]})
    assert (patched.json()["perms"], patched.json()["identities"]) == (["create_users"], ["sub-1"])
    assert admin.patch("/users/op", json={"perms": ["+a", "b"]}).json() == {"detail": "Cannot mix set and add/remove"}
    assert fake.backend.users["op"].perms == ["create_users"]
    assert admin.get("/users/identity/sub-1").json()["name"] == "op"
    assert admin.get("/users/identity/op").json()["name"] == "op"  # People's convention: name = sub
    assert admin.get("/users/identity/nobody").json() == {"detail": "User not found"}
    assert admin.patch("/users/ghost", json={}).json() == {"detail": "Not found"}
    admin.post("/allows/", json={"user": "op", "domain": "example.fr"})
    assert admin.delete("/users/op").status_code == 204
    assert "op" not in fake.backend.users
    assert all(user != "op" for user, _ in fake.backend.allows)
    assert admin.delete("/users/op").json() == {"detail": "Not found"}


def test_password_change_keeps_tokens_valid(fake, admin):
    admin.post("/users/", json={"name": "op", "password": "p", "is_admin": False, "perms": []})
    admin.post("/allows/", json={"user": "op", "domain": "example.fr"})
    token = fake.client(auth=("op", "p")).get("/token/").json()["access_token"]
    assert admin.patch("/users/op", json={"password": "new"}).status_code == 200
    assert fake.client(auth=("op", "p")).get("/token/").status_code == 403
    assert fake.client(auth=("op", "new")).get("/token/").status_code == 200
    old = fake.client(headers={"Authorization": f"Bearer {token}"})
    assert old.get("/domains/example.fr/mailboxes/").status_code == 200


# --- allows ------------------------------------------------------------------------


def test_allows_listing_filters_and_errors(fake, admin):
    admin.post("/users/", json={"name": "op", "password": "p", "is_admin": False, "perms": []})
    assert admin.post("/allows/", json={"user": "op", "domain": "example.fr"}).json() == {"user": "op", "domain": "example.fr"}
    everything = admin.get("/allows/").json()
    assert everything == [{"user": "la_regie", "domain": "example.fr"}, {"user": "op", "domain": "example.fr"}]
    assert admin.get("/allows/", params={"username": "op"}).json() == [{"user": "op", "domain": "example.fr"}]
    assert admin.get("/allows/", params={"user": "op"}).json() == everything  # unknown filter ignored
    assert admin.post("/allows/", json={"user": "ghost", "domain": "example.fr"}).json() == {"detail": "User not found"}
    assert admin.post("/allows/", json={"user": "op", "domain": "nope.fr"}).json() == {"detail": "Domain not found"}
    assert admin.post("/allows/", json={"user": "op", "domain": "example.fr"}).json() == {
        "detail": "Domain already allowed for this user"}
    assert admin.delete("/allows/example.fr/op").status_code == 204
    assert admin.delete("/allows/example.fr/op").json() == {
        "detail": "Queried user does not have permissions for this domain."}
    assert ("op", "example.fr") not in fake.backend.allows


# --- domains -----------------------------------------------------------------------


def test_domain_creation_body_and_context(fake, admin):
    second = admin.post("/domains/", json={**WEBMAIL, "name": "second.fr"})  # shares the example.fr context
    assert second.status_code == 201
    domain = second.json()
    assert (domain["state"], domain["valid"], domain["active"], domain["context_name"]) == ("new", False, False, "example.fr")
    assert domain["cert"] == {"ok": False, "internal": True, "errors": [{"code": "no_test", "detail": "Did not check yet"}]}
    assert domain["mx"]["internal"] is False
    assert len(fake.backend.contexts) == 1
    assert fake.backend.contexts[1].domains == ["example.fr", "second.fr"]
    bearer = fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"})
    assert bearer.get("/domains/second.fr").json()["context_name"] is None  # echoed by POST only
    refused = admin.post("/domains/", json={"name": "x.fr", "features": ["webmail"]})
    assert (refused.status_code, refused.json()) == (409, {"detail": "OX context name is mandatory for mailbox feature"})
    assert admin.post("/domains/", json=WEBMAIL).json() == {"detail": "Domain already exists"}
    plain = admin.post("/domains/", json={"name": "plain.fr", "features": ["mailbox"]}).json()
    assert (plain["context_name"], plain["features"]) == (None, ["mailbox"])
    assert [d["name"] for d in admin.get("/domains/").json()] == ["example.fr", "second.fr", "plain.fr"]


def test_domain_patch_and_delete(fake, admin, api):
    patched = admin.patch("/domains/example.fr", json={"features": ["-alias"], "imap_domain": "imap.mail.example.fr"})
    assert (patched.json()["features"], patched.json()["imap_domain"]) == (["webmail", "mailbox"], "imap.mail.example.fr")
    assert create_mailbox(api, "jean").status_code == 201
    busy = admin.patch("/domains/example.fr", json={"features": ["-mailbox"]})
    assert busy.status_code == 418
    assert fake.backend.domains["example.fr"].features == ["webmail", "mailbox"]
    assert admin.delete("/domains/example.fr").json() == {"detail": "Domain is not empty"}
    assert api.delete("/domains/example.fr/mailboxes/jean").status_code == 204
    assert admin.delete("/domains/example.fr").status_code == 204
    assert "example.fr" not in fake.backend.domains
    assert not [a for a in fake.backend.allows if a[1] == "example.fr"]


# --- mailboxes v1 -------------------------------------------------------------------


def test_mailbox_create_list_get(fake, api):
    created = create_mailbox(api, "jean.dupont")
    assert created.status_code == 201
    assert list(created.json()) == ["email", "password"]
    listing = api.get("/domains/example.fr/mailboxes/").json()
    assert listing == [
        {"type": "mailbox", "status": "ok", "active": "yes", "email": "jean.dupont@example.fr", "givenName": "Jean",
         "surName": "Dupont", "displayName": "Jean Dupont", "additionalSenders": [], "rate_limit": None},
        {"type": "mailbox", "status": "broken", "active": "unknown", "email": "oxadmin@example.fr", "givenName": "Admin",
         "surName": "Context", "displayName": "Context Admin", "additionalSenders": [], "rate_limit": None},
    ]
    assert api.get("/domains/example.fr/mailboxes/jean.dupont").json() == listing[0]
    assert api.get("/domains/example.fr/mailboxes/nobody").json() == {"detail": "Mailbox not found"}


@pytest.mark.parametrize(
    ("local", "given", "sur"),
    [("jean.dupont", "Other", "Name"),  # same address
     ("jdupont", "JEAN", "dupont"),     # same display name, case aside
     ],
)
def test_duplicate_mailbox_is_a_bare_500_and_changes_nothing(fake, api, local, given, sur):
    assert create_mailbox(api, "jean.dupont").status_code == 201
    before = repr((fake.backend.mailboxes, fake.backend.contexts))
    clash = create_mailbox(api, local, given, sur)
    assert (clash.status_code, clash.text, clash.headers["connection"]) == (500, "Internal Server Error", "close")
    assert repr((fake.backend.mailboxes, fake.backend.contexts)) == before


def test_same_local_part_on_a_shared_context_crashes_and_address_points_at_the_owner(fake, admin, api):
    admin.post("/domains/", json={**WEBMAIL, "name": "second.fr"})
    admin.post("/allows/", json={"user": "la_regie", "domain": "second.fr"})
    assert create_mailbox(api, "jean").status_code == 201
    assert create_mailbox(api, "jean", "Jeanne", "Autre", domain="second.fr").status_code == 500
    address = api.get("/domains/second.fr/address/jean").json()
    assert address == {"domain_name": "second.fr", "user_name": "jean", "is_alias": False, "is_mailbox": False,
                       "is_forward": False, "is_ox": True, "ox_primary_email": "jean@example.fr", "ox_senders": []}
    # the listing of second.fr leaks the shared context's users
    emails = [m["email"] for m in api.get("/domains/second.fr/mailboxes/").json()]
    assert emails == ["jean@example.fr", "oxadmin@example.fr"]


def test_mailbox_patch_rules(fake, admin, api):
    create_mailbox(api, "jean")
    names = api.patch("/domains/example.fr/mailboxes/jean", json={"givenName": "Jeanne", "surName": "Durand"}).json()
    assert (names["givenName"], names["surName"], names["displayName"]) == ("Jeanne", "Durand", "Jean Dupont")
    off = api.patch("/domains/example.fr/mailboxes/jean", json={"active": "no", "status": "ignored"})
    assert off.json()["active"] == "no"
    row = fake.backend.mailboxes[("example.fr", "jean")]
    assert (row.imap_active, row.smtp_active) == ("no", "no")
    assert api.patch("/domains/example.fr/mailboxes/jean", json={"active": "wait"}).json() == {"detail": "Permission denied"}
    assert api.patch("/domains/example.fr/mailboxes/jean", json={"user_name": "jd"}).json() == {"detail": "Not yet implemented"}
    assert api.patch("/domains/example.fr/mailboxes/jean", json={"domain": "nope.fr"}).json() == {"detail": "Permission denied"}
    admin_api = fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"})
    assert admin_api.patch("/domains/example.fr/mailboxes/jean", json={"domain": "nope.fr"}).json() == {
        "detail": "Target domain not found"}
    admin.post("/domains/", json={"name": "aliases.fr", "features": ["alias"]})
    assert admin_api.post("/domains/aliases.fr/mailboxes/x", json={}).status_code == 201  # feature not checked
    assert admin_api.patch("/domains/aliases.fr/mailboxes/x", json={}).json() == {
        "detail": "Feature 'mailbox' not available on the domain"}
    no_webmail = admin_api.get("/domains/aliases.fr/mailboxes/x").json()
    assert (no_webmail["status"], no_webmail["givenName"]) == ("ok", None)


def test_mailbox_on_unknown_domain_is_404_for_admin(fake):
    admin_api = fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"})
    assert admin_api.post("/domains/nope.fr/mailboxes/x", json={}).json() == {"detail": "Domain not found"}


# --- v2 -----------------------------------------------------------------------------


def test_mailbox_v2_create_patch_list(fake, api):
    body = {"features": ["ox"], "extras": {"ox": {"given_name": "Ana", "sur_name": "Lima", "display_name": "Dr Ana Lima"}}}
    assert api.post("/v2/domains/example.fr/mailboxes/ana", json=body).status_code == 201
    functional = api.post("/v2/domains/example.fr/mailboxes/noreply", json={"features": []})
    assert functional.status_code == 201
    assert api.post("/v2/domains/example.fr/mailboxes/bob", json={"features": ["ox"]}).json() == {
        "detail": "Missing extras for feature 'ox'"}
    ana = api.get("/v2/domains/example.fr/mailboxes/ana").json()
    assert (ana["features"], ana["extras"]["ox"]["display_name"], ana["dirty_quirks"]) == (
        ["ox"], "Dr Ana Lima", {"ox-config": {}})
    assert api.get("/v2/domains/example.fr/mailboxes/ana", params={"with_extras": "false"}).json()["extras"] is None
    noreply = api.get("/v2/domains/example.fr/mailboxes/noreply").json()
    assert (noreply["features"], noreply["extras"], noreply["dirty_quirks"]) == ([], {"ox": None, "schedule": None}, None)
    patched = api.patch("/v2/domains/example.fr/mailboxes/ana",
                        json={"features": ["+schedule"], "imap_active": "no", "quota": "1G"}).json()
    assert (patched["features"], patched["imap_active"], patched["smtp_active"], patched["quota"]) == (
        ["ox", "schedule"], "no", "yes", "1G")
    assert patched["extras"]["schedule"] == {"max": 12}
    removed = api.patch("/v2/domains/example.fr/mailboxes/ana", json={"features": ["-ox"], "quota": ""}).json()
    assert (removed["features"], removed["quota"]) == (["schedule"], None)
    assert "ana" not in fake.backend.contexts[1].users


# --- passwords, codes ---------------------------------------------------------------


def test_passwords(fake, api):
    password = create_mailbox(api, "jean").json()["password"]
    base = "/domains/example.fr/mailboxes/jean"
    assert api.post(f"{base}/check_password", json={"password": password}).json() is True
    reset = api.post(f"{base}/reset_password").json()
    assert reset["email"] == "jean@example.fr" and reset["password"] != password
    assert api.post(f"{base}/check_password", json={"password": password}).json() is False
    forced = api.post(f"{base}/force_password", json={"password": "chosen-one"}).json()
    assert forced == {"email": "jean@example.fr", "password": "chosen-one"}
    restored = api.post(f"{base}/force_password", json={"password": None, "restore_password": True}).json()
    assert restored == {"email": "jean@example.fr", "password": ""}
    assert api.post(f"{base}/check_password", json={"password": reset["password"]}).json() is True
    assert api.post(f"{base}/force_password", json={"password": None, "restore_password": True}).json() == {
        "detail": "No saved password"}
    assert api.post("/domains/example.fr/mailboxes/ghost/reset_password").json() == {"detail": "Mailbox not found"}


def test_login_codes(fake, api):
    now = [1_800_000_000.0]
    fake.backend.clock = lambda: now[0]
    create_mailbox(api, "jean")
    code = api.post("/domains/example.fr/mailboxes/jean/code", json={"expires_in": 3600, "maxuse": 2}).json()
    assert (code["expires_at"], code["expires_in"], code["maxuse"], code["nbuse"]) == (1_800_003_600, 3599, 2, 0)
    assert api.get(f"/code/{code['code']}").json()["nbuse"] == 1
    assert api.get(f"/code/{code['code']}").json()["nbuse"] == 2
    assert api.get(f"/code/{code['code']}").json() == {"detail": "Code not found"}
    later = api.post("/domains/example.fr/mailboxes/jean/code", json={}).json()
    assert (later["maxuse"], later["expires_in"]) == (1, 3599)
    now[0] += 3600
    assert api.get(f"/code/{later['code']}").status_code == 404
    forever = api.post("/domains/example.fr/mailboxes/jean/code", json={"expires_in": None, "maxuse": None}).json()
    assert (forever["expires_at"], forever["expires_in"], forever["maxuse"]) == (None, None, None)


# --- aliases ------------------------------------------------------------------------


def test_alias_modes(fake, api):
    aliases = "/domains/example.fr/aliases/"
    created = api.post(aliases, json={"user_name": "contact", "destination": "jean@example.fr"})
    assert (created.status_code, created.json()) == (
        201, {"username": "contact", "domain": "example.fr", "destination": "jean@example.fr", "allow_to_send": False})
    api.post(aliases, json={"user_name": "contact", "destination": "x@elsewhere.org", "allow_to_send": True})
    assert len(api.get(aliases, params={"user_name": "contact"}).json()) == 2
    assert api.get(aliases, params={"user_name": "nobody"}).json() == []
    assert api.get(aliases, params={"user_name": "contact", "destination": "no@x.org"}).json() == {"detail": "Alias not found"}
    only = api.get(aliases, params={"destination": "jean@example.fr"})
    assert (only.status_code, only.json()) == (412, {"detail": "It is forbiden to only provide the destination in a request"})
    patched = api.patch("/domains/example.fr/aliases/contact/jean@example.fr", json={"allow_to_send": True})
    assert patched.json()["allow_to_send"] is True
    assert api.get("/domains/example.fr/address/contact").json()["is_alias"] is True
    assert api.delete("/domains/example.fr/aliases/contact/all").status_code == 204
    assert api.delete("/domains/example.fr/aliases/contact/all").json() == {"detail": "Not found"}
    assert not fake.backend.aliases


def test_alias_on_unknown_domain_is_accepted_for_admin(fake):
    admin_api = fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"})
    created = admin_api.post("/domains/nope.fr/aliases/", json={"user_name": "a", "destination": "b@c.de"})
    assert created.status_code == 201
    assert ("nope.fr", "a", "b@c.de") in fake.backend.aliases


# --- HTTP conventions ----------------------------------------------------------------


def test_routing_conventions(fake, admin):
    redirect = fake.client(follow_redirects=False, auth=("admin", "admin")).post("/users", json={})
    assert (redirect.status_code, redirect.headers["location"], redirect.content) == (307, "http://dimail/users/", b"")
    assert "content-type" not in redirect.headers
    query = fake.client(follow_redirects=False).get("/allows?username=x")
    assert query.headers["location"] == "http://dimail/allows/?username=x"
    assert admin.put("/users/admin", json={}).json() == {"detail": "Method Not Allowed"}
    assert admin.head("/users/").status_code == 405
    assert admin.get("/nowhere").json() == {"detail": "Not Found"}
    deleted = admin.delete("/allows/example.fr/la_regie")
    assert (deleted.status_code, deleted.content, deleted.headers["content-type"]) == (204, b"", "application/json")
    preflight = fake.client().options("/users/", headers={"Origin": "http://people.local",
                                                           "Access-Control-Request-Method": "POST"})
    assert (preflight.status_code, preflight.text) == (200, "OK")
    assert preflight.headers["access-control-allow-origin"] == "http://people.local"
    assert preflight.headers["access-control-allow-methods"] == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"


def test_two_fakes_share_nothing():
    one, two = FakeDimail(seed="people-dev"), FakeDimail()
    assert one.client(auth=("la_regie", "password")).post("/domains/", json=WEBMAIL).status_code == 201
    assert two.backend.domains == {} and two.backend.users == {}
    one.reset()
    assert one.backend.domains == {} and list(one.backend.users) == ["admin", "la_regie"]
