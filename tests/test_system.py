"""The `system` family (`/system/…`, CONTRACT.md §4.21) through HTTP: each life cycle, its bodies and the state left.

Rate-limit profiles (create, read, change, delete, and mailboxes naming them),
stores and mailbox information derived from the mailboxes, the mail queue
steered through `/_fake/`, moves (a domain coming here by `import_domain` and
`move_mailbox`, one leaving by `database/{db}`) and the 410 they give on the
operations that declare it, `check_contexts`, `disconnect`, `shutdown`
in-process and standalone; and every refusal: no credentials, wrong ones, not
an admin.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fake_dimail import FakeDimail
from tests.conftest import start_server
from tests.test_openapi import REFERENCE

DOMAIN = "example.fr"
WEBMAIL = {"name": DOMAIN, "context_name": DOMAIN, "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}
MOVING = {"detail": "Domain is moving to another platform"}
DENIED = {"detail": "Permission denied"}
STANDARD = {"name": "standard", "limits": [{"seconds": 60, "emails": 10}, {"seconds": 3600, "emails": 100}]}
IMPORT = {
    "moving_from": "old-platform",
    "moving_mailboxes": [
        {"username": "jean@example.fr", "password": "{SSHA512}old-hash", "active": "yes", "rate_limit": "standard"},
        {"username": "marie", "password": "{SSHA512}other", "imap_active": "no", "smtp_active": "yes",
         "rate_limit": None},
    ],
    "moving_aliases": [{"alias": "contact@example.fr", "destination": "jean@example.fr"}],
    "moving_senders": [{"login": "jean@example.fr", "sender": "direction@example.fr"}],
    "moving_dkim": {"selector": "dimail", "private": "PRIVATE", "public": "v=DKIM1; k=rsa; p=MOVED"},
}
SYSTEM_OPERATIONS = sorted(
    (method.upper(), path, "TokenUser" if "TokenUser" in json.dumps(op.get("security")) else "BasicUser")
    for path, item in REFERENCE["paths"].items() for method, op in item.items() if "system" in op.get("tags", [])
)
SAMPLE = {"name": "standard", "store_name": "default", "domain_name": DOMAIN, "user_name": "jean",
          "db_name": "db1", "schema_name": "schema1"}
BODIES = {"/system/rate_limits/{name}": STANDARD, "/system/check_contexts": {"contexts": []},
          "/system/import_domain/{domain_name}": IMPORT, "/system/database/{db_name}": {"move_to": "new-platform"}}


@pytest.fixture()
def fake() -> FakeDimail:
    fake = FakeDimail(seed="people-dev")
    fake.add_domain(DOMAIN, allowed=["la_regie"])
    return fake


@pytest.fixture()
def admin(fake: FakeDimail) -> httpx.Client:
    return fake.client(auth=("admin", "admin"))


def bearer(fake: FakeDimail, user: str) -> httpx.Client:
    return fake.client(headers={"Authorization": f"Bearer {fake.token(user)}"})


def answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, response.json() if response.content else None


# --- the refusals ------------------------------------------------------------------------


def _call(client: httpx.Client, method: str, path: str) -> httpx.Response:
    body = BODIES.get(path) if method in ("POST", "PATCH") else None
    return client.request(method, path.format(**SAMPLE), json=body)


@pytest.mark.parametrize(("method", "path", "scheme"), SYSTEM_OPERATIONS, ids=[f"{m} {p}" for m, p, _ in SYSTEM_OPERATIONS])
def test_every_system_operation_refuses_all_but_an_admin(fake: FakeDimail, method: str, path: str,
                                                         scheme: str) -> None:
    before = fake.state()
    if scheme == "BasicUser":
        refused = _call(fake.client(), method, path)
        assert answer(refused) == (401, {"detail": "Not authenticated"})
        assert refused.headers["www-authenticate"] == "Basic"
        assert answer(_call(fake.client(auth=("admin", "wrong")), method, path)) == (403, DENIED)
        assert answer(_call(fake.client(auth=("la_regie", "password")), method, path)) == (403, DENIED)
    else:
        assert answer(_call(fake.client(), method, path)) == (403, {"detail": "Not authenticated"})
        assert answer(_call(fake.client(headers={"Authorization": "Bearer not.a.jwt"}), method, path)) == (403, DENIED)
        assert answer(_call(bearer(fake, "la_regie"), method, path)) == (403, DENIED)
    assert fake.state() == before
    assert not fake.stopped


def test_the_family_is_the_documents_twenty_operations() -> None:
    assert len(SYSTEM_OPERATIONS) == 20


# --- what the platform says about itself ---------------------------------------------------


def test_health_version_and_tech_domain(admin: httpx.Client) -> None:
    fine = {"status": True, "detail": []}
    modules = ["remote", "certbot", "opendkim", "openxchange", "sql_api", "sql_dkim", "sql_imap", "sql_postfix",
               "business"]
    assert answer(admin.get("/system/health_check")) == (200, {**{f"{m}_module": fine for m in modules},
                                                              "status": True})
    status, version = answer(admin.get("/system/version"))
    assert status == 200 and version["version"].startswith("v0.8.2+fake-dimail.")
    assert "dimail v0.8.2" in version["changelog"][0]
    assert answer(admin.get("/system/tech_domain")) == (200, {"tech_name": "ox.numerique.gouv.fr",
                                                             "host_name": "ox.numerique.gouv.fr"})


# --- rate-limit profiles -----------------------------------------------------------------


def test_rate_limit_life_cycle(fake: FakeDimail, admin: httpx.Client) -> None:
    assert answer(admin.get("/system/rate_limits")) == (200, [])
    assert answer(admin.get("/system/rate_limits/standard")) == (404, {"detail": "Rate limit not found"})
    assert answer(admin.post("/system/rate_limits/standard", json=STANDARD)) == (201, STANDARD)
    assert answer(admin.post("/system/rate_limits/standard", json=STANDARD)) == (
        409, {"detail": "Rate limit already exists"})
    assert answer(admin.post("/system/rate_limits/other", json=STANDARD)) == (
        422, {"detail": "The name in the body must be the name in the path"})
    strict = {"name": "strict", "limits": [{"seconds": 1, "emails": 1}]}
    assert answer(admin.post("/system/rate_limits/strict", json=strict)) == (201, strict)
    assert answer(admin.get("/system/rate_limits")) == (200, [STANDARD, strict])
    # A mailbox names a profile; the name is kept as it is, whatever happens to the profile.
    jean = bearer(fake, "la_regie").post(f"/v2/domains/{DOMAIN}/mailboxes/jean",
                                         json={"features": [], "rate_limit": "strict"})
    assert jean.status_code == 201
    changed = {"name": "strict", "limits": [{"seconds": 10, "emails": 5}]}
    assert answer(admin.patch("/system/rate_limits/strict", json=changed)) == (200, changed)
    assert answer(admin.get("/system/rate_limits/strict")) == (200, changed)
    assert answer(admin.patch("/system/rate_limits/ghost", json={"name": "ghost", "limits": []})) == (
        404, {"detail": "Rate limit not found"})
    deleted = admin.delete("/system/rate_limits/strict")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert answer(admin.delete("/system/rate_limits/strict")) == (404, {"detail": "Rate limit not found"})
    assert bearer(fake, "la_regie").get(f"/v2/domains/{DOMAIN}/mailboxes/jean").json()["rate_limit"] == "strict"
    state = fake.state()
    assert state["rate_limits"] == [{"name": "standard", "limits": [[60, 10], [3600, 100]]}]
    # The profiles are state like any other: a snapshot puts them back.
    other = FakeDimail()
    other.backend.load(state)
    assert answer(other.client(auth=("admin", "admin")).get("/system/rate_limits")) == (200, [STANDARD])


# --- stores, mailboxes, mail queue, disconnect -----------------------------------------------


def test_stores_and_mailbox_information_follow_the_mailboxes(fake: FakeDimail, admin: httpx.Client) -> None:
    api = bearer(fake, "la_regie")
    for local, store in (("jean", None), ("marie", "store2"), ("paul", "store2")):
        body: dict[str, Any] = {"features": []} if store is None else {"features": [], "store": store}
        assert api.post(f"/v2/domains/{DOMAIN}/mailboxes/{local}", json=body).status_code == 201

    def store(name: str, count: int) -> dict[str, Any]:
        host = f"{name}.imap.ox.numerique.gouv.fr"
        return {"name": name, "host": host, "transport": f"lmtp:[{host}]:24", "nb_mailboxes": count,
                "used_inodes": None, "total_inodes": 0, "available_inodes": 0, "used_space": None,
                "total_space": 0, "available_space": 0}

    assert answer(admin.get("/system/stores_info")) == (200, [store("default", 1), store("store2", 2)])
    assert answer(admin.get("/system/store_info/store2")) == (200, store("store2", 2))
    assert answer(admin.get("/system/store_info/nowhere")) == (404, {"detail": "Store not found"})
    # Moving a mailbox to another store moves it in the listing too.
    assert api.patch(f"/v2/domains/{DOMAIN}/mailboxes/jean", json={"store": "store2"}).status_code == 200
    assert answer(admin.get("/system/store_info/store2")) == (200, store("store2", 3))
    assert answer(admin.get("/system/store_info/default")) == (200, store("default", 0))

    def info(local: str, store: str) -> dict[str, Any]:
        return {"email": f"{local}@{DOMAIN}", "storage": "local", "store": store, "imap_dir": True,
                "sieve_dir": False, "need_moving": False, "moving_away": False}

    assert answer(admin.get(f"/system/mailbox_info/{DOMAIN}/marie")) == (200, info("marie", "store2"))
    assert answer(admin.get(f"/system/mailboxes_info/{DOMAIN}")) == (
        200, [info("jean", "store2"), info("marie", "store2"), info("paul", "store2")])
    assert answer(admin.get(f"/system/mailbox_info/{DOMAIN}/ghost")) == (404, {"detail": "Mailbox not found"})
    assert answer(admin.get("/system/mailboxes_info/ghost.fr")) == (404, {"detail": "Domain not found"})
    assert answer(admin.get(f"/system/disconnect/{DOMAIN}/jean")) == (200, {})
    assert answer(admin.get(f"/system/disconnect/{DOMAIN}/ghost")) == (404, {"detail": "Mailbox not found"})
    # An unknown domain is named before its mailbox (the document shows no body: the fake's order).
    for path in ("mailbox_info/ghost.fr/jean", "disconnect/ghost.fr/jean"):
        assert answer(admin.get(f"/system/{path}")) == (404, {"detail": "Domain not found"}), path


def test_a_mailbox_naming_the_default_store_counts_in_it_once(fake: FakeDimail, admin: httpx.Client) -> None:
    api = bearer(fake, "la_regie")
    for local, store in (("jean", "default"), ("marie", None)):
        body: dict[str, Any] = {"features": []} if store is None else {"features": [], "store": store}
        assert api.post(f"/v2/domains/{DOMAIN}/mailboxes/{local}", json=body).status_code == 201
    listed = admin.get("/system/stores_info").json()
    assert [(s["name"], s["nb_mailboxes"]) for s in listed] == [("default", 2)]


def test_importing_a_mailbox_already_here_keeps_what_the_import_does_not_carry(fake: FakeDimail,
                                                                              admin: httpx.Client) -> None:
    api = bearer(fake, "la_regie")
    assert api.post(f"/v2/domains/{DOMAIN}/mailboxes/jean",
                    json={"features": [], "quota": "1G", "store": "store2"}).status_code == 201
    assert answer(admin.patch(f"/system/import_domain/{DOMAIN}", json=IMPORT)) == (200, {})
    jean = next(m for m in fake.state()["mailboxes"] if m["local"] == "jean")
    assert (jean["password_hash"], jean["rate_limit"], jean["quota"], jean["store"]) == (
        "{SSHA512}old-hash", "standard", "1G", "store2")


def test_the_mail_queue_is_empty_unless_steered(fake: FakeDimail, admin: httpx.Client) -> None:
    assert answer(admin.get(f"/system/mailqueue/{DOMAIN}/jean")) == (200, [])
    first = fake.queue_mail(DOMAIN, "jean")
    queued = fake.client().post(f"/_fake/mailqueue/{DOMAIN}/jean")
    assert queued.status_code == 201 and queued.json()["email"] == f"jean@{DOMAIN}"
    second = queued.json()["queue_id"]
    assert len(first) == 10 and first != second
    assert answer(admin.get(f"/system/mailqueue/{DOMAIN}/jean")) == (200, [first, second])
    assert answer(admin.get(f"/system/mailqueue/{DOMAIN}/marie")) == (200, [])
    assert answer(admin.get("/system/mailqueue/ghost.fr/jean")) == (404, {"detail": "Domain not found"})
    assert [m["queue_id"] for m in fake.state()["mailqueue"]] == [first, second]
    assert fake.client().delete(f"/_fake/mailqueue/{DOMAIN}/jean").status_code == 204
    assert answer(admin.get(f"/system/mailqueue/{DOMAIN}/jean")) == (200, [])


# --- moves --------------------------------------------------------------------------------

# One operation declaring 410 per family, and ones that do not declare it, for a domain that moves.
DECLARING = [
    ("GET", f"/domains/{DOMAIN}", None),
    ("PATCH", f"/domains/{DOMAIN}", {"imap_domain": "imap.example.fr"}),
    ("GET", f"/domains/{DOMAIN}/mailboxes/", None),
    ("GET", f"/v2/domains/{DOMAIN}/mailboxes/jean", None),
    ("POST", f"/v2/domains/{DOMAIN}/mailboxes/new", {"features": []}),
    ("DELETE", f"/domains/{DOMAIN}/mailboxes/jean", None),
    ("POST", f"/domains/{DOMAIN}/mailboxes/jean/reset_password", None),
    ("GET", f"/domains/{DOMAIN}/aliases/", None),
    ("POST", f"/domains/{DOMAIN}/aliases/", {"user_name": "info", "destination": "jean@example.fr"}),
    ("GET", f"/domains/{DOMAIN}/address/jean", None),
]


def _as_regie(fake: FakeDimail, method: str, path: str, body: Any) -> httpx.Response:
    basic = method == "PATCH" and path == f"/domains/{DOMAIN}"
    client = fake.client(auth=("la_regie", "password")) if basic else bearer(fake, "la_regie")
    return client.request(method, path, json=body)


def test_a_domain_leaving_answers_410_where_declared_until_the_move_completes(fake: FakeDimail,
                                                                             admin: httpx.Client) -> None:
    fake.add_mailbox(DOMAIN, "jean", given_name="Jean", sur_name="Dupont")
    code = bearer(fake, "la_regie").post(f"/domains/{DOMAIN}/mailboxes/jean/code", json={}).json()["code"]
    assert admin.patch(f"/domains/{DOMAIN}", json={"schema_name": "db1"}).status_code == 200
    assert answer(admin.patch("/system/database/db2", json={"move_to": "new-platform"})) == (
        404, {"detail": "Database not found"})
    assert answer(admin.patch("/system/database/db1", json={"move_to": "new-platform"})) == (200, {})
    before = fake.state()
    assert fake.move(DOMAIN) == {"domain": DOMAIN, "moving_from": None, "moving_to": "new-platform", "pending": []}
    for method, path, body in DECLARING:
        assert answer(_as_regie(fake, method, path, body)) == (410, MOVING), (method, path)
    assert answer(bearer(fake, "la_regie").get(f"/code/{code}")) == (410, MOVING)
    assert fake.state() == before
    # The rights come first: a user not allowed on the domain still gets the refusal, not the 410.
    fake.add_user("other", "pw", perms=["new_domain"])
    assert answer(bearer(fake, "other").get(f"/domains/{DOMAIN}/mailboxes/")) == (403, DENIED)
    assert answer(bearer(fake, "other").get(f"/domains/{DOMAIN}")) == (401, {"detail": "Not authorized."})
    assert answer(fake.client(auth=("other", "pw")).patch(f"/domains/{DOMAIN}", json={})) == (403, DENIED)
    # Operations that do not declare 410 still answer.
    assert fake.client(auth=("la_regie", "password")).get(f"/domains/{DOMAIN}/check").status_code == 200
    assert admin.get(f"/system/mailbox_info/{DOMAIN}/jean").json()["moving_away"] is True
    assert fake.client().delete(f"/_fake/domains/{DOMAIN}/move").status_code == 204
    assert answer(fake.client().get(f"/_fake/domains/{DOMAIN}/move")) == (
        404, {"detail": "Domain is not moving: nothing to complete"})
    for method, path, body in DECLARING[:4]:
        assert _as_regie(fake, method, path, body).status_code == 200, (method, path)
    assert fake.state()["moves"] == [] and fake.state()["domains"][0]["moving"] is False


def test_a_domain_coming_here_moves_mailbox_by_mailbox(fake: FakeDimail, admin: httpx.Client) -> None:
    api, root = bearer(fake, "la_regie"), bearer(fake, "admin")
    assert answer(root.get(f"/system/move_mailbox/{DOMAIN}/jean")) == (424, {"detail": "Domain is not moving"})
    assert answer(admin.patch("/system/import_domain/ghost.fr", json=IMPORT)) == (404, {"detail": "Domain not found"})
    wrong = {**IMPORT, "moving_aliases": [{"alias": "contact@other.fr", "destination": "jean@example.fr"}]}
    before = fake.state()
    assert answer(admin.patch(f"/system/import_domain/{DOMAIN}", json=wrong)) == (
        422, {"detail": [{"type": "value_error", "loc": ["body", "moving_aliases", 0, "alias"],
                          "msg": "Value error, contact@other.fr is not an address of example.fr",
                          "input": "contact@other.fr", "ctx": {"error": {}}}]})  # the declared list
    assert fake.state() == before
    assert answer(admin.patch(f"/system/import_domain/{DOMAIN}", json=IMPORT)) == (200, {})
    state = fake.state()
    jean, marie = state["mailboxes"]
    assert (jean["local"], jean["password_hash"], jean["imap_active"], jean["rate_limit"]) == (
        "jean", "{SSHA512}old-hash", "yes", "standard")
    assert jean["additional_senders"] == ["direction@example.fr"]
    assert (marie["local"], marie["imap_active"], marie["smtp_active"]) == ("marie", "no", "yes")
    assert [(a["local"], a["destination"]) for a in state["aliases"]] == [("contact", "jean@example.fr")]
    assert state["domains"][0]["dkim_public"] == "v=DKIM1; k=rsa; p=MOVED"
    assert state["domains"][0]["moving"] is True
    assert fake.move(DOMAIN)["pending"] == ["jean@example.fr", "marie@example.fr"]
    assert answer(api.get(f"/domains/{DOMAIN}/mailboxes/jean")) == (410, MOVING)
    assert admin.get(f"/system/mailbox_info/{DOMAIN}/jean").json() == {
        "email": "jean@example.fr", "storage": "proxy", "store": "default", "imap_dir": False,
        "sieve_dir": False, "need_moving": True, "moving_away": False}
    assert answer(root.get(f"/system/move_mailbox/{DOMAIN}/ghost")) == (404, {"detail": "Mailbox not found"})
    assert answer(root.get(f"/system/move_mailbox/{DOMAIN}/jean")) == (200, {})
    assert admin.get(f"/system/mailbox_info/{DOMAIN}/jean").json()["need_moving"] is False
    assert answer(root.get(f"/system/move_mailbox/{DOMAIN}/jean")) == (200, {})  # already here: nothing to do
    assert fake.move(DOMAIN)["pending"] == ["marie@example.fr"]
    assert answer(api.get(f"/domains/{DOMAIN}/mailboxes/jean"))[0] == 410
    # The last mailbox moved completes the move.
    assert answer(root.get(f"/system/move_mailbox/{DOMAIN}/marie")) == (200, {})
    assert fake.state()["moves"] == [] and fake.state()["mailbox_moves"] == []
    assert api.get(f"/domains/{DOMAIN}/mailboxes/jean").status_code == 200


def test_steering_a_move_in_python_and_over_http(fake: FakeDimail) -> None:
    fake.add_mailbox(DOMAIN, "jean", given_name="Jean", sur_name="Dupont")
    steering = fake.client()
    assert answer(steering.put(f"/_fake/domains/{DOMAIN}/move", json={"moving_from": "old"})) == (
        200, {"domain": DOMAIN, "moving_from": "old", "moving_to": None, "pending": ["jean@example.fr"]})
    assert answer(steering.get(f"/_fake/domains/{DOMAIN}/move"))[1]["pending"] == ["jean@example.fr"]
    assert answer(steering.put("/_fake/domains/ghost.fr/move", json={})) == (404, {"detail": "Domain not found"})
    assert answer(steering.put(f"/_fake/domains/{DOMAIN}/move", json={"moving": True}))[0] == 422
    # Deleting the mailbox (here through the backend, the API answers 410) takes its pending move along.
    fake.backend.state.delete_mailbox(DOMAIN, "jean")
    assert fake.move(DOMAIN)["pending"] == []
    fake.complete_move(DOMAIN)
    # A domain deleted while moving leaves no move behind (DELETE /domains/{d} declares no 410).
    fake.add_domain("empty.fr", allowed=["la_regie"])
    assert fake.set_moving("empty.fr", moving_to="new")["moving_to"] == "new"
    assert fake.client(auth=("la_regie", "password")).delete("/domains/empty.fr").status_code == 204
    assert fake.state()["moves"] == []
    fake.add_domain("empty.fr", allowed=["la_regie"])  # created again, it is not moving
    assert bearer(fake, "la_regie").get("/domains/empty.fr").status_code == 200


def test_databases_and_check_contexts(fake: FakeDimail, admin: httpx.Client) -> None:
    assert answer(admin.post("/system/database/db1/schema1")) == (200, {"name": "schema1"})
    assert answer(admin.patch("/system/database/db1", json={"move_to": "new"})) == (200, {})  # no domain in it
    assert fake.state()["databases"] == [{"name": "db1", "schema_name": "schema1"}]
    context = fake.state()["contexts"][0]
    sent = {"contexts": [
        {"cid": 900, "name": "elsewhere", "schema_name": "schema1", "domains": ["elsewhere.fr"]},
        {"cid": context["id"], "name": context["name"], "schema_name": "s", "domains": [DOMAIN]},
        {"cid": context["id"], "name": context["name"], "schema_name": "s", "domains": [DOMAIN, "more.fr"]},
        {"cid": context["id"], "name": "renamed", "schema_name": "s", "domains": [DOMAIN]},
    ]}
    status, checked = answer(admin.post("/system/check_contexts", json=sent))
    assert status == 200 and checked["schemas"] == {"schema1": "db1"}
    assert [(c["status"], c["comment"]) for c in checked["contexts"]] == [
        ("available", []),
        ("same", []),
        ("partial", ["domain more.fr is only there"]),
        ("differ", [f"context id {context['id']} is {context['name']} here"]),
    ]
    assert [{k: c[k] for k in ("cid", "name", "schema_name", "domains")} for c in checked["contexts"]] == sent["contexts"]


# --- shutdown -------------------------------------------------------------------------------


def test_shutdown_in_process_refuses_every_later_connection(fake: FakeDimail, admin: httpx.Client) -> None:
    import requests

    from fake_dimail import mock_dimail

    assert answer(admin.get("/system/shutdown")) == (200, {})
    assert fake.stopped
    with pytest.raises(httpx.ConnectError):
        admin.get("/system/version")
    with pytest.raises(httpx.ConnectError):
        fake.client().get("/_fake/dns/example.fr")
    with mock_dimail("http://dimail.test", fake=fake), pytest.raises(requests.exceptions.ConnectionError):
        requests.get("http://dimail.test/system/version", auth=("admin", "admin"))
    assert fake.requests[-1].path == "/system/shutdown"  # a stopped server journals nothing
    fake.restart()
    assert admin.get("/system/version").status_code == 200
    admin.get("/system/shutdown")
    fake.reset()  # a fresh fake for the next test (the pytest plugin's reset) answers again
    assert not fake.stopped and admin.get("/system/version").status_code == 200


def test_shutdown_stops_the_standalone_server() -> None:
    process, url = start_server("--seed", "people-dev")
    try:
        assert answer(httpx.get(url + "/system/shutdown", auth=("admin", "admin"))) == (200, {})
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr is not None
    assert "fake-dimail: stopped by GET /system/shutdown" in process.stderr.read().decode()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/system/version", auth=("admin", "admin"), timeout=2)
