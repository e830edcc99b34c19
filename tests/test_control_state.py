"""The control plane's state operations (`routes/control_state.py`) and who may call them (`guard.py`).

Index, reset, the whole state (round trip, inconsistent documents refused
with the state kept), the journal (ids, times, filters, byte budget), check
and fix as an admin; cross-origin writes and preflights refused on `/_fake/`
while dimail's routes keep their CORS answers; the control token.
"""

from __future__ import annotations

import copy
import time

import httpx
import pytest

from fake_dimail import FakeDimail, Settings, __version__
from fake_dimail.journal import Exchange, Journal
from tests.test_control import DOMAIN, PEOPLE_DOMAIN, anon, fake  # noqa: F401 (fixtures: a people-dev fake, a client without credentials)

EVIL = "http://evil.example"
CONTROL_OPERATIONS = {
    "index": "/_fake/", "reset": "/_fake/reset", "get_state": "/_fake/state", "put_state": "/_fake/state",
    "list_requests": "/_fake/requests", "clear_requests": "/_fake/requests",
    "check_domain": "/_fake/domains/{domain_name}/check", "fix_domain": "/_fake/domains/{domain_name}/fix",
    "get_zone": "/_fake/dns/{name}", "publish_zone": "/_fake/dns/{name}/publish",
    "patch_platform": "/_fake/domains/{domain_name}/platform", "add_fault": "/_fake/faults",
}


@pytest.fixture()
def filled(fake: FakeDimail) -> FakeDimail:
    """A domain with an allow, a mailbox, an alias, a published zone and a check result."""
    fake.add_domain(DOMAIN, allowed=["la_regie"])
    fake.add_mailbox(DOMAIN, "jean")
    fake.add_alias(DOMAIN, "contact", f"jean@{DOMAIN}")
    fake.publish(DOMAIN, "spec")
    fake.check(DOMAIN)
    return fake


# --- index and reset --------------------------------------------------------------------


def test_index_says_what_the_fake_is_and_holds(filled, anon):
    response = anon.get("/_fake/")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("fake", "version", "imitates", "dashboard")} == {
        "fake": "fake-dimail", "version": __version__, "imitates": "v0.8.2", "dashboard": "/_fake/ui"}
    counts = {"users": 2, "allows": 1, "domains": 1, "contexts": 1, "mailboxes": 1, "aliases": 1, "codes": 0,
              "zones": 1}
    assert {k: body["counts"].get(k) for k in counts} == counts  # other families' stores may follow
    assert body["settings"]["seed"] == "people-dev" and body["settings"]["control_token"] is False
    assert "jwt_secret" not in body["settings"]
    assert body["links"].items() >= CONTROL_OPERATIONS.items()
    assert "/_fake/login" not in body["links"].values()
    assert filled.index() == body


def test_root_stays_dimails_404(anon):
    response = anon.get("/", follow_redirects=False)
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def test_reset_empties_and_seeds_again_with_the_starting_seed(filled, anon):
    filled.faults.add("GET", "/token/", 503, times=None)
    response = anon.post("/_fake/reset")
    assert response.status_code == 200
    assert response.json() == filled.index()
    assert response.json()["counts"]["users"] == 2 and response.json()["counts"]["domains"] == 0
    assert sorted(u["name"] for u in filled.state()["users"]) == ["admin", "la_regie"]
    assert list(filled.faults) == []
    assert filled.client(auth=("la_regie", "password")).get("/token/").status_code == 200
    # The journal keeps the reset itself.
    assert [(e.method, e.path, e.status) for e in filled.requests][-2] == ("POST", "/_fake/reset", 200)


def test_reset_to_another_seed_then_back_to_the_starting_one(fake, anon):
    emptied = anon.post("/_fake/reset", params={"seed": "empty"})
    assert emptied.json()["counts"]["users"] == 0
    assert anon.get("/users/", auth=("", "")).json() == []  # bootstrap mode again
    assert anon.post("/_fake/reset").json()["counts"]["users"] == 2


def test_reset_refuses_an_unknown_seed(fake, anon):
    response = anon.post("/_fake/reset", params={"seed": "prod"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "seed"]
    assert len(fake.state()["users"]) == 2


# --- the whole state ----------------------------------------------------------------------


def test_state_round_trip_through_reset(filled, anon):
    document = anon.get("/_fake/state").json()
    assert document == filled.state()
    assert [m["local"] for m in document["mailboxes"]] == ["jean"]
    anon.post("/_fake/reset", params={"seed": "empty"})
    assert anon.get("/_fake/state").json() != document
    put = anon.put("/_fake/state", json=document)
    assert (put.status_code, put.json()) == (200, document)
    assert anon.get("/_fake/state").json() == document
    # Loaded, it answers as before: la_regie's token, the mailbox, the check.
    regie = filled.client(auth=("la_regie", "password"))
    assert regie.get(f"/domains/{DOMAIN}/check").json()["state"] == document["domains"][0]["state"] == "ok"
    assert filled.client().get(f"/domains/{DOMAIN}/mailboxes/jean", headers={
        "Authorization": f"Bearer {filled.token('la_regie')}"}).status_code == 200
    assert filled.backend.state.all_indexes()["kept"] == filled.backend.state.all_indexes()["rebuilt"]


def test_a_loaded_domain_without_a_check_result_shows_that_checks_default(filled, anon):
    """The API always keeps all eleven results; a snapshot may leave one out: the Domain object's default."""
    document = anon.get("/_fake/state").json()
    for name in ("mx", "postfix"):
        del document["domains"][0]["checks"][name]
    assert anon.put("/_fake/state", json=document).status_code == 200
    shown = filled.client(auth=("admin", "admin")).get("/domains/").json()[0]
    assert (shown["mx"], shown["postfix"]) == ({"ok": True, "internal": False, "errors": []},
                                               {"ok": True, "internal": True, "errors": []})


def _broken(document: dict, change: str) -> dict:
    bad = copy.deepcopy(document)
    if change == "allow on a missing domain":
        bad["allows"].append({"user": "la_regie", "domain": "missing.fr"})
    elif change == "mailbox of a missing domain":
        bad["mailboxes"][0]["domain"] = "missing.fr"
    elif change == "code of a missing mailbox":
        bad["codes"].append({"code": "c0de", "domain": "missing.fr", "local": "jean", "expires_at": None,
                             "maxuse": None})
    elif change == "two users of one name":
        bad["users"].append(bad["users"][0])
    elif change == "a wrong type":
        bad["users"][1]["is_admin"] = "maybe"
    elif change == "an unknown part":
        bad["mailbox"] = []
    elif change == "two contexts of one id":
        bad["contexts"].append(bad["contexts"][0])
    elif change == "an allow naming no string":
        bad["allows"][0]["user"] = 1
    elif change == "a zone record of no DNS type":
        bad["zones"]["spare.fr"] = [{"target": "", "type": "bogus", "value": "v"}]
    return bad


@pytest.mark.parametrize(("change", "detail"), [
    ("allow on a missing domain",
     "Inconsistent state document: allows ('la_regie', 'missing.fr'): 'missing.fr' is not a domain"),
    ("code of a missing mailbox", "Inconsistent state document: codes 'c0de': jean@missing.fr is not a mailbox"),
    ("mailbox of a missing domain",
     "Inconsistent state document: mailboxes jean@missing.fr: 'missing.fr' is not a domain"),
    ("two users of one name", "Inconsistent state document: users: two rows for 'admin'"),
    ("a wrong type", "Inconsistent state document: users[1].is_admin: Input should be a valid boolean, "
                     "unable to interpret input"),
    ("an unknown part", "Inconsistent state document: mailbox: no such part (expected: "),
    ("two contexts of one id", "Inconsistent state document: contexts: two contexts with the same id"),
    ("an allow naming no string", "Inconsistent state document: allows[0].user: Input should be a valid string"),
    ("a zone record of no DNS type",
     "Inconsistent state document: zones.spare.fr[0].type: Input should be 'mx', 'cname', 'txt' or 'ns'"),
])
def test_an_inconsistent_document_is_refused_and_the_state_kept(filled, anon, change, detail):
    before = filled.state()
    response = anon.put("/_fake/state", json=_broken(before, change))
    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)
    assert "\n" not in response.json()["detail"]
    assert filled.state() == before
    with pytest.raises(ValueError, match="^Inconsistent state document"):
        filled.load_state(_broken(before, change))
    assert filled.state() == before


def test_a_state_that_is_not_an_object_is_fastapis_422(fake, anon):
    response = anon.put("/_fake/state", json=[1, 2])
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "dict_type"
    assert len(fake.state()["users"]) == 2


# --- the journal --------------------------------------------------------------------------


def test_journal_entries_have_increasing_ids_and_times(fake, anon):
    before = time.time()
    regie = fake.client(auth=("la_regie", "password"))
    regie.get("/token/")
    regie.get("/domains/nope.fr/check")
    entries = anon.get("/_fake/requests").json()
    assert [(e["method"], e["path"], e["user"], e["status"], e["fault"]) for e in entries] == [
        ("GET", "/token/", "la_regie", 200, None), ("GET", "/domains/nope.fr/check", "la_regie", 404, None)]
    assert entries[0]["id"] < entries[1]["id"]
    assert before <= entries[0]["time"] <= entries[1]["time"] <= time.time()
    assert all(e["duration_ms"] > 0 for e in entries)


def test_journal_filters_limit_since_and_path(fake, anon):
    for n in range(5):
        anon.get(f"/_fake/dns/zone{n}.fr")
    anon.get("/token/")
    everything = anon.get("/_fake/requests").json()
    ids = [e["id"] for e in everything]
    newest = anon.get("/_fake/requests", params={"limit": 2}).json()
    assert [e["path"] for e in newest] == ["/_fake/dns/zone4.fr", "/token/"]  # reading it is not journaled
    after = anon.get("/_fake/requests", params={"since": ids[1], "limit": 2}).json()
    assert [e["id"] for e in after] == ids[2:4]  # the first ones after `since`: polling skips nothing
    zones = anon.get("/_fake/requests", params={"path": "/_fake/dns/"}).json()
    assert [e["path"] for e in zones] == [f"/_fake/dns/zone{n}.fr" for n in range(5)]
    assert fake.journal(since=ids[1], limit=2) == after
    assert anon.get("/_fake/requests", params={"limit": 0}).status_code == 422


def test_journal_shows_the_fault_injected(fake, anon):
    fake.faults.add("GET", "/token/", 502)
    fake.client(auth=("la_regie", "password")).get("/token/")
    entry = anon.get("/_fake/requests", params={"path": "/token/"}).json()[0]
    assert (entry["status"], entry["fault"]) == (502, "502")


def test_clearing_the_journal_keeps_ids_increasing(fake, anon):
    anon.get("/_fake/")
    last = anon.get("/_fake/requests").json()[-1]["id"]
    response = anon.delete("/_fake/requests")
    assert (response.status_code, response.content) == (204, b"")
    assert fake.requests == [e for e in fake.requests if e.path == "/_fake/requests"]  # only the DELETE
    newer = anon.get("/_fake/requests", params={"since": last}).json()
    assert [(e["method"], e["id"] > last) for e in newer] == [("DELETE", True)]


def _exchange(path: str, ident: int) -> Exchange:
    return Exchange("GET", path, "user", 200, 1.0, None, ident, 0.0)


def test_journal_is_bounded_in_text_not_only_in_entries():
    journal = Journal(entries=100, text_bytes=1000)
    for n in range(10):
        journal.append(_exchange("/" + "x" * 295, n + 1))  # 300 characters with the user
    assert [e.id for e in journal] == [8, 9, 10] and journal.text_weight == 900
    for n in range(200):
        journal.append(_exchange("/a", n + 11))
    assert len(journal) == 100 and [e.id for e in journal][0] == 111


def test_ids_are_given_in_journal_order_by_the_journal_itself():
    journal = Journal()
    kept = [journal.append(_exchange(f"/{n}", 0)) for n in range(3)]  # whatever id the caller had
    assert [e.id for e in kept] == [e.id for e in journal] == [1, 2, 3]
    assert [e.path for e in journal.select(10, 1, None)] == ["/1", "/2"]


def test_a_huge_entry_alone_is_still_kept():
    journal = Journal(entries=10, text_bytes=100)
    journal.append(_exchange("/" + "y" * 500, 1))
    assert [e.id for e in journal] == [1]


# --- check and fix as an admin ------------------------------------------------------------


def test_check_and_fix_as_an_admin(fake, anon):
    fake.client(auth=("la_regie", "password")).post("/domains/", json=PEOPLE_DOMAIN)
    checked = anon.post(f"/_fake/domains/{DOMAIN}/check")
    assert (checked.status_code, checked.json()["state"]) == (200, "broken")
    assert checked.json()["domain_exist"]["errors"][0]["code"] == "must_exist"  # nothing published yet
    anon.post(f"/_fake/dns/{DOMAIN}/publish")
    checked = anon.post(f"/_fake/domains/{DOMAIN}/check")
    assert (checked.status_code, checked.json()["state"]) == (200, "broken")
    assert checked.json()["cert"]["errors"][0]["code"] == "no_cert"
    fixed = anon.post(f"/_fake/domains/{DOMAIN}/fix")
    assert (fixed.status_code, fixed.json()["state"]) == (200, "ok")
    admin = fake.client(auth=("admin", "admin"))
    assert admin.get(f"/domains/{DOMAIN}/check").json() == anon.post(f"/_fake/domains/{DOMAIN}/check").json()
    assert fake.fix(DOMAIN) == fixed.json()


def test_check_of_an_unknown_domain_is_404(anon):
    response = anon.post("/_fake/domains/nope.fr/fix")
    assert (response.status_code, response.json()) == (404, {"detail": "Domain not found"})


# --- cross-origin steering ----------------------------------------------------------------

CROSS_ORIGIN = ("Cross-origin write refused: /_fake/ accepts writes only from its own origin (the dashboard at "
                "/_fake/ui) or from clients that send no Origin, such as scripts")


@pytest.mark.parametrize("headers", [
    {"Origin": EVIL}, {"Origin": "null"}, {"Referer": EVIL + "/page.html"}, {"Origin": "http://dimail:8080"},
    {"Origin": "https://dimail"},
])
def test_a_cross_origin_write_is_refused_and_changes_nothing(fake, anon, headers):
    before = fake.state()
    for method, path in [("POST", "/_fake/dns/x.fr/publish?records=exists"), ("POST", "/_fake/reset"),
                         ("PUT", "/_fake/state"), ("DELETE", "/_fake/requests")]:
        response = anon.request(method, path, headers=headers, json={})
        assert (response.status_code, response.json()) == (403, {"detail": CROSS_ORIGIN}), (method, path)
        assert "access-control-allow-origin" not in response.headers
    assert fake.state() == before
    assert len(fake.requests) == 4  # journaled, refused


@pytest.mark.parametrize("headers", [
    {"Origin": "http://dimail"}, {"Origin": "HTTP://DIMAIL:80"}, {"Referer": "http://dimail/_fake/ui"}, {},
])
def test_a_same_origin_or_originless_write_is_accepted(fake, anon, headers):
    response = anon.post("/_fake/dns/x.fr/publish", params={"records": "exists"}, headers=headers)
    assert response.status_code == 200
    assert fake.dns("x.fr") != []


def test_a_cross_origin_read_gets_no_cors_grant(anon):
    response = anon.get("/_fake/state", headers={"Origin": EVIL, "Cookie": "a=b"})
    assert response.status_code == 200
    assert not any(h.startswith("access-control-") for h in response.headers)


def test_a_preflight_to_the_control_plane_is_refused(anon):
    response = anon.options("/_fake/dns/x.fr/publish", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 403
    assert response.json() == {"detail": "CORS refused: /_fake/ grants no other origin; steer it from /_fake/ui or "
                                         "a script"}
    assert not any(h.startswith("access-control-") for h in response.headers)


def test_dimails_routes_keep_dimails_cors(anon):
    preflight = anon.options("/domains/", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == EVIL
    simple = anon.get("/domains/", headers={"Origin": EVIL})
    assert (simple.status_code, simple.headers["access-control-allow-origin"]) == (401, "*")


# --- the control token --------------------------------------------------------------------

TOKEN = "s3cret-token"


@pytest.fixture()
def guarded() -> FakeDimail:
    return FakeDimail(Settings(control_token=TOKEN), seed="people-dev")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                                     {"Cookie": "fake_dimail_control=wrong"}])
def test_the_control_token_is_required(guarded, headers):
    client = guarded.client(headers=headers)
    for method, path in [("GET", "/_fake/"), ("GET", "/_fake/state"), ("POST", "/_fake/reset")]:
        response = client.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.json() == {"detail": "Control token required: send Authorization: Bearer <token> (the "
                                             "--control-token the server was started with), or log in at /_fake/ui"}
        assert response.headers["www-authenticate"] == "Bearer"
    assert len(guarded.state()["users"]) == 2


def test_the_bearer_token_opens_the_control_plane(guarded):
    client = guarded.client(headers={"Authorization": f"Bearer {TOKEN}"})
    index = client.get("/_fake/")
    assert index.status_code == 200 and index.json()["settings"]["control_token"] is True
    assert TOKEN not in index.text
    assert client.post("/_fake/reset", params={"seed": "empty"}).status_code == 200


def test_dimails_routes_ignore_the_control_token(guarded):
    assert guarded.client(auth=("la_regie", "password")).get("/token/").status_code == 200


def test_the_dashboard_offers_a_login_form_that_sets_the_cookie(guarded):
    client = guarded.client(follow_redirects=False)
    page = client.get("/_fake/ui")
    assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/_fake/login">' in page.text and 'name="token"' in page.text
    wrong = client.post("/_fake/login", data={"token": "nope"})
    assert wrong.status_code == 401 and "Wrong control token" in wrong.text and "set-cookie" not in wrong.headers
    assert client.get("/_fake/").status_code == 401
    right = client.post("/_fake/login", data={"token": TOKEN})
    assert (right.status_code, right.headers["location"]) == (303, "/_fake/ui")
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(f"fake_dimail_control={TOKEN};") and "HttpOnly" in cookie
    assert "Path=/_fake" in cookie and "SameSite=strict" in cookie
    assert client.get("/_fake/").status_code == 200  # the client keeps the cookie


def test_a_token_the_cookie_must_quote_still_logs_in():
    fake = FakeDimail(Settings(control_token='my "secret", 2'), seed="people-dev")
    client = fake.client(follow_redirects=False)
    right = client.post("/_fake/login", data={"token": 'my "secret", 2'})
    assert right.status_code == 303 and right.headers["set-cookie"].startswith('fake_dimail_control="my')
    assert client.get("/_fake/").status_code == 200  # the quoted cookie is read back unquoted
    assert fake.client(headers={"Cookie": "fake_dimail_control=my"}).get("/_fake/").status_code == 401


def test_a_cross_origin_login_is_refused(guarded):
    response = guarded.client().post("/_fake/login", data={"token": TOKEN}, headers={"Origin": EVIL})
    assert response.status_code == 403 and "set-cookie" not in response.headers
