"""People's four domain outcomes, end to end over HTTP (CHECKS.md §8 branch table, PEOPLE.md §5-§6).

`fetch_domain_status` below is People's status logic as CHECKS.md §8 states
it, written once and driven against the in-process fake (httpx) and against
standalone servers (`requests`, People's own HTTP library). It records every
call it makes and checks every body it reads for what People relies on: real
JSON booleans and non-empty `errors` on failing external checks.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from fake_dimail import FakeDimail
from fake_dimail.config import Settings
from tests.conftest import served

DOMAIN = "example.fr"
CREATE_BODY = {"name": DOMAIN, "context_name": DOMAIN, "features": ["webmail", "mailbox", "alias"],
               "delivery": "virtual"}
CREDENTIALS = base64.b64encode(b"la_regie:password").decode()  # People's MAIL_PROVISIONING_API_CREDENTIALS
BASIC = {"Authorization": f"Basic {CREDENTIALS}", "Content-Type": "application/json"}
CHECK_NAMES = ["domain_exist", "mx", "cname_imap", "cname_smtp", "cname_webmail", "spf", "dkim",
               "webmail_ok", "postfix", "ox", "cert"]
# CHECKS.md §10.3: what the domain page lists for another provider's records, in the body's order.
WRONG_DETAILS = [
    "Je veux que le MX du domaine soit mx.ox.numerique.gouv.fr., or je trouve mx.other-provider.net.",
    "Il faut un CNAME 'imap.example.fr' qui renvoie vers 'imap.ox.numerique.gouv.fr.'",
    "Il faut un CNAME 'smtp.example.fr' qui renvoie vers 'smtp.ox.numerique.gouv.fr.'",
    "Le CNAME pour 'webmail.example.fr' n'est pas bon, il renvoie vers 'webmail.other-provider.net.' "
    "et je veux 'webmail.ox.numerique.gouv.fr.'",
    "Le SPF record ne contient pas include:_spf.ox.numerique.gouv.fr",
    "Il faut un DKIM record, avec la bonne clef",
]
NO_CERT = {"ok": False, "internal": True,
           "errors": [{"code": "no_cert", "detail": "Pas de certificat pour ce domaine (ls)"}]}


# --- People's side: its calls and its reading of the answers ----------------------------


@dataclass
class Call:
    method: str
    path: str  # exactly as People sends it
    status: int  # the final answer, after redirects
    redirects: list[int] = field(default_factory=list)


@dataclass
class StatusFetch:
    status: str  # the People domain status afterwards
    calls: list[Call]
    details: list[str]  # errors[0].detail of every failing external check (the domain page)
    bodies: list[dict[str, Any]]  # every check/fix body People read


class RequestsApi:
    """People's transport: `requests`, Basic credentials and JSON content type on every call."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, headers=BASIC, timeout=20)

    def post(self, path: str, json: Any) -> requests.Response:
        return requests.post(self.url + path, json=json, headers=BASIC, timeout=20)


def assert_sound(body: dict[str, Any]) -> None:
    """What People relies on in a check/fix body (CHECKS.md §5, PEOPLE.md §10.3)."""
    blocks = {k: v for k, v in body.items() if isinstance(v, dict)}
    assert list(blocks) == CHECK_NAMES  # no other object-valued key People would take for a check
    assert type(body["valid"]) is bool and type(body["active"]) is bool
    assert body["valid"] is (body["state"] == "ok")
    for name, block in blocks.items():
        assert type(block["ok"]) is bool, name
        assert type(block["internal"]) is bool, name
        assert block["internal"] is (name in ("webmail_ok", "postfix", "ox", "cert")), name
        assert block["ok"] is (block["errors"] == []), name
        if not block["ok"] and not block["internal"]:
            assert block["errors"], name  # People reads errors[0].detail
        for error in block["errors"]:
            assert type(error["code"]) is str and type(error["detail"]) is str and error["detail"], name


def _call(calls: list[Call], response: Any, method: str, path: str) -> Any:
    calls.append(Call(method, path, response.status_code, [r.status_code for r in response.history]))
    return response


def _split(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """External (`internal` is exactly False) and internal (exactly True) checks; anything else is neither."""
    external = {k: v for k, v in body.items() if isinstance(v, dict) and v.get("internal") is False}
    internal = {k: v for k, v in body.items() if isinstance(v, dict) and v.get("internal") is True}
    return external, internal


def _failing(checks: dict[str, Any]) -> list[str]:
    return [name for name, check in checks.items() if not check["ok"]]  # `ok` by truthiness, as People


def fetch_domain_status(api: Any, domain: str, status: str = "pending") -> StatusFetch:
    """People's status fetch: D2, maybe D3 (CHECKS.md §8 points 1-3; no pending mailbox here)."""
    calls: list[Call] = []
    bodies: list[dict[str, Any]] = []
    details: list[str] = []
    path = f"/domains/{domain}/check"
    response = _call(calls, api.get(path), "GET", path)
    assert response.status_code == 200  # point 4 (HTTP error) is not a branch these tests drive
    body = response.json()
    assert_sound(body)
    bodies.append(body)
    if body["state"] == "ok":
        status = "enabled"
    elif body["state"] == "broken":
        external, internal = _split(body)
        if _failing(external):
            status = "action_required"
            details = [external[name]["errors"][0]["detail"] for name in _failing(external)]
        elif _failing(internal):
            path = f"/domains/{domain}/fix/"
            response = _call(calls, api.get(path), "GET", path)
            assert response.status_code == 200
            fixed = response.json()
            assert_sound(fixed)
            bodies.append(fixed)
            external, internal = _split(fixed)
            if not _failing(external) and not _failing(internal):
                status = "enabled"
            elif _failing(internal):
                status = "failed"
    return StatusFetch(status, calls, details, bodies)


def people_create_domain(api: Any, domain: str = DOMAIN) -> tuple[StatusFetch, list[dict[str, Any]]]:
    """People's domain creation (PEOPLE.md §6): D1, status fetch, D4. Returns the fetch and the expected config."""
    body = {**CREATE_BODY, "name": domain, "context_name": domain}
    created = api.post("/domains/", json=body)
    assert created.status_code == 201  # anything else: People 500, nothing saved
    fetch = fetch_domain_status(api, domain)
    fetch.calls.insert(0, Call("POST", "/domains/", created.status_code, [r.status_code for r in created.history]))
    path = f"/domains/{domain}/spec/"
    spec = _call(fetch.calls, api.get(path), "GET", path)
    expected_config = spec.json() if spec.status_code == 200 else []
    return fetch, expected_config


CHECK = Call("GET", f"/domains/{DOMAIN}/check", 200)
FIX = Call("GET", f"/domains/{DOMAIN}/fix/", 200, [307])
SPEC = Call("GET", f"/domains/{DOMAIN}/spec/", 200, [307])
CREATE = Call("POST", "/domains/", 201)


def failing(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if isinstance(v, dict) and not v["ok"]}


# --- in-process fake: the branch table of CHECKS.md §8 ----------------------------------------


@pytest.fixture()
def fake() -> FakeDimail:
    return FakeDimail(seed="people-dev")


@pytest.fixture()
def api(fake: FakeDimail) -> Any:
    return fake.client(auth=("la_regie", "password"), headers={"Content-Type": "application/json"})


@pytest.fixture()
def created(api: Any) -> str:
    """D1 alone: the domain exists on dimail's side, nothing set up yet."""
    assert api.post("/domains/", json=CREATE_BODY).status_code == 201
    return DOMAIN


def dimail_paths(fake: FakeDimail, needle: str) -> list[tuple[str, str, str | None, int]]:
    return [(e.method, e.path, e.user, e.status) for e in fake.requests if needle in e.path]


def test_a_fresh_domain_without_dns_needs_action(fake, api):
    fetch, config = people_create_domain(api)
    assert fetch.status == "action_required"
    assert fetch.details == ["Le domaine example.fr n'existe pas"]
    assert fetch.calls == [CREATE, CHECK, SPEC]  # no /fix
    assert list(failing(fetch.bodies[0])) == ["domain_exist"]
    assert fetch.bodies[0]["domain_exist"]["errors"] == [
        {"code": "must_exist", "detail": "Le domaine example.fr n'existe pas"}]
    assert [(r["target"], r["type"]) for r in config] == [
        ("", "mx"), ("dimail._domainkey", "txt"), ("imap", "cname"), ("smtp", "cname"), ("", "txt"),
        ("webmail", "cname")]
    assert dimail_paths(fake, "/fix") == []


def test_b_wrong_records_need_action_with_six_details(fake, api):
    fake.publish(DOMAIN, "wrong")  # before D1: the zone does not need the dimail domain
    fetch, _ = people_create_domain(api)
    assert fetch.status == "action_required"
    assert fetch.details == WRONG_DETAILS
    assert fetch.calls == [CREATE, CHECK, SPEC]
    assert list(failing(fetch.bodies[0])) == ["mx", "cname_imap", "cname_smtp", "cname_webmail", "spf", "dkim",
                                              "cert"]
    assert fetch.bodies[0]["cert"] == NO_CERT


def test_c_published_spec_fails_on_cert_alone_and_fix_enables(fake, api, created):
    fake.publish(created)
    fetch = fetch_domain_status(api, created)
    assert fetch.status == "enabled"
    assert fetch.details == []
    assert fetch.calls == [CHECK, FIX]
    check, fixed = fetch.bodies
    assert (check["state"], failing(check)) == ("broken", {"cert": NO_CERT})
    assert (fixed["state"], fixed["valid"], fixed["active"], failing(fixed)) == ("ok", True, True, {})
    # The /fix/ People sent went through the trailing-slash redirect, then ran as la_regie.
    assert dimail_paths(fake, "/fix") == [
        ("GET", f"/domains/{created}/fix/", None, 307), ("GET", f"/domains/{created}/fix", "la_regie", 200)]


def test_d_unfixable_cert_fails(fake, api, created):
    fake.publish(created)
    fake.set_platform(created, unfixable=["cert"])
    fetch = fetch_domain_status(api, created)
    assert fetch.status == "failed"
    assert fetch.calls == [CHECK, FIX]
    check, fixed = fetch.bodies
    assert failing(check) == failing(fixed) == {"cert": NO_CERT}
    assert fixed["state"] == "broken"
    assert [e.status for e in fake.requests if "/fix" in e.path] == [307, 200]


def test_e_certificates_on_check_enable_without_fix(fake, api, created):
    fake.publish(created)
    fake.set_platform(created, certs_on_check=True)
    fetch = fetch_domain_status(api, created)
    assert fetch.status == "enabled"
    assert fetch.calls == [CHECK]
    assert (fetch.bodies[0]["state"], failing(fetch.bodies[0])) == ("ok", {})
    assert dimail_paths(fake, "/fix") == []


# --- in-process fake: the other branches and a domain's life ------------------------------


def test_broken_internal_item_is_repaired_by_fix(fake, api, created):
    fake.publish(created)
    fake.set_platform(created, broken=["postfix"])
    fetch = fetch_domain_status(api, created, status="action_required")
    assert (fetch.status, fetch.calls) == ("enabled", [CHECK, FIX])
    assert list(failing(fetch.bodies[0])) == ["postfix", "cert"]


def test_unfixable_internal_item_fails(fake, api, created):
    fake.publish(created)
    fake.set_platform(created, broken=["ox"], unfixable=["ox"])
    fetch = fetch_domain_status(api, created)
    assert (fetch.status, fetch.calls) == ("failed", [CHECK, FIX])
    assert list(failing(fetch.bodies[1])) == ["ox"]  # the certificate was issued, ox stayed broken


def test_externals_failing_after_fix_leave_the_status_unchanged(fake, api, created):
    fake.publish(created)

    class DnsVanishesBeforeFix:
        """The zone disappears between People's /check and its /fix/."""

        def get(self, path: str) -> Any:
            if "/fix" in path:
                fake.clear_dns(created)
            return api.get(path)

    fetch = fetch_domain_status(DnsVanishesBeforeFix(), created, status="pending")
    assert (fetch.status, fetch.calls) == ("pending", [CHECK, FIX])
    assert list(failing(fetch.bodies[1])) == ["domain_exist"]


def test_a_domains_life_through_periodic_fetches(fake, api):
    fetch, _ = people_create_domain(api)
    assert fetch.status == "action_required"
    # The owner publishes another provider's records: still action_required, other texts.
    fake.publish(DOMAIN, "wrong")
    fetch = fetch_domain_status(api, DOMAIN, fetch.status)
    assert (fetch.status, fetch.details) == ("action_required", WRONG_DETAILS)
    # dimail's records at last: the certificate cannot be issued yet (switch) -> failed.
    fake.publish(DOMAIN)
    fake.set_platform(DOMAIN, unfixable=["cert"])
    fetch = fetch_domain_status(api, DOMAIN, fetch.status)
    assert (fetch.status, fetch.calls) == ("failed", [CHECK, FIX])
    # The platform recovers: the hourly fetch of failed domains enables it.
    fake.set_platform(DOMAIN, unfixable=[])
    fetch = fetch_domain_status(api, DOMAIN, fetch.status)
    assert (fetch.status, fetch.calls) == ("enabled", [CHECK, FIX])
    # Enabled and still right: the check alone is ok, nothing else is called.
    fetch = fetch_domain_status(api, DOMAIN, fetch.status)
    assert (fetch.status, fetch.calls) == ("enabled", [CHECK])
    # The owner breaks the DNS: the weekly fetch of enabled domains asks for action again.
    fake.clear_dns(DOMAIN)
    fetch = fetch_domain_status(api, DOMAIN, fetch.status)
    assert (fetch.status, fetch.details) == ("action_required", ["Le domaine example.fr n'existe pas"])
    assert fetch.bodies[0]["active"] is True  # never reset by a later failure (CHECKS.md §1)


def test_dns_auto_settings_in_process():
    fake = FakeDimail(Settings(dns_auto=True), seed="people-dev")
    api = fake.client(auth=("la_regie", "password"))
    fetch, config = people_create_domain(api)
    assert (fetch.status, fetch.calls) == ("enabled", [CREATE, CHECK, FIX, SPEC])
    assert fake.dns(DOMAIN) == config

    fake = FakeDimail(Settings(dns_auto=True, certs_on_check=True), seed="people-dev")
    fetch, _ = people_create_domain(fake.client(auth=("la_regie", "password")))
    assert (fetch.status, fetch.calls) == ("enabled", [CREATE, CHECK, SPEC])


# --- the People logic itself: identity booleans, as People compares -------------------------


def test_people_logic_ignores_string_booleans():
    """People's "ok" fixture with strings would pass silently (CHECKS.md §5); the helper mirrors that."""

    class Canned:
        def __init__(self, body: dict[str, Any]) -> None:
            self.body = body
            self.status_code = 200
            self.history: list[Any] = []

        def json(self) -> dict[str, Any]:
            return self.body

    body = {"state": "broken", "valid": False, "active": False,
            **{name: {"ok": False, "internal": "false", "errors": []} for name in CHECK_NAMES}}

    class StringApi:
        def get(self, path: str) -> Any:
            return Canned(body)

    with pytest.raises(AssertionError):  # assert_sound refuses what the fake must never send
        fetch_domain_status(StringApi(), DOMAIN)
    external, internal = _split(body)
    assert (external, internal) == ({}, {})  # neither external nor internal: People changes nothing


# --- standalone servers, People's exact calls with `requests` --------------------------------


@pytest.fixture(scope="module")
def dns_auto_server() -> Iterator[str]:
    yield from served("--seed", "people-dev", "--dns", "auto")


@pytest.fixture(scope="module")
def certs_on_check_server() -> Iterator[str]:
    yield from served("--seed", "people-dev", "--dns", "auto", "--certs-on-check")


def test_f_standalone_dns_auto_reaches_enabled_through_fix(dns_auto_server):
    api = RequestsApi(dns_auto_server)
    fetch, config = people_create_domain(api)
    assert fetch.status == "enabled"
    assert fetch.calls == [CREATE, CHECK, FIX, SPEC]
    check, fixed = fetch.bodies
    assert (check["state"], failing(check)) == ("broken", {"cert": NO_CERT})
    assert (fixed["state"], failing(fixed)) == ("ok", {})
    assert [sorted(r) for r in config] == [["target", "type", "value"]] * 6
    # --dns auto published exactly the /spec records at creation.
    assert requests.get(f"{dns_auto_server}/_fake/dns/{DOMAIN}", timeout=10).json() == config
    # The next periodic fetch of the enabled domain: ok at once.
    again = fetch_domain_status(api, DOMAIN, "enabled")
    assert (again.status, again.calls) == ("enabled", [CHECK])


def test_f_standalone_certs_on_check_is_ok_at_the_first_check(certs_on_check_server):
    api = RequestsApi(certs_on_check_server)
    fetch, config = people_create_domain(api)
    assert fetch.status == "enabled"
    assert fetch.calls == [CREATE, CHECK, SPEC]  # no /fix
    assert (fetch.bodies[0]["state"], fetch.bodies[0]["valid"], failing(fetch.bodies[0])) == ("ok", True, {})
    assert len(config) == 6
    platform = requests.get(f"{certs_on_check_server}/_fake/domains/{DOMAIN}/platform", timeout=10).json()
    assert (platform["certificate"], platform["certs_on_check"]) == (True, True)
