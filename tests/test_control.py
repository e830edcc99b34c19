"""The fake's control plane under `/_fake/` (CHECKS.md §9), over HTTP and through `FakeDimail`.

Simulated DNS zones (GET/PUT/DELETE, presets), dimail's side of a domain
(GET/PATCH platform) and their effect on `/check` and `/fix`, the OpenAPI
tag, and the Python steering methods that must answer as the HTTP calls do.
"""

from __future__ import annotations

import httpx
import pydantic
import pytest
from pydantic import ValidationError

from fake_dimail import FakeDimail
from fake_dimail.errors import ApiError

DOMAIN = "example.fr"
PEOPLE_DOMAIN = {"name": DOMAIN, "context_name": DOMAIN, "features": ["webmail", "mailbox", "alias"],
                 "delivery": "virtual"}
# The Domain object's keys (CHECKS.md §10): nothing of the control plane may appear among them.
DOMAIN_KEYS = [
    "name", "state", "valid", "active", "delivery", "features", "webmail", "webmail_domain", "imap_domain",
    "smtp_domain", "mx_name", "context_name", "transport", "public_alias", "public_alias_rules", "store_name",
    "domain_exist", "mx", "cname_imap", "cname_smtp", "cname_webmail", "spf", "dkim",
    "webmail_ok", "postfix", "ox", "cert",
]
INITIAL_PLATFORM = {"broken": [], "unfixable": [], "certificate": False, "certificate_hosts": [],
                    "certs_on_check": False}
ALL_HOSTS = ["imap.example.fr", "smtp.example.fr", "webmail.example.fr"]

RECORDS = [
    {"target": "", "type": "mx", "value": "10 mx.example.net."},
    {"target": "www", "type": "cname", "value": "web.example.net."},
    {"target": "", "type": "txt", "value": "hello world"},
    {"target": "", "type": "ns", "value": "ns1.example.net."},
]
OTHER_RECORDS = [{"target": "", "type": "txt", "value": "v=spf1 -all"}]
WRONG = [  # checks.wrong_records(): CHECKS.md §9 "wrong records", §10.3
    {"target": "", "type": "mx", "value": "mx.other-provider.net."},
    {"target": "webmail", "type": "cname", "value": "webmail.other-provider.net."},
    {"target": "", "type": "txt", "value": "v=spf1 include:_spf.other-provider.net -all"},
]
EXISTS = [{"target": "", "type": "ns", "value": "ns1.registrar.example."}]  # checks.existing_records()

NO_CERT = {"ok": False, "internal": True,
           "errors": [{"code": "no_cert", "detail": "Pas de certificat pour ce domaine (ls)"}]}
PASSED_EXTERNAL = {"ok": True, "internal": False, "errors": []}
PASSED_INTERNAL = {"ok": True, "internal": True, "errors": []}
INTERNAL_FAILURES = {
    "webmail_ok": ("no_webmail", "Le webmail n'est pas configuré pour ce domaine"),
    "postfix": ("no_postfix", "Le domaine n'est pas déclaré dans postfix"),
    "ox": ("no_ox", "Le domaine n'est pas déclaré dans open-xchange"),
}


@pytest.fixture()
def fake() -> FakeDimail:
    return FakeDimail(seed="people-dev")


@pytest.fixture()
def anon(fake: FakeDimail) -> httpx.Client:
    """No credentials at all: the control plane needs none."""
    return fake.client()


@pytest.fixture()
def regie(fake: FakeDimail) -> httpx.Client:
    return fake.client(auth=("la_regie", "password"))


@pytest.fixture()
def domain(regie: httpx.Client) -> str:
    """example.fr created the way People does (D1)."""
    created = regie.post("/domains/", json=PEOPLE_DOMAIN)
    assert created.status_code == 201
    return DOMAIN


def failing(body: dict) -> dict:
    return {k: v for k, v in body.items() if isinstance(v, dict) and not v["ok"]}


def locs(response: httpx.Response) -> list[tuple[str, list]]:
    assert response.status_code == 422
    return [(e["type"], e["loc"]) for e in response.json()["detail"]]


# --- simulated DNS zones: read, replace, empty -------------------------------------


def test_unknown_zone_is_an_empty_list(anon):
    response = anon.get("/_fake/dns/nobody-published.fr")
    assert (response.status_code, response.json()) == (200, [])


def test_put_get_delete_zone(anon):
    put = anon.put("/_fake/dns/zone.fr", json=RECORDS)
    assert (put.status_code, put.json()) == (200, RECORDS)  # order kept, values untouched
    assert anon.get("/_fake/dns/zone.fr").json() == RECORDS
    deleted = anon.delete("/_fake/dns/zone.fr")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert anon.get("/_fake/dns/zone.fr").json() == []
    # Deleting an empty zone is not an error either.
    assert anon.delete("/_fake/dns/zone.fr").status_code == 204


def test_put_replaces_the_zone(anon):
    anon.put("/_fake/dns/zone.fr", json=RECORDS)
    assert anon.put("/_fake/dns/zone.fr", json=OTHER_RECORDS).json() == OTHER_RECORDS
    assert anon.get("/_fake/dns/zone.fr").json() == OTHER_RECORDS
    assert anon.put("/_fake/dns/zone.fr", json=[]).json() == []
    assert anon.get("/_fake/dns/zone.fr").json() == []


def test_zones_are_separate_and_names_compare_without_case_or_final_dot(anon):
    anon.put("/_fake/dns/one.fr", json=RECORDS)
    anon.put("/_fake/dns/two.fr", json=OTHER_RECORDS)
    assert anon.get("/_fake/dns/one.fr").json() == RECORDS
    assert anon.get("/_fake/dns/two.fr").json() == OTHER_RECORDS
    assert anon.get("/_fake/dns/One.FR.").json() == RECORDS
    anon.delete("/_fake/dns/TWO.fr")
    assert anon.get("/_fake/dns/two.fr").json() == []
    assert anon.get("/_fake/dns/one.fr").json() == RECORDS


def test_zones_are_independent_of_dimail_domains(fake, anon, regie):
    # Published before the domain exists: accepted, and read by the domain's checks once it exists.
    assert anon.put(f"/_fake/dns/{DOMAIN}", json=WRONG).status_code == 200
    assert regie.post("/domains/", json=PEOPLE_DOMAIN).status_code == 201
    assert anon.get(f"/_fake/dns/{DOMAIN}").json() == WRONG  # creation does not touch the zone
    check = regie.get(f"/domains/{DOMAIN}/check").json()
    assert check["mx"]["errors"][0]["code"] == "wrong_mx"
    # Deleting the dimail domain keeps its zone.
    assert regie.delete(f"/domains/{DOMAIN}").status_code == 204
    assert regie.get("/domains/").json() == []
    assert anon.get(f"/_fake/dns/{DOMAIN}").json() == WRONG
    assert fake.dns(DOMAIN) == WRONG


# --- simulated DNS zones: validation --------------------------------------------------

VALID = {"target": "", "type": "mx", "value": "mx.example.net."}
BAD_BODIES = {
    "type upper case": ([{**VALID, "type": "MX"}], [("enum", ["body", 0, "type"])]),
    "type a": ([{**VALID, "type": "a"}], [("enum", ["body", 0, "type"])]),
    "missing value": ([{"target": "", "type": "mx"}], [("missing", ["body", 0, "value"])]),
    "missing target": ([{"type": "mx", "value": "mx.example.net."}], [("missing", ["body", 0, "target"])]),
    "empty value": ([{**VALID, "value": ""}], [("string_too_short", ["body", 0, "value"])]),
    "value not a string": ([{**VALID, "value": 10}], [("string_type", ["body", 0, "value"])]),
    "extra key": ([{**VALID, "ttl": 300}], [("extra_forbidden", ["body", 0, "ttl"])]),
    "bad target": ([{**VALID, "target": "bad name"}], [("string_pattern_mismatch", ["body", 0, "target"])]),
    "second item bad": ([VALID, {**VALID, "type": "aaaa"}], [("enum", ["body", 1, "type"])]),
    "body not a list": (VALID, [("list_type", ["body"])]),
    "body a string": ("mx", [("list_type", ["body"])]),
}


@pytest.mark.parametrize("body, expected", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_put_refuses_bad_records_and_keeps_the_zone(anon, body, expected):
    anon.put("/_fake/dns/zone.fr", json=RECORDS)
    assert locs(anon.put("/_fake/dns/zone.fr", json=body)) == expected
    assert anon.get("/_fake/dns/zone.fr").json() == RECORDS


def test_put_without_body_is_refused(anon):
    anon.put("/_fake/dns/zone.fr", json=RECORDS)
    assert locs(anon.put("/_fake/dns/zone.fr")) == [("missing", ["body"])]
    assert anon.get("/_fake/dns/zone.fr").json() == RECORDS


@pytest.mark.parametrize("method, path", [
    ("GET", "/_fake/dns/bad name!"),
    ("PUT", "/_fake/dns/bad name!"),
    ("DELETE", "/_fake/dns/bad name!"),
    ("POST", "/_fake/dns/bad name!/publish?records=wrong"),
    ("GET", "/_fake/dns/a..b.fr"),
])
def test_bad_zone_name_in_path_is_refused(anon, method, path):
    response = anon.request(method, path, json=[] if method == "PUT" else None)
    assert locs(response) == [("string_pattern_mismatch", ["path", "name"])]


def test_zone_name_longer_than_253_is_refused(anon):
    assert locs(anon.get("/_fake/dns/" + "a" * 254)) == [("string_too_long", ["path", "name"])]


# --- simulated DNS zones: presets ----------------------------------------------------------


def test_publish_default_is_the_spec(anon, regie, domain):
    spec = regie.get(f"/domains/{domain}/spec").json()
    published = anon.post(f"/_fake/dns/{domain}/publish")
    assert (published.status_code, published.json()) == (200, spec)
    assert anon.post(f"/_fake/dns/{domain}/publish?records=spec").json() == spec
    assert anon.get(f"/_fake/dns/{domain}").json() == spec
    assert [(r["target"], r["type"]) for r in spec] == [
        ("", "mx"), ("dimail._domainkey", "txt"), ("imap", "cname"), ("smtp", "cname"), ("", "txt"),
        ("webmail", "cname")]
    # Every external check passes; the certificate is still missing (CHECKS.md §10.4).
    check = regie.get(f"/domains/{domain}/check").json()
    assert (check["state"], failing(check)) == ("broken", {"cert": NO_CERT})


def test_put_of_the_spec_answer_passes_every_external_check(anon, regie, domain):
    spec = regie.get(f"/domains/{domain}/spec").json()
    assert anon.put(f"/_fake/dns/{domain}", json=spec).json() == spec
    check = regie.get(f"/domains/{domain}/check").json()
    assert failing(check) == {"cert": NO_CERT}


def test_publish_spec_of_an_unknown_domain_is_404(anon):
    anon.put("/_fake/dns/nope.fr", json=RECORDS)
    for path in ("/_fake/dns/nope.fr/publish", "/_fake/dns/nope.fr/publish?records=spec"):
        response = anon.post(path)
        assert (response.status_code, response.json()) == (404, {"detail": "Domain not found"})
    assert anon.get("/_fake/dns/nope.fr").json() == RECORDS


def test_publish_wrong_records(anon, regie, domain):
    published = anon.post(f"/_fake/dns/{domain}/publish", params={"records": "wrong"})
    assert (published.status_code, published.json()) == (200, WRONG)
    assert anon.get(f"/_fake/dns/{domain}").json() == WRONG
    check = regie.get(f"/domains/{domain}/check").json()
    assert {k: v["errors"][0]["code"] for k, v in failing(check).items()} == {
        "mx": "wrong_mx", "cname_imap": "no_cname_imap", "cname_smtp": "no_cname_smtp",
        "cname_webmail": "wrong_cname_webmail", "spf": "wrong_spf", "dkim": "no_dkim", "cert": "no_cert"}


def test_publish_exists_gives_name_servers_only(anon, regie, domain):
    published = anon.post(f"/_fake/dns/{domain}/publish", params={"records": "exists"})
    assert (published.status_code, published.json()) == (200, EXISTS)
    check = regie.get(f"/domains/{domain}/check").json()
    assert check["domain_exist"] == PASSED_EXTERNAL
    assert check["mx"]["errors"] == [
        {"code": "no_mx", "detail": "Il n'y a pas d'enregistrement MX ou CNAME sur le domaine"}]
    assert check["spf"]["errors"][0]["code"] == "no_spf"
    assert check["dkim"]["errors"][0]["code"] == "no_dkim"
    assert sorted(failing(check)) == ["cert", "cname_imap", "cname_smtp", "cname_webmail", "dkim", "mx", "spf"]


@pytest.mark.parametrize("preset, records", [("wrong", WRONG), ("exists", EXISTS)])
def test_wrong_and_exists_presets_need_no_dimail_domain(anon, preset, records):
    assert anon.post("/_fake/dns/elsewhere.fr/publish", params={"records": preset}).json() == records
    assert anon.get("/_fake/dns/elsewhere.fr").json() == records


@pytest.mark.parametrize("preset", ["nope", "Spec", ""])
def test_unknown_preset_is_refused(anon, domain, preset):
    anon.put(f"/_fake/dns/{domain}", json=RECORDS)
    response = anon.post(f"/_fake/dns/{domain}/publish", params={"records": preset})
    assert locs(response) == [("enum", ["query", "records"])]
    assert anon.get(f"/_fake/dns/{domain}").json() == RECORDS


# --- dimail's side of a domain: read and change ------------------------------------------


def test_initial_platform(anon, domain):
    response = anon.get(f"/_fake/domains/{domain}/platform")
    assert (response.status_code, response.json()) == (200, INITIAL_PLATFORM)


def test_patch_changes_only_what_is_given(anon, domain):
    path = f"/_fake/domains/{domain}/platform"
    state = anon.patch(path, json={"broken": ["postfix", "ox"]})
    assert (state.status_code, state.json()) == (200, {**INITIAL_PLATFORM, "broken": ["ox", "postfix"]})
    state = anon.patch(path, json={"unfixable": ["cert"]}).json()
    assert state == {**INITIAL_PLATFORM, "broken": ["ox", "postfix"], "unfixable": ["cert"]}
    state = anon.patch(path, json={"certs_on_check": True}).json()
    assert state == {**INITIAL_PLATFORM, "broken": ["ox", "postfix"], "unfixable": ["cert"], "certs_on_check": True}
    state = anon.patch(path, json={"broken": ["webmail_ok"]}).json()  # a list replaces, it does not add
    assert state["broken"] == ["webmail_ok"] and state["unfixable"] == ["cert"] and state["certs_on_check"] is True
    assert anon.patch(path, json={}).json() == state
    assert anon.patch(path, json={"broken": None, "certificate": None}).json() == state  # null = omitted
    state = anon.patch(path, json={"broken": [], "unfixable": [], "certs_on_check": False}).json()
    assert state == INITIAL_PLATFORM
    assert anon.get(path).json() == INITIAL_PLATFORM


def test_certificate_covers_the_domains_hosts(anon, domain):
    path = f"/_fake/domains/{domain}/platform"
    issued = anon.patch(path, json={"certificate": True}).json()
    assert issued == {**INITIAL_PLATFORM, "certificate": True, "certificate_hosts": ALL_HOSTS}
    revoked = anon.patch(path, json={"certificate": False}).json()
    assert revoked == INITIAL_PLATFORM


def test_certificate_hosts_follow_the_features(anon, regie):
    body = {"name": "boxes.fr", "features": ["mailbox"], "delivery": "virtual"}  # no webmail host
    assert regie.post("/domains/", json=body).status_code == 201
    issued = anon.patch("/_fake/domains/boxes.fr/platform", json={"certificate": True}).json()
    assert issued["certificate_hosts"] == ["imap.boxes.fr", "smtp.boxes.fr"]


_CERT_REFUSED = ("Value error, only webmail_ok, postfix and ox can be broken; remove the certificate with "
                 "certificate: false")
REFUSED_PATCHES = {
    "break cert": ({"broken": ["cert"]}, {"detail": [
        {"type": "value_error", "loc": ["body", "broken"], "msg": _CERT_REFUSED, "input": ["cert"], "ctx": {"error": {}}}]}),
    "break cert among others": ({"broken": ["postfix", "cert"], "unfixable": ["ox"]}, {"detail": [
        {"type": "value_error", "loc": ["body", "broken"], "msg": _CERT_REFUSED, "input": ["postfix", "cert"],
         "ctx": {"error": {}}}]}),
}
INVALID_PATCHES = {
    "unknown broken": ({"broken": ["mx"]}, [("enum", ["body", "broken", 0])]),
    "unknown unfixable": ({"unfixable": ["postfix", "dkim"]}, [("enum", ["body", "unfixable", 1])]),
    "extra key": ({"certificate_hosts": ["x.fr"]}, [("extra_forbidden", ["body", "certificate_hosts"])]),
    "broken not a list": ({"broken": "postfix"}, [("list_type", ["body", "broken"])]),
    "body a list": (["postfix"], [("model_attributes_type", ["body"])]),
    "certificate not a bool": ({"certificate": "maybe"}, [("bool_parsing", ["body", "certificate"])]),
}


@pytest.mark.parametrize("body, answer", REFUSED_PATCHES.values(), ids=REFUSED_PATCHES.keys())
def test_only_three_checks_can_be_broken(anon, domain, body, answer):
    path = f"/_fake/domains/{domain}/platform"
    anon.patch(path, json={"unfixable": ["webmail_ok"]})
    response = anon.patch(path, json=body)
    assert (response.status_code, response.json()) == (422, answer)
    assert anon.get(path).json() == {**INITIAL_PLATFORM, "unfixable": ["webmail_ok"]}  # nothing applied


@pytest.mark.parametrize("body, expected", INVALID_PATCHES.values(), ids=INVALID_PATCHES.keys())
def test_invalid_platform_patch_is_refused(anon, domain, body, expected):
    path = f"/_fake/domains/{domain}/platform"
    anon.patch(path, json={"broken": ["ox"]})
    assert locs(anon.patch(path, json=body)) == expected
    assert anon.get(path).json() == {**INITIAL_PLATFORM, "broken": ["ox"]}


def test_platform_of_an_unknown_domain_is_404(anon):
    for response in (anon.get("/_fake/domains/nope.fr/platform"),
                     anon.patch("/_fake/domains/nope.fr/platform", json={"certificate": True})):
        assert (response.status_code, response.json()) == (404, {"detail": "Domain not found"})


def test_platform_goes_with_the_domain(anon, regie, domain):
    anon.patch(f"/_fake/domains/{domain}/platform", json={"broken": ["postfix"]})
    assert regie.delete(f"/domains/{domain}").status_code == 204
    assert anon.get(f"/_fake/domains/{domain}/platform").status_code == 404
    assert regie.post("/domains/", json=PEOPLE_DOMAIN).status_code == 201
    assert anon.get(f"/_fake/domains/{domain}/platform").json() == INITIAL_PLATFORM


def test_control_plane_never_shows_in_domain_answers(fake, anon, regie, domain):
    anon.post(f"/_fake/dns/{domain}/publish")
    anon.patch(f"/_fake/domains/{domain}/platform",
               json={"broken": ["ox"], "unfixable": ["ox"], "certificate": True, "certs_on_check": True})
    bearer = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})  # GET /domains/{d} is Bearer
    for response in (bearer.get(f"/domains/{domain}"), regie.get(f"/domains/{domain}/check"),
                     regie.get(f"/domains/{domain}/fix"), regie.patch(f"/domains/{domain}", json={})):
        assert response.status_code == 200
        assert list(response.json()) == DOMAIN_KEYS
    assert [list(d) for d in regie.get("/domains/").json()] == [DOMAIN_KEYS]


# --- dimail's side of a domain: effects on /check and /fix ----------------------------------


@pytest.mark.parametrize("check", ["postfix", "ox", "webmail_ok"])
def test_broken_item_fails_its_check_and_fix_repairs_it(anon, regie, domain, check):
    anon.post(f"/_fake/dns/{domain}/publish")
    anon.patch(f"/_fake/domains/{domain}/platform", json={"broken": [check]})
    code, detail = INTERNAL_FAILURES[check]
    body = regie.get(f"/domains/{domain}/check").json()
    assert failing(body) == {check: {"ok": False, "internal": True, "errors": [{"code": code, "detail": detail}]},
                             "cert": NO_CERT}
    fixed = regie.get(f"/domains/{domain}/fix")
    assert fixed.status_code == 200
    assert (fixed.json()["state"], fixed.json()["valid"], failing(fixed.json())) == ("ok", True, {})
    assert fixed.json()[check] == PASSED_INTERNAL
    assert anon.get(f"/_fake/domains/{domain}/platform").json() == {
        **INITIAL_PLATFORM, "certificate": True, "certificate_hosts": ALL_HOSTS}


def test_unfixable_item_stays_broken_through_fix(anon, regie, domain):
    anon.post(f"/_fake/dns/{domain}/publish")
    anon.patch(f"/_fake/domains/{domain}/platform", json={"broken": ["postfix"], "unfixable": ["postfix"]})
    for _ in range(2):  # /fix is idempotent
        fixed = regie.get(f"/domains/{domain}/fix").json()
        assert fixed["state"] == "broken"
        assert failing(fixed) == {"postfix": {"ok": False, "internal": True, "errors": [
            {"code": "no_postfix", "detail": "Le domaine n'est pas déclaré dans postfix"}]}}  # cert was issued
    assert anon.get(f"/_fake/domains/{domain}/platform").json()["broken"] == ["postfix"]
    # Lifting the switch lets the next /fix repair it.
    anon.patch(f"/_fake/domains/{domain}/platform", json={"unfixable": []})
    assert regie.get(f"/domains/{domain}/fix").json()["state"] == "ok"


def test_broken_items_do_not_show_while_the_domain_does_not_exist(anon, regie, domain):
    anon.patch(f"/_fake/domains/{domain}/platform", json={"broken": ["postfix", "ox", "webmail_ok"]})
    body = regie.get(f"/domains/{domain}/check").json()
    assert list(failing(body)) == ["domain_exist"]  # every other test skipped (CHECKS.md §3)


def test_unfixable_cert_is_never_issued_by_fix(anon, regie, domain):
    anon.post(f"/_fake/dns/{domain}/publish")
    anon.patch(f"/_fake/domains/{domain}/platform", json={"unfixable": ["cert"]})
    fixed = regie.get(f"/domains/{domain}/fix").json()
    assert (fixed["state"], failing(fixed)) == ("broken", {"cert": NO_CERT})
    assert anon.get(f"/_fake/domains/{domain}/platform").json()["certificate"] is False


def test_fix_does_not_issue_the_certificate_while_cnames_are_wrong(anon, regie, domain):
    anon.post(f"/_fake/dns/{domain}/publish", params={"records": "wrong"})
    fixed = regie.get(f"/domains/{domain}/fix").json()
    assert fixed["cert"] == NO_CERT
    assert anon.get(f"/_fake/domains/{domain}/platform").json()["certificate"] is False


def test_certificate_switch_drives_the_cert_check(anon, regie, domain):
    anon.post(f"/_fake/dns/{domain}/publish")
    anon.patch(f"/_fake/domains/{domain}/platform", json={"certificate": True})
    body = regie.get(f"/domains/{domain}/check").json()
    assert (body["state"], body["valid"], body["active"], failing(body)) == ("ok", True, True, {})
    anon.patch(f"/_fake/domains/{domain}/platform", json={"certificate": False})
    body = regie.get(f"/domains/{domain}/check").json()
    assert (body["state"], body["active"], failing(body)) == ("broken", True, {"cert": NO_CERT})


def test_certs_on_check_switch(anon, regie, domain):
    anon.post(f"/_fake/dns/{domain}/publish")
    anon.patch(f"/_fake/domains/{domain}/platform", json={"certs_on_check": True})
    body = regie.get(f"/domains/{domain}/check").json()
    assert (body["state"], failing(body)) == ("ok", {})
    assert anon.get(f"/_fake/domains/{domain}/platform").json() == {
        **INITIAL_PLATFORM, "certificate": True, "certificate_hosts": ALL_HOSTS, "certs_on_check": True}


def test_certs_on_check_waits_for_the_cnames(anon, regie, domain):
    anon.patch(f"/_fake/domains/{domain}/platform", json={"certs_on_check": True})
    anon.post(f"/_fake/dns/{domain}/publish", params={"records": "wrong"})
    assert regie.get(f"/domains/{domain}/check").json()["cert"] == NO_CERT
    anon.post(f"/_fake/dns/{domain}/publish")
    assert regie.get(f"/domains/{domain}/check").json()["state"] == "ok"


def test_certificate_flag_follows_the_current_host_names(anon, regie, domain):
    anon.post(f"/_fake/dns/{domain}/publish")
    anon.patch(f"/_fake/domains/{domain}/platform", json={"certificate": True})
    assert regie.get(f"/domains/{domain}/check").json()["state"] == "ok"
    assert regie.patch(f"/domains/{domain}", json={"imap_domain": "mail.example.fr"}).status_code == 200
    anon.post(f"/_fake/dns/{domain}/publish")  # the new spec: CNAME at mail.example.fr
    body = regie.get(f"/domains/{domain}/check").json()
    assert failing(body) == {"cert": NO_CERT}  # the old certificate does not cover mail.example.fr
    platform = anon.get(f"/_fake/domains/{domain}/platform").json()
    assert platform["certificate_hosts"] == ALL_HOSTS  # what the old certificate covers
    assert platform["certificate"] is False


# --- no credentials, and the "fake" tag in the OpenAPI document --------------------------------


def test_control_plane_needs_no_credentials(fake, regie):
    assert regie.post("/domains/", json=PEOPLE_DOMAIN).status_code == 201
    for client in (fake.client(), fake.client(auth=("nobody", "wrong")),
                   fake.client(headers={"Authorization": "Bearer not-a-token"})):
        assert client.put(f"/_fake/dns/{DOMAIN}", json=RECORDS).status_code == 200
        assert client.get(f"/_fake/dns/{DOMAIN}").status_code == 200
        assert client.post(f"/_fake/dns/{DOMAIN}/publish").status_code == 200
        assert client.delete(f"/_fake/dns/{DOMAIN}").status_code == 204
        assert client.get(f"/_fake/domains/{DOMAIN}/platform").status_code == 200
        assert client.patch(f"/_fake/domains/{DOMAIN}/platform", json={}).status_code == 200


def test_control_plane_works_in_bootstrap_mode():
    client = FakeDimail().client()  # no user at all
    assert client.put("/_fake/dns/zone.fr", json=RECORDS).json() == RECORDS
    assert client.get("/_fake/domains/nope.fr/platform").json() == {"detail": "Domain not found"}


@pytest.fixture()
def openapi(anon) -> dict:
    response = anon.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict) -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_control_operation_is_tagged_fake(openapi):
    fake_ops = sorted((method, path) for path, method, op in operations(openapi) if path.startswith("/_fake/"))
    assert fake_ops == [
        ("delete", "/_fake/dns/{name}"), ("delete", "/_fake/domains/{domain_name}/move"), ("delete", "/_fake/faults"),
        ("delete", "/_fake/faults/{fault_id}"), ("delete", "/_fake/mailqueue/{domain_name}/{user_name}"),
        ("delete", "/_fake/requests"), ("get", "/_fake/"), ("get", "/_fake/dns/{name}"),
        ("get", "/_fake/domains/{domain_name}/mailboxes"), ("get", "/_fake/domains/{domain_name}/move"),
        ("get", "/_fake/domains/{domain_name}/people"), ("get", "/_fake/domains/{domain_name}/platform"),
        ("get", "/_fake/faults"), ("get", "/_fake/operations"), ("get", "/_fake/requests"), ("get", "/_fake/state"),
        ("patch", "/_fake/domains/{domain_name}/platform"), ("post", "/_fake/dns/{name}/publish"),
        ("post", "/_fake/domains/{domain_name}/check"), ("post", "/_fake/domains/{domain_name}/fix"),
        ("post", "/_fake/faults"), ("post", "/_fake/login"), ("post", "/_fake/mailqueue/{domain_name}/{user_name}"),
        ("post", "/_fake/reset"), ("put", "/_fake/dns/{name}"), ("put", "/_fake/domains/{domain_name}/move"),
        ("put", "/_fake/domains/{domain_name}/status"), ("put", "/_fake/state"),
    ]
    for path, method, op in operations(openapi):
        if path.startswith("/_fake/"):
            assert op["tags"] == ["fake"], (method, path)
            assert "security" not in op, (method, path)


def test_the_fake_tag_is_described(openapi):
    tags = {t["name"]: t for t in openapi["tags"]}
    assert "fake" in tags
    assert "not part of dimail" in tags["fake"]["description"]


def test_no_dimail_operation_carries_the_fake_tag(openapi):
    dimail_ops = [(path, op) for path, _, op in operations(openapi) if not path.startswith("/_fake/")]
    assert len(dimail_ops) > 30
    assert [path for path, op in dimail_ops if "fake" in op.get("tags", [])] == []


# --- Python steering equals HTTP -----------------------------------------------------------


def test_set_dns_equals_put(fake, anon):
    assert fake.set_dns("py.fr", RECORDS) == RECORDS
    assert anon.get("/_fake/dns/py.fr").json() == RECORDS
    assert anon.put("/_fake/dns/http.fr", json=RECORDS).json() == fake.set_dns("same.fr", RECORDS)
    assert fake.dns("http.fr") == anon.get("/_fake/dns/same.fr").json() == RECORDS
    assert fake.dns("never.fr") == anon.get("/_fake/dns/never.fr").json() == []


def test_set_dns_takes_any_mappings_and_replaces(fake, anon):
    records = (dict(r) for r in OTHER_RECORDS)  # any iterable of mappings
    fake.set_dns("py.fr", RECORDS)
    assert fake.set_dns("py.fr", records) == OTHER_RECORDS
    assert anon.get("/_fake/dns/py.fr").json() == OTHER_RECORDS


def test_clear_dns_equals_delete(fake, anon):
    anon.put("/_fake/dns/py.fr", json=RECORDS)
    assert fake.clear_dns("py.fr") is None
    assert anon.get("/_fake/dns/py.fr").json() == []
    fake.set_dns("py.fr", RECORDS)
    anon.delete("/_fake/dns/py.fr")
    assert fake.dns("py.fr") == []


@pytest.mark.parametrize("bad", [
    [{**VALID, "type": "MX"}],
    [{"target": "", "type": "mx"}],
    [{**VALID, "value": ""}],
    [{**VALID, "ttl": 300}],
    [VALID, {**VALID, "target": "bad name"}],
])
def test_set_dns_validates_like_the_put(fake, anon, bad):
    fake.set_dns("py.fr", RECORDS)
    with pytest.raises(pydantic.ValidationError) as raised:
        fake.set_dns("py.fr", bad)
    http = anon.put("/_fake/dns/py.fr", json=bad).json()["detail"]
    # Same error type as the PUT; the PUT's loc adds ["body", index] in front.
    assert [e["type"] for e in raised.value.errors()] == [e["type"] for e in http]
    assert [list(e["loc"]) for e in raised.value.errors()] == [e["loc"][2:] for e in http]
    assert fake.dns("py.fr") == anon.get("/_fake/dns/py.fr").json() == RECORDS


def test_set_dns_refuses_a_zone_name_the_put_refuses(fake, anon):
    assert locs(anon.put("/_fake/dns/bad name!", json=RECORDS)) == [("string_pattern_mismatch", ["path", "name"])]
    with pytest.raises(ValueError):
        fake.set_dns("bad name!", RECORDS)
    with pytest.raises(ValueError):
        fake.dns("bad name!")
    assert fake.backend.dns.zones() == {}


@pytest.mark.parametrize("preset", ["spec", "wrong", "exists"])
def test_publish_equals_post(fake, anon, domain, preset):
    http = anon.post(f"/_fake/dns/{domain}/publish", params={"records": preset}).json()
    anon.delete(f"/_fake/dns/{domain}")
    assert fake.publish(domain, preset) == http
    assert anon.get(f"/_fake/dns/{domain}").json() == http


def test_publish_defaults_and_refusals(fake, anon, domain):
    assert fake.publish(domain) == anon.get(f"/domains/{domain}/spec").json()
    with pytest.raises(ApiError) as raised:
        fake.publish("nope.fr")
    assert (raised.value.status, raised.value.detail) == (404, "Domain not found")
    with pytest.raises(ValueError):
        fake.publish(domain, "nope")
    assert fake.dns("nope.fr") == []


def test_platform_equals_get(fake, anon, domain):
    assert fake.platform(domain) == anon.get(f"/_fake/domains/{domain}/platform").json() == INITIAL_PLATFORM
    anon.patch(f"/_fake/domains/{domain}/platform", json={"broken": ["ox"], "certificate": True})
    assert fake.platform(domain) == {**INITIAL_PLATFORM, "broken": ["ox"], "certificate": True,
                                     "certificate_hosts": ALL_HOSTS}


def test_set_platform_equals_patch(fake, anon, regie):
    for name in ("one.fr", "two.fr"):
        assert regie.post("/domains/", json={**PEOPLE_DOMAIN, "name": name, "context_name": name}).status_code == 201
    changes = [{"broken": ["postfix", "webmail_ok"]}, {"unfixable": ["cert", "ox"]}, {"certificate": True},
               {"certs_on_check": True}, {"broken": []}, {"certificate": False}]
    for change in changes:
        by_python = fake.set_platform("one.fr", **change)
        by_http = anon.patch("/_fake/domains/two.fr/platform", json=change).json()
        assert by_python == {**by_http, "certificate_hosts": [h.replace("two", "one")
                                                               for h in by_http["certificate_hosts"]]}
        assert anon.get("/_fake/domains/one.fr/platform").json() == by_python
    assert fake.platform("one.fr") == {**INITIAL_PLATFORM, "unfixable": ["cert", "ox"], "certs_on_check": True}


@pytest.mark.parametrize("change, error", [
    ({"broken": ["cert"]}, ("value_error", ("broken",))),
    ({"broken": ["mx"]}, ("enum", ("broken", 0))),
    ({"unfixable": ["dkim"]}, ("enum", ("unfixable", 0))),
])
def test_set_platform_refusals_leave_the_platform(fake, anon, domain, change, error):
    """Python refuses what the PATCH refuses, with the same error (the PATCH's loc adds "body")."""
    fake.set_platform(domain, broken=["ox"])
    with pytest.raises(ValidationError) as raised:
        fake.set_platform(domain, certificate=True, **change)
    assert [(e["type"], e["loc"]) for e in raised.value.errors()] == [error]
    http = anon.patch(f"/_fake/domains/{domain}/platform", json={"certificate": True, **change}).json()["detail"]
    assert [(e["type"], tuple(e["loc"][1:])) for e in http] == [error]
    assert fake.platform(domain) == {**INITIAL_PLATFORM, "broken": ["ox"]}


def test_platform_steering_of_an_unknown_domain(fake):
    for call in (lambda: fake.platform("nope.fr"), lambda: fake.set_platform("nope.fr", certificate=True)):
        with pytest.raises(ApiError) as raised:
            call()
        assert (raised.value.status, raised.value.detail) == (404, "Domain not found")


def test_check_equals_the_http_check(fake, domain):
    admin = fake.client(auth=("admin", "admin"))
    for set_up in (lambda: None, lambda: fake.publish(domain, "wrong"), lambda: fake.publish(domain),
                   lambda: fake.set_platform(domain, broken=["ox"], certificate=True)):
        set_up()
        by_python = fake.check(domain)
        assert by_python == admin.get(f"/domains/{domain}/check").json()
        assert list(by_python) == DOMAIN_KEYS
    assert failing(fake.check(domain)) == {"ox": {"ok": False, "internal": True, "errors": [
        {"code": "no_ox", "detail": "Le domaine n'est pas déclaré dans open-xchange"}]}}


def test_reset_empties_the_zones(fake, anon, domain):
    fake.set_dns("zone.fr", RECORDS)
    fake.publish(domain)
    fake.reset()
    assert fake.dns("zone.fr") == fake.dns(domain) == []
    assert anon.get("/_fake/dns/zone.fr").json() == anon.get(f"/_fake/dns/{domain}").json() == []
    assert anon.get(f"/_fake/domains/{domain}/platform").status_code == 404  # the domain went too
    # Reseeded: People's credentials work again and a new domain starts from scratch.
    assert fake.client(auth=("la_regie", "password")).post("/domains/", json=PEOPLE_DOMAIN).status_code == 201
    assert fake.platform(domain) == INITIAL_PLATFORM
    assert fake.dns(domain) == []


# --- a domain's status, in People's terms or dimail's (issue 19) ---------------------------------------


def test_put_status_equals_set_domain_status(fake, anon, regie, domain):
    moved = anon.put(f"/_fake/domains/{DOMAIN}/status", json={"people_status": "failed"})
    assert moved.status_code == 200 and moved.json()["state"] == "broken"
    body = regie.get(f"/domains/{DOMAIN}/check").json()
    assert [name for name, r in body.items() if isinstance(r, dict) and not r["ok"]] == ["cert"]
    assert regie.get(f"/domains/{DOMAIN}/fix/").json()["state"] == "broken"  # People: failed
    other = FakeDimail(seed="people-dev")
    other.client(auth=("la_regie", "password")).post("/domains/", json=PEOPLE_DOMAIN)
    other.set_domain_status(DOMAIN, people_status="failed")
    assert other.check(DOMAIN) == fake.check(DOMAIN)
    ok = anon.put(f"/_fake/domains/{DOMAIN}/status", json={"status": "ok"})
    assert ok.json()["state"] == "ok" and ok.json()["valid"] is True


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"people_status": "failed", "fixable": True}, 422, "fixable=True with people_status='failed'"),
    ({"people_status": "gone"}, 422, None),
    ({"status": "broken", "failing": ["nothing"]}, 422, None),
    ({"people_status": "enabled", "colour": "red"}, 422, None),
])
def test_put_status_refusals_change_nothing(fake, anon, domain, body, status, detail):
    before = fake.state()["domains"]
    response = anon.put(f"/_fake/domains/{DOMAIN}/status", json=body)
    assert response.status_code == status
    if detail is not None:
        assert response.json()["detail"].startswith(detail)
    assert fake.state()["domains"] == before


def test_put_status_of_an_unknown_domain(anon):
    response = anon.put("/_fake/domains/none.fr/status", json={"status": "ok"})
    assert (response.status_code, response.json()) == (404, {"detail": "Domain not found"})
