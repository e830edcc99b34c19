"""People's exact calls (PEOPLE.md §3, §4) sent with `requests` to the standalone server.

Same paths and slashes, same headers, same bodies, redirects followed as
People does; asserts the statuses People handles and the fields it reads.
The domain check calls (D2 `/check`, D3 `/fix/` and D4 `/spec/`, both through the 307) are at the end.
"""

from __future__ import annotations

import base64

import pytest
import requests

from tests.conftest import served, start_server

CREDENTIALS = base64.b64encode(b"la_regie:password").decode()  # People's default setting
BASIC = {"Authorization": f"Basic {CREDENTIALS}", "Content-Type": "application/json"}
DOMAIN = "people.example.fr"
SUB = "c0ffee00-1234-4abc-9def-0123456789ab"  # a ProConnect sub


def token(url: str, username: str | None = None) -> dict[str, str]:
    params = {"username": username} if username else None
    response = requests.get(f"{url}/token/", headers={"Authorization": f"Basic {CREDENTIALS}"}, params=params, timeout=10)
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.json()['access_token']}", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def url(empty_server: str) -> str:
    """People's setup command (S1) on an empty dimail, then domain creation (D1)."""
    setup = [
        ("Basic Og==", {"name": "admin", "password": "admin", "is_admin": True, "perms": []}),
        ("Basic " + base64.b64encode(b"admin:admin").decode(),
         {"name": "la_regie", "password": "password", "is_admin": False,
          "perms": ["new_domain", "create_users", "manage_users"]}),
    ]
    for authorization, body in setup:
        response = requests.post(f"{empty_server}/users/", json=body, headers={"Authorization": authorization}, timeout=10)
        assert response.status_code == 201, response.text
    body = {"name": DOMAIN, "context_name": DOMAIN, "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}
    created = requests.post(f"{empty_server}/domains/", json=body, headers=BASIC, timeout=10)
    assert created.status_code == 201
    assert (created.json()["name"], created.json()["state"], created.json()["context_name"]) == (DOMAIN, "new", DOMAIN)
    again = requests.post(f"{empty_server}/domains/", json=body, headers=BASIC, timeout=10)
    assert (again.status_code, again.json()) == (409, {"detail": "Domain already exists"})
    return empty_server


def test_mailbox_creation_then_duplicate_probe(url):
    payload = {"givenName": "Jean", "surName": "Dupont", "displayName": "Jean Dupont"}
    headers = token(url)
    created = requests.post(f"{url}/domains/{DOMAIN}/mailboxes/jean.dupont", json=payload, headers=headers, timeout=10)
    assert created.status_code == 201
    assert created.json()["email"] == f"jean.dupont@{DOMAIN}"
    assert len(created.json()["password"]) == 16
    # Another People mailbox with the same names: dimail crashes, People probes the address.
    clash = requests.post(f"{url}/domains/{DOMAIN}/mailboxes/jdupont", json=payload, headers=headers, timeout=10)
    assert (clash.status_code, clash.text) == (500, "Internal Server Error")
    assert clash.headers["content-type"].startswith("text/plain")
    probe = requests.get(f"{url}/domains/{DOMAIN}/address/jean.dupont/", json=payload, headers=headers, timeout=10)
    assert [r.status_code for r in probe.history] == [307]
    assert probe.status_code == 200
    assert probe.json()["ox_primary_email"] == f"jean.dupont@{DOMAIN}"


def test_login_code_reset_disable_enable(url):
    headers = token(url)
    base = f"{url}/domains/{DOMAIN}/mailboxes/marie"
    assert requests.post(base, json={"givenName": "Marie", "surName": "Curie", "displayName": "Marie Curie"},
                         headers=headers, timeout=10).status_code == 201
    code = requests.post(f"{base}/code", json={"expires_in": 3600, "maxuse": 3}, headers=token(url), timeout=10)
    assert code.status_code == 201
    assert code.json()["email"] == f"marie@{DOMAIN}"
    assert (code.json()["maxuse"], code.json()["nbuse"], code.json()["expires_in"]) == (3, 0, 3599)
    reset = requests.post(f"{base}/reset_password/", headers=token(url), timeout=10)
    assert [r.status_code for r in reset.history] == [307]
    assert reset.status_code == 200
    assert reset.json()["email"] == f"marie@{DOMAIN}" and len(reset.json()["password"]) == 16
    disabled = requests.patch(base, json={"active": "no"}, headers=token(url), timeout=10)
    assert (disabled.status_code, disabled.json()["active"]) == (200, "no")
    enabled = requests.patch(base, json={"active": "yes", "givenName": "Marie", "surName": "Curie",
                                          "displayName": "Marie Curie"}, headers=token(url), timeout=10)
    assert (enabled.status_code, enabled.json()["active"]) == (200, "yes")
    missing = requests.patch(f"{url}/domains/{DOMAIN}/mailboxes/never.created", json={"active": "yes"},
                             headers=token(url), timeout=10)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Mailbox not found"})


def test_import_listing_has_what_people_reads(url):
    # its own mailbox: the module's tests may run on different workers, each with its own server
    payload = {"givenName": "Paul", "surName": "Martin", "displayName": "Paul Martin"}
    assert requests.post(f"{url}/domains/{DOMAIN}/mailboxes/paul.martin", json=payload, headers=token(url),
                         timeout=10).status_code == 201
    listing = requests.get(f"{url}/v2/domains/{DOMAIN}/mailboxes/", headers=token(url), timeout=10)
    assert listing.status_code == 200
    by_email = {item["email"]: item for item in listing.json()}
    assert f"oxadmin@{DOMAIN}" in by_email  # People filters it out
    paul = by_email[f"paul.martin@{DOMAIN}"]
    assert "ox" in paul["features"]
    assert (paul["extras"]["ox"]["given_name"], paul["extras"]["ox"]["sur_name"]) == ("Paul", "Martin")


def test_alias_calls(url):
    aliases = f"{url}/domains/{DOMAIN}/aliases/"
    body = {"user_name": "contact", "destination": "someone@outside.com"}
    assert requests.post(aliases, json=body, headers=token(url), timeout=10).status_code == 201
    duplicate = requests.post(aliases, json=body, headers=token(url), timeout=10)
    assert (duplicate.status_code, duplicate.json()) == (409, {"detail": "Alias already exists"})
    assert requests.post(aliases, json={"user_name": "contact", "destination": "devnull@devnull"},
                         headers=token(url), timeout=10).status_code == 201
    listed = requests.get(aliases, headers=token(url), timeout=10).json()
    assert sorted((a["username"], a["destination"]) for a in listed) == [
        ("contact", "devnull@devnull"), ("contact", "someone@outside.com")]
    one = f"{url}/domains/{DOMAIN}/aliases/contact/someone@outside.com"
    assert requests.delete(one, json={}, headers=token(url), timeout=10).status_code == 204
    assert requests.delete(one, json={}, headers=token(url), timeout=10).status_code == 404  # tolerated by People
    every = f"{url}/domains/{DOMAIN}/aliases/contact/all"
    assert requests.delete(every, json={}, headers=token(url), timeout=10).status_code == 204
    assert requests.get(aliases, headers=token(url), timeout=10).json() == []


def test_era_b_user_allow_and_impersonation(url):
    user = {"name": SUB, "password": "no", "is_admin": "false", "perms": []}  # is_admin as a string
    assert requests.post(f"{url}/users/", json=user, headers=BASIC, timeout=10).status_code == 201
    assert requests.post(f"{url}/users/", json=user, headers=BASIC, timeout=10).status_code == 409
    allow = {"user": SUB, "domain": DOMAIN}
    assert requests.post(f"{url}/allows/", json=allow, headers=BASIC, timeout=10).status_code == 201
    assert requests.post(f"{url}/allows/", json=allow, headers=BASIC, timeout=10).status_code == 409
    as_user = token(url, username=SUB)
    listing = requests.get(f"{url}/domains/{DOMAIN}/mailboxes/", headers=as_user, timeout=10)
    assert listing.status_code == 200


def test_token_with_wrong_credentials_is_403(url):
    bad = base64.b64encode(b"la_regie:wrong").decode()
    response = requests.get(f"{url}/token/", headers={"Authorization": f"Basic {bad}"}, timeout=10)
    assert (response.status_code, response.json()) == (403, {"detail": "Permission denied"})


def test_people_dev_seed_works_with_peoples_default_credentials():
    process, url = start_server("--seed", "people-dev")
    try:
        assert requests.get(f"{url}/token/", headers={"Authorization": f"Basic {CREDENTIALS}"}, timeout=10).status_code == 200
        response = requests.get(f"{url}/users/", auth=("admin", "admin"), timeout=10)
        assert [u["name"] for u in response.json()] == ["admin", "la_regie"]
        assert response.json()[1]["perms"] == ["new_domain", "create_users", "manage_users"]
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- D2-D4: the domain check calls (CHECKS.md §6-§8) -------------------------------------

CHECKED = "checks.people.example.fr"  # empty simulated DNS: the fake's default
PUBLISHED = "published.people.example.fr"  # its /spec records published through /_fake/
CHECK_BLOCKS = ["domain_exist", "mx", "cname_imap", "cname_smtp", "cname_webmail", "spf", "dkim",
                "webmail_ok", "postfix", "ox", "cert"]


def people_domain(url: str, name: str) -> str:
    body = {"name": name, "context_name": name, "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}
    created = requests.post(f"{url}/domains/", json=body, headers=BASIC, timeout=10)
    assert created.status_code == 201
    return name


@pytest.fixture(scope="module")
def checked(url: str) -> str:
    return people_domain(url, CHECKED)


def check_blocks(body: dict) -> dict:
    blocks = {k: v for k, v in body.items() if isinstance(v, dict)}
    assert list(blocks) == CHECK_BLOCKS
    for name, block in blocks.items():
        assert sorted(block) == ["errors", "internal", "ok"], name
        assert type(block["ok"]) is bool and type(block["internal"]) is bool, name
        assert block["internal"] is (name in ("webmail_ok", "postfix", "ox", "cert")), name
        if not block["ok"] and not block["internal"]:
            assert block["errors"], name  # People reads errors[0].detail
    return blocks


def test_d2_check_without_slash(url, checked):
    response = requests.get(f"{url}/domains/{checked}/check", headers=BASIC, timeout=10)
    assert (response.status_code, response.history) == (200, [])
    body = response.json()
    assert (body["name"], body["state"], body["valid"]) == (checked, "broken", False)
    blocks = check_blocks(body)
    assert [name for name, block in blocks.items() if not block["ok"]] == ["domain_exist"]
    assert blocks["domain_exist"]["errors"] == [
        {"code": "must_exist", "detail": f"Le domaine {checked} n'existe pas"}]


def test_d3_fix_with_slash_follows_the_307(url, checked):
    response = requests.get(f"{url}/domains/{checked}/fix/", headers=BASIC, timeout=10)
    assert response.history[0].status_code == 307
    assert [r.status_code for r in response.history] == [307]
    assert response.history[0].headers["location"].endswith(f"/domains/{checked}/fix")
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["state"]) == (checked, "broken")  # /fix never changes the DNS
    assert [name for name, block in check_blocks(body).items() if not block["ok"]] == ["domain_exist"]


def test_d4_spec_with_slash_and_basic(url, checked):
    response = requests.get(f"{url}/domains/{checked}/spec/", headers=BASIC, timeout=10)
    assert response.history[0].status_code == 307
    assert response.status_code == 200
    spec = response.json()
    assert isinstance(spec, list) and len(spec) == 6
    assert all(isinstance(item, dict) and sorted(item) == ["target", "type", "value"] for item in spec)
    assert [(r["target"], r["type"]) for r in spec] == [
        ("", "mx"), ("dimail._domainkey", "txt"), ("imap", "cname"), ("smtp", "cname"), ("", "txt"),
        ("webmail", "cname")]
    assert spec[1]["value"].startswith("v=DKIM1; h=sha256; k=rsa; p=")
    # Stable: People may fetch it again (admin action) and must store the same config.
    again = requests.get(f"{url}/domains/{checked}/spec/", headers=BASIC, timeout=10)
    assert again.json() == spec


def test_d2_d3_once_the_spec_is_published(url):
    domain = people_domain(url, PUBLISHED)
    spec = requests.get(f"{url}/domains/{domain}/spec/", headers=BASIC, timeout=10).json()
    published = requests.post(f"{url}/_fake/dns/{domain}/publish", timeout=10)
    assert (published.status_code, published.json()) == (200, spec)
    check = requests.get(f"{url}/domains/{domain}/check", headers=BASIC, timeout=10)
    assert check.status_code == 200
    failing = {k: v for k, v in check_blocks(check.json()).items() if not v["ok"]}
    assert failing == {"cert": {"ok": False, "internal": True, "errors": [
        {"code": "no_cert", "detail": "Pas de certificat pour ce domaine (ls)"}]}}
    fixed = requests.get(f"{url}/domains/{domain}/fix/", headers=BASIC, timeout=10)
    assert ([r.status_code for r in fixed.history], fixed.status_code) == ([307], 200)
    assert (fixed.json()["state"], fixed.json()["valid"]) == ("ok", True)
    assert all(block["ok"] for block in check_blocks(fixed.json()).values())
