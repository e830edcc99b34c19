"""People compatibility: each call People sends (PEOPLE.md §4), as People sends it, with the fields it reads.

A dimail release that breaks People fails here with the call's id (T, D1…A4,
U1, U2) and the missing status or field in the message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from provisioner.provisioner import PEOPLE_FEATURES

from .expect import ContractBroken, body, fields, redirected, status
from .target import Target

pytestmark = pytest.mark.contract("people")

TOKEN = ("GET", "/token/")
D1 = ("POST", "/domains/")
D2 = ("GET", "/domains/{domain_name}/check")
D3 = ("GET", "/domains/{domain_name}/fix")
D4 = ("GET", "/domains/{domain_name}/spec")
M1 = ("POST", "/domains/{domain_name}/mailboxes/{user_name}")
M2 = ("GET", "/domains/{domain_name}/address/{user_name}")
M3 = ("POST", "/domains/{domain_name}/mailboxes/{user_name}/code")
M4 = ("POST", "/domains/{domain_name}/mailboxes/{user_name}/reset_password")
M5 = ("PATCH", "/domains/{domain_name}/mailboxes/{user_name}")
M7 = ("GET", "/v2/domains/{domain_name}/mailboxes/")
A1 = ("POST", "/domains/{domain_name}/aliases/")
A2 = ("DELETE", "/domains/{domain_name}/aliases/{user_name}/{destination}")
A4 = ("GET", "/domains/{domain_name}/aliases/")
U1 = ("POST", "/users/")
U2 = ("POST", "/allows/")
NAMES = {"givenName": "Jeanne", "surName": "Contrat", "displayName": "Jeanne Contrat"}


def as_people(dimail_target: Target) -> httpx.Client:
    return dimail_target.http(auth=dimail_target.people)


def bearer(dimail_target: Target) -> httpx.Client:
    """A fresh token per operation, as People does (T before each Bearer call)."""
    with as_people(dimail_target) as http:
        answer = http.get("/token/")
    status(answer, 200, "T GET /token/")
    return dimail_target.http(bearer=body(answer, "T GET /token/")["access_token"])


@pytest.fixture(scope="module")
def domain(dimail_target: Target) -> str:
    """D1 exactly as People sends it."""
    if dimail_target.lacks(D1):
        pytest.skip("the target does not declare POST /domains/")
    name = dimail_target.name("domain")
    with as_people(dimail_target) as http:
        answer = http.post("/domains/", json={"name": name, "context_name": name, "features": PEOPLE_FEATURES,
                                              "delivery": "virtual"})
    status(answer, 201, "D1 POST /domains/", "People accepts 201 only")
    dimail_target.created_domains.append(name)
    return name


@pytest.fixture(scope="module")
def mailbox(dimail_target: Target, domain: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if dimail_target.lacks(M1):
        pytest.skip("the target does not declare POST /domains/{domain_name}/mailboxes/{user_name}")
    with bearer(dimail_target) as http:
        answer = http.post(f"/domains/{domain}/mailboxes/jeanne", json=NAMES)
    status(answer, 201, "M1 POST /domains/{d}/mailboxes/{local}")
    yield "jeanne", body(answer, "M1")


# --- T, D1-D4 ---------------------------------------------------------------------------


@pytest.mark.dimail_needs(TOKEN)
def test_t_token_gives_access_token(dimail_target: Target) -> None:
    with as_people(dimail_target) as http:
        answer = http.get("/token/")
    status(answer, 200, "T GET /token/")
    fields(body(answer, "T"), {"access_token": "str"}, "T GET /token/")


@pytest.mark.dimail_needs(TOKEN)
def test_t_wrong_credentials_are_403(dimail_target: Target) -> None:
    """People turns a 403 into its own 403 pointing at the credentials setting; a 401 would become a 500."""
    with dimail_target.http(auth=(dimail_target.people[0], dimail_target.people[1] + "-wrong")) as http:
        answer = http.get("/token/")
    status(answer, 403, "T GET /token/ with a wrong password", "People maps 403 to a credentials error")


@pytest.mark.dimail_needs(D1)
def test_d1_duplicate_domain_is_refused(dimail_target: Target, domain: str) -> None:
    with as_people(dimail_target) as http:
        answer = http.post("/domains/", json={"name": domain, "context_name": domain, "features": PEOPLE_FEATURES,
                                              "delivery": "virtual"})
    status(answer, 409, "D1 POST /domains/ a second time")


@pytest.mark.dimail_needs(D2)
def test_d2_check_has_what_people_reads(dimail_target: Target, domain: str) -> None:
    with as_people(dimail_target) as http:
        answer = http.get(f"/domains/{domain}/check")
    status(answer, 200, "D2 GET /domains/{d}/check")
    _check_body(body(answer, "D2"), "D2 GET /domains/{d}/check")


def _check_body(value: Any, call: str) -> None:
    fields(value, {"state": "str"}, call)
    if value["state"] not in ("new", "ok", "broken"):
        raise ContractBroken(f"{call}: `state` is {value['state']!r}, People knows new, ok, broken")
    blocks = {k: v for k, v in value.items() if isinstance(v, dict)}
    if not blocks:
        raise ContractBroken(f"{call}: no check block (object-valued entry) in the answer: People sees no check")
    for name, block in blocks.items():
        fields(block, {"internal": "bool", "ok": "bool"}, f"{call} `{name}`")
        if not block["internal"] and not block["ok"]:
            fields(block, {"errors": "list"}, f"{call} `{name}`")
            if not block["errors"]:
                raise ContractBroken(f"{call} `{name}`: failing external check without errors: People reads "
                                     "errors[0].detail")
            fields(block["errors"][0], {"detail": "str"}, f"{call} `{name}`.errors[0]")


@pytest.mark.dimail_needs(D3)
def test_d3_fix_through_the_redirect(dimail_target: Target, domain: str) -> None:
    with as_people(dimail_target) as http:
        answer = http.get(f"/domains/{domain}/fix/")
    redirected(answer, "D3 GET /domains/{d}/fix/")
    status(answer, 200, "D3 GET /domains/{d}/fix/")
    _check_body(body(answer, "D3"), "D3 GET /domains/{d}/fix/")


@pytest.mark.dimail_needs(D4)
def test_d4_spec_through_the_redirect(dimail_target: Target, domain: str) -> None:
    with as_people(dimail_target) as http:
        answer = http.get(f"/domains/{domain}/spec/")
    redirected(answer, "D4 GET /domains/{d}/spec/")
    status(answer, 200, "D4 GET /domains/{d}/spec/")
    records = body(answer, "D4")
    if not isinstance(records, list) or not records:
        raise ContractBroken(f"D4 GET /domains/{{d}}/spec/: expected a non-empty list of records, got {records!r}")
    for record in records:
        fields(record, {"target": "str", "type": "str", "value": "str"}, "D4 GET /domains/{d}/spec/ item")


# --- M1-M7 ---------------------------------------------------------------------------------


def test_m1_mailbox_creation_gives_the_password(dimail_target: Target, domain: str, mailbox: tuple[str, Any]) -> None:
    local, created = mailbox
    fields(created, {"email": "str", "password": "str"}, "M1 POST /domains/{d}/mailboxes/{local}")
    if created["email"] != f"{local}@{domain}":
        raise ContractBroken(f"M1: `email` is {created['email']!r}, expected {local}@{domain}")


@pytest.mark.dimail_needs(M2)
def test_m1_duplicate_is_a_500_and_m2_names_the_holder(dimail_target: Target, domain: str,
                                                       mailbox: tuple[str, Any]) -> None:
    """People recognises a duplicate by the 500 alone, then probes the address (a GET with M1's body)."""
    local, _ = mailbox
    with bearer(dimail_target) as http:
        again = http.post(f"/domains/{domain}/mailboxes/{local}", json=NAMES)
        status(again, 500, "M1 POST /domains/{d}/mailboxes/{local} a second time",
               "People probes the address (M2) only after a 500")
        probe = http.request("GET", f"/domains/{domain}/address/{local}/", json=NAMES)
    redirected(probe, "M2 GET /domains/{d}/address/{local}/")
    status(probe, 200, "M2 GET /domains/{d}/address/{local}/")
    fields(body(probe, "M2"), {"ox_primary_email": "str|null"}, "M2 GET /domains/{d}/address/{local}/")


@pytest.mark.dimail_needs(M3)
def test_m3_login_code(dimail_target: Target, domain: str, mailbox: tuple[str, Any]) -> None:
    with bearer(dimail_target) as http:
        answer = http.post(f"/domains/{domain}/mailboxes/{mailbox[0]}/code", json={"expires_in": 3600, "maxuse": 3})
    status(answer, range(200, 300), "M3 POST /domains/{d}/mailboxes/{local}/code", "People accepts any 2xx")
    fields(body(answer, "M3"), {"code": "str"}, "M3 POST /domains/{d}/mailboxes/{local}/code")


@pytest.mark.dimail_needs(M4)
def test_m4_password_reset_through_the_redirect(dimail_target: Target, domain: str, mailbox: tuple[str, Any]) -> None:
    with bearer(dimail_target) as http:
        answer = http.post(f"/domains/{domain}/mailboxes/{mailbox[0]}/reset_password/")
    redirected(answer, "M4 POST /domains/{d}/mailboxes/{local}/reset_password/")
    status(answer, 200, "M4 POST /domains/{d}/mailboxes/{local}/reset_password/", "People accepts 200 only")
    fields(body(answer, "M4"), {"email": "str", "password": "str"}, "M4 …/reset_password/")


@pytest.mark.dimail_needs(M5, M7)
def test_m5_m6_disable_enable_and_m7_listing(dimail_target: Target, domain: str, mailbox: tuple[str, Any]) -> None:
    local = mailbox[0]
    with bearer(dimail_target) as http:
        status(http.patch(f"/domains/{domain}/mailboxes/{local}", json={"active": "no"}), 200,
               "M5 PATCH /domains/{d}/mailboxes/{local} {active: no}", "People accepts 200 only")
    with bearer(dimail_target) as http:
        status(http.patch(f"/domains/{domain}/mailboxes/{local}", json={"active": "yes", **NAMES}), 200,
               "M6 PATCH /domains/{d}/mailboxes/{local} {active: yes}", "People accepts 200 only")
    with bearer(dimail_target) as http:
        answer = http.get(f"/v2/domains/{domain}/mailboxes/")
    status(answer, 200, "M7 GET /v2/domains/{d}/mailboxes/")
    items = {item.get("email"): item for item in body(answer, "M7")}
    item = items.get(f"{local}@{domain}")
    if item is None:
        raise ContractBroken(f"M7 GET /v2/domains/{{d}}/mailboxes/: {local}@{domain} is not listed: {sorted(items)}")
    fields(item, {"email": "str", "features": "list", "extras.ox.given_name": "str", "extras.ox.sur_name": "str"},
           "M7 item")
    if "ox" not in item["features"]:
        raise ContractBroken(f"M7 item: `features` {item['features']} lacks \"ox\": People would skip the import")


# --- A1-A4 --------------------------------------------------------------------------------


@pytest.mark.dimail_needs(A1, A2, A4)
def test_a1_a4_a2_alias_life(dimail_target: Target, domain: str) -> None:
    destination = f"someone@{domain}"
    with bearer(dimail_target) as http:
        status(http.post(f"/domains/{domain}/aliases/", json={"user_name": "contact", "destination": destination}),
               201, "A1 POST /domains/{d}/aliases/")
    with bearer(dimail_target) as http:
        status(http.post(f"/domains/{domain}/aliases/", json={"user_name": "contact", "destination": destination}),
               409, "A1 POST /domains/{d}/aliases/ a second time", "People reports 'out of sync' on 409")
    with bearer(dimail_target) as http:
        answer = http.get(f"/domains/{domain}/aliases/")
    status(answer, 200, "A4 GET /domains/{d}/aliases/")
    listed = body(answer, "A4")
    for item in listed:
        fields(item, {"username": "str", "destination": "str"}, "A4 item")
    if ("contact", destination) not in {(a["username"], a["destination"]) for a in listed}:
        raise ContractBroken(f"A4: the alias contact -> {destination} is not listed: {listed}")
    with bearer(dimail_target) as http:
        status(http.request("DELETE", f"/domains/{domain}/aliases/contact/{destination}", json={}), 204,
               "A2 DELETE /domains/{d}/aliases/{local}/{destination}")
        status(http.request("DELETE", f"/domains/{domain}/aliases/contact/{destination}", json={}), (204, 404),
               "A2 DELETE a second time", "People tolerates 404 only")


# --- U1, U2 and impersonation (era B) ---------------------------------------------------


@pytest.mark.dimail_needs(U1, U2)
def test_u1_u2_user_and_allow_as_people_sends_them(dimail_target: Target, domain: str) -> None:
    sub = dimail_target.name("user")
    with as_people(dimail_target) as http:
        # `is_admin` is the string "false" in People's body
        created = http.post("/users/", json={"name": sub, "password": "no", "is_admin": "false", "perms": []})
        status(created, 201, "U1 POST /users/ with is_admin \"false\"")
        dimail_target.created_users.append(sub)
        status(http.post("/users/", json={"name": sub, "password": "no", "is_admin": "false", "perms": []}),
               409, "U1 POST /users/ a second time", "People treats 409 as done")
        status(http.post("/allows/", json={"user": sub, "domain": domain}), 201, "U2 POST /allows/")
        status(http.post("/allows/", json={"user": sub, "domain": domain}), 409, "U2 POST /allows/ a second time",
               "People treats 409 as done")
        impersonated = http.get("/token/", params={"username": sub})
    status(impersonated, 200, "GET /token/?username=<sub> by People's user, which manages the user")
    fields(body(impersonated, "T?username"), {"access_token": "str"}, "GET /token/?username=<sub>")
