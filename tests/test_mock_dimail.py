"""`mock_dimail` as People's own tests use it: module-level `requests` calls, no server, no socket.

The calls are written the way People's client writes them (PEOPLE.md §5: URLs
built on MAIL_PROVISIONING_API_URL, a Basic token request then Bearer calls,
307s followed by `requests` itself), so a passing test here is one a People
test would pass too.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import requests
import responses
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from urllib3.connectionpool import HTTPConnectionPool

from fake_dimail import FakeDimail, mock_dimail
from fake_dimail import mock as mock_module

API_URL = "http://dimail:8000"  # People's MAIL_PROVISIONING_API_URL in its dev settings
REGIE = ("la_regie", "password")
DOMAIN = "people.example.fr"


def token() -> str:
    response = requests.get(f"{API_URL}/token/", auth=REGIE, timeout=5)
    assert response.status_code == 200
    return response.json()["access_token"]


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {token()}", "Content-Type": "application/json"}


def create_domain(name: str = DOMAIN) -> requests.Response:
    payload = {"name": name, "context_name": name, "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}
    return requests.post(f"{API_URL}/domains/", json=payload, auth=REGIE, timeout=5)


def create_mailbox(local: str, first: str, last: str, domain: str = DOMAIN) -> requests.Response:
    body = {"givenName": first, "surName": last, "displayName": f"{first} {last}"}
    return requests.post(f"{API_URL}/domains/{domain}/mailboxes/{local}", json=body, headers=bearer(), timeout=5)


def patched() -> tuple[object, ...]:
    return (HTTPAdapter.get_connection_with_tls_context, httpx.HTTPTransport.handle_request,
            httpx.AsyncHTTPTransport.handle_async_request, responses.RequestsMock.start,
            tuple(logging.getLogger("responses").filters), responses.mock.__dict__.get("_on_request"))


ORIGINAL = patched()


@pytest.fixture(autouse=True)
def _nothing_left_patched() -> Iterator[None]:
    yield
    assert patched() == ORIGINAL
    assert not mock_module._registry.active


@pytest.fixture
def fake() -> Iterator[FakeDimail]:
    with mock_dimail(API_URL) as fake:
        yield fake


# --- People's flows -----------------------------------------------------------------------


def test_domain_flow_create_check_spec_fix_then_pending_mailbox(fake):
    created = create_domain()
    assert created.status_code == 201 and created.json()["state"] == "new"
    # People's D2: nothing published yet, so only `domain_exist` fails (action required).
    check = requests.get(f"{API_URL}/domains/{DOMAIN}/check", auth=REGIE, timeout=5)
    assert check.status_code == 200 and check.json()["state"] == "broken"
    spec = requests.get(f"{API_URL}/domains/{DOMAIN}/spec/", auth=REGIE, timeout=5)
    assert spec.status_code == 200 and [r.status_code for r in spec.history] == [307]
    assert {(r["target"], r["type"]) for r in spec.json()} >= {("", "mx"), ("imap", "cname"), ("", "txt")}
    # The domain's owner publishes what /spec asked for; the certificate is still missing.
    fake.set_dns(DOMAIN, spec.json())
    check = requests.get(f"{API_URL}/domains/{DOMAIN}/check", auth=REGIE, timeout=5).json()
    failing = [name for name, result in check.items() if isinstance(result, dict) and not result["ok"]]
    assert failing == ["cert"]
    fixed = requests.get(f"{API_URL}/domains/{DOMAIN}/fix/", auth=REGIE, timeout=5)
    assert fixed.status_code == 200 and fixed.json()["state"] == "ok" and fixed.history[0].status_code == 307
    # People then sends its pending mailbox.
    sent = create_mailbox("jean.dupont", "Jean", "Dupont")
    assert sent.status_code == 201
    assert sent.json()["email"] == f"jean.dupont@{DOMAIN}" and len(sent.json()["password"]) == 16
    assert (DOMAIN, "jean.dupont") in fake.backend.mailboxes


def test_duplicate_display_name_is_a_500_then_the_address_probe_names_the_holder(fake):
    fake.add_domain(DOMAIN, allowed=["la_regie"])
    assert create_mailbox("jean", "Jean", "Dupont").status_code == 201
    duplicate = create_mailbox("jean.d", "Jean", "Dupont")
    assert duplicate.status_code == 500
    assert duplicate.headers["content-type"].startswith("text/plain") and duplicate.text == "Internal Server Error"
    # People's M2: a GET with the M1 payload as body, through the 307.
    probe = requests.get(f"{API_URL}/domains/{DOMAIN}/address/jean.d/", headers=bearer(),
                         json={"givenName": "Jean", "surName": "Dupont", "displayName": "Jean Dupont"}, timeout=5)
    assert probe.status_code == 200 and [r.status_code for r in probe.history] == [307]
    assert probe.json()["is_mailbox"] is False and probe.json()["ox_primary_email"] is None
    assert (DOMAIN, "jean.d") not in fake.backend.mailboxes


def test_alias_create_list_delete_and_delete_all(fake):
    fake.add_domain(DOMAIN, allowed=["la_regie"])
    for destination in ("a@example.org", "b@example.org"):
        created = requests.post(f"{API_URL}/domains/{DOMAIN}/aliases/", headers=bearer(), timeout=5,
                                json={"user_name": "contact", "destination": destination})
        assert created.status_code == 201
        assert created.json() == {"username": "contact", "domain": DOMAIN, "destination": destination,
                                  "allow_to_send": False}
    again = requests.post(f"{API_URL}/domains/{DOMAIN}/aliases/", headers=bearer(), timeout=5,
                          json={"user_name": "contact", "destination": "a@example.org"})
    assert again.status_code == 409 and again.json() == {"detail": "Alias already exists"}
    one = requests.delete(f"{API_URL}/domains/{DOMAIN}/aliases/contact/a@example.org", headers=bearer(), timeout=5)
    assert one.status_code == 204
    rest = requests.get(f"{API_URL}/domains/{DOMAIN}/aliases/", headers=bearer(), timeout=5)
    assert [a["destination"] for a in rest.json()] == ["b@example.org"]
    assert requests.delete(f"{API_URL}/domains/{DOMAIN}/aliases/contact/all", headers=bearer(),
                           timeout=5).status_code == 204
    assert fake.backend.aliases == {}


def test_reset_password_goes_through_its_307(fake):
    fake.add_domain(DOMAIN, allowed=["la_regie"])
    old = fake.add_mailbox(DOMAIN, "jean", password="old-secret")
    response = requests.post(f"{API_URL}/domains/{DOMAIN}/mailboxes/jean/reset_password/", headers=bearer(),
                             timeout=5)
    assert response.status_code == 200
    assert [(r.status_code, r.request.method) for r in response.history] == [(307, "POST")]
    new = response.json()["password"]
    assert response.json()["email"] == f"jean@{DOMAIN}" and new != old
    assert fake.backend.check_password(fake._root, DOMAIN, "jean", new)


def test_login_code_is_created_with_201(fake):
    fake.add_domain(DOMAIN, allowed=["la_regie"])
    fake.add_mailbox(DOMAIN, "jean")
    response = requests.post(f"{API_URL}/domains/{DOMAIN}/mailboxes/jean/code", headers=bearer(), timeout=5,
                             json={"expires_in": 3600, "maxuse": 3})
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == f"jean@{DOMAIN}" and body["maxuse"] == 3 and body["nbuse"] == 0
    assert body["expires_in"] == 3599 and body["code"] in fake.backend.codes


# --- the client library sees a server ---------------------------------------------------------


def test_response_has_what_a_server_gives(fake):
    response = requests.get(f"{API_URL}/users", auth=("admin", "admin"), timeout=5)
    assert response.status_code == 200 and response.url == f"{API_URL}/users/"
    assert [(r.status_code, r.headers["location"]) for r in response.history] == [(307, f"{API_URL}/users/")]
    assert response.headers["content-type"] == "application/json"
    assert [u["name"] for u in response.json()] == ["admin", "la_regie"]
    assert response.elapsed.total_seconds() > 0
    assert response.text.startswith('[{"name":"admin"')


def test_a_mounted_retry_adapter_retries_an_injected_502(fake):
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[502], backoff_factor=0,
                                                           allowed_methods=["GET", "PATCH"])))
    fault = fake.faults.add("GET", "/users/", 502, times=2)
    response = session.get(f"{API_URL}/users/", auth=("admin", "admin"), timeout=5)
    assert response.status_code == 200 and fault.hits == 2
    assert [(e.status, e.fault) for e in fake.requests] == [(502, "502"), (502, "502"), (200, None)]


def test_retries_exhausted_on_502_surface_as_requests_own_error(fake):
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=Retry(total=1, status_forcelist=[502], backoff_factor=0)))
    fake.faults.add("GET", "/users/", 502, times=None)
    with pytest.raises(requests.exceptions.RetryError):
        session.get(f"{API_URL}/users/", auth=("admin", "admin"), timeout=5)
    assert [e.status for e in fake.requests] == [502, 502]


def test_an_injected_connection_error_is_requests_connection_error(fake):
    fake.faults.add("GET", "/token/", "connection-error")
    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        requests.get(f"{API_URL}/token/", auth=REGIE, timeout=5)
    assert "Connection refused" in str(raised.value)
    assert requests.get(f"{API_URL}/token/", auth=REGIE, timeout=5).status_code == 200  # times=1
    assert [(e.status, e.fault) for e in fake.requests] == [(None, "connection-error"), (200, None)]


def test_an_injected_timeout_is_requests_read_timeout(fake):
    fake.faults.add("POST", "/domains/{domain_name}/mailboxes/{user_name}", "timeout")
    fake.add_domain(DOMAIN, allowed=["la_regie"])
    with pytest.raises(requests.exceptions.ReadTimeout):
        create_mailbox("jean", "Jean", "Dupont")
    assert (DOMAIN, "jean") not in fake.backend.mailboxes


def test_httpx_sync_client_module_functions_and_async_client(fake):
    with httpx.Client(base_url=API_URL, follow_redirects=True) as client:
        response = client.get("/users", auth=("admin", "admin"))
        assert response.status_code == 200 and [r.status_code for r in response.history] == [307]
    assert httpx.get(f"{API_URL}/token/", auth=REGIE).status_code == 200

    async def call() -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.get(f"{API_URL}/token/", auth=REGIE)

    response = asyncio.run(call())
    assert response.status_code == 200 and response.json()["token_type"] == "bearer"
    fake.faults.add("GET", "/token/", "connection-error")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{API_URL}/token/", auth=REGIE)
    fake.faults.add("GET", "/token/", "timeout")
    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(call())


# --- activation -------------------------------------------------------------------------------


def test_context_manager_returns_the_given_fake_and_restores_everything_after_an_exception():
    mine = FakeDimail(seed="empty")
    with pytest.raises(RuntimeError):
        with mock_dimail(API_URL, fake=mine) as fake:
            assert fake is mine
            assert patched() != ORIGINAL
            # empty: bootstrap mode, any credentials are the admin
            assert requests.get(f"{API_URL}/token/", auth=("x", "y"), timeout=5).status_code == 200
            raise RuntimeError("the test failed")
    assert patched() == ORIGINAL
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{API_URL}/token/", auth=REGIE, timeout=0.5)


def test_decorator_gives_a_new_fake_per_call_sync_and_async():
    seen: list[FakeDimail] = []  # the fakes themselves: a freed one's id() may be reused
    mock = mock_dimail("http://dimail.test")

    @mock
    def sync_test() -> None:
        assert mock.fake is not None
        seen.append(mock.fake)
        assert requests.post("http://dimail.test/users/", auth=("admin", "admin"), timeout=5,
                             json={"name": "u1", "password": "p", "is_admin": False, "perms": []}).status_code == 201

    @mock
    async def async_test() -> int:
        async with httpx.AsyncClient() as client:
            return (await client.get("http://dimail.test/users/", auth=("admin", "admin"))).status_code

    sync_test()
    sync_test()  # a new fake: u1 does not exist yet
    assert len(seen) == 2 and seen[0] is not seen[1] and mock.fake is None
    assert asyncio.run(async_test()) == 200
    assert sync_test.__name__ == "sync_test"


def test_two_fakes_on_two_urls_and_nesting_on_one():
    with mock_dimail("http://dimail-a:8000") as a, mock_dimail("https://dimail-b.example") as b:
        a.add_user("only_a", "pw")
        assert requests.get("http://dimail-a:8000/token/", auth=("only_a", "pw"), timeout=5).status_code == 200
        assert requests.get("https://dimail-b.example/token/", auth=("only_a", "pw"), timeout=5).status_code == 403
        with mock_dimail("http://dimail-a:8000", seed="empty") as inner:
            assert requests.get("http://dimail-a:8000/token/", auth=("x", "y"), timeout=5).status_code == 200
            assert len(inner.requests) == 1
        assert requests.get("http://dimail-a:8000/token/", auth=("x", "y"), timeout=5).status_code == 403
        assert len(b.requests) == 1 and len(a.requests) == 2


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def other_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_requests_to_other_hosts_reach_the_network(fake, other_server):
    assert requests.get(other_server + "/users/", timeout=5).text == "hello"
    assert httpx.get(other_server + "/users/").text == "hello"
    # Same host, another port: not the mocked dimail either.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get("http://dimail:8001/users/", timeout=0.5)
    assert fake.requests == []


# --- beside `responses` -------------------------------------------------------------------


def test_responses_mocks_registered_before_the_fake_win_and_the_rest_reaches_the_fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, f"{API_URL}/token/", body=requests.exceptions.ConnectionError("down"))
        with mock_dimail(API_URL, responses=rsps) as fake:
            with pytest.raises(requests.exceptions.ConnectionError, match="down"):
                token()
            with pytest.raises(requests.exceptions.ConnectionError, match="down"):
                token()  # not evicted
            assert requests.get(f"{API_URL}/users/", auth=("admin", "admin"), timeout=5).status_code == 200
            assert [e.path for e in fake.requests] == ["/users/"]
        assert rsps.passthru_prefixes == ()


def test_responses_mocks_registered_after_the_fake_win_and_a_catch_all_does_not_shadow_them():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, \
            mock_dimail(API_URL, responses=rsps) as fake:
        assert requests.get(f"{API_URL}/token/", auth=REGIE, timeout=5).status_code == 200
        rsps.add(responses.GET, f"{API_URL}/domains/special.fr/check", json={"state": "ok"}, status=200)
        for _ in range(2):
            special = requests.get(f"{API_URL}/domains/special.fr/check", auth=REGIE, timeout=5)
            assert special.json() == {"state": "ok"}
        other = requests.get(f"{API_URL}/domains/other.fr/check", auth=REGIE, timeout=5)
        assert other.status_code == 404 and other.json() == {"detail": "Domain not found"}
        assert [e.path for e in fake.requests] == ["/token/", "/domains/other.fr/check"]


def test_responses_default_mock_gets_the_pass_through_by_itself():
    @responses.activate
    def people_style_test() -> None:
        responses.add(responses.GET, f"{API_URL}/domains/x.fr/spec/", json=[], status=200)
        assert requests.get(f"{API_URL}/domains/x.fr/spec/", timeout=5).json() == []
        assert requests.get(f"{API_URL}/token/", auth=REGIE, timeout=5).status_code == 200

    with mock_dimail(API_URL) as fake:
        people_style_test()
    assert [e.path for e in fake.requests] == ["/token/"]


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["not a url", "dimail:8000", "ftp://dimail", "http://", "http://dimail:99999",
                                 "http://dimail:8000/api", 42])
def test_a_bad_base_url_is_refused_and_nothing_is_patched(url):
    with pytest.raises(ValueError, match="base_url .* is not scheme://host"):
        mock_dimail(url)  # type: ignore[arg-type]
    assert patched() == ORIGINAL


def test_an_unknown_seed_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="unknown seed 'people'.*empty, people-dev"):
        mock_dimail(API_URL, seed="people")
    assert patched() == ORIGINAL


def test_a_fault_on_a_path_no_operation_has_is_refused(fake):
    with pytest.raises(ValueError, match="no dimail operation POST /domains/x.fr/mailbox/u"):
        fake.faults.add("POST", "/domains/x.fr/mailbox/u", 503)
    with pytest.raises(ValueError, match="no dimail operation PUT /users/"):
        fake.faults.add("PUT", "/users/", 503)
    with pytest.raises(ValueError, match="fault answer 'boom'"):
        fake.faults.add("GET", "/users/", "boom")
    assert len(fake.faults) == 0


# --- quiet in-process -------------------------------------------------------------------------


def test_in_process_the_request_log_is_debug_only(fake, caplog):
    with caplog.at_level("INFO"):
        token()
    assert [r for r in caplog.records if r.name == "fake_dimail.requests"] == []
    with caplog.at_level("DEBUG", logger="fake_dimail.requests"):
        requests.get(f"{API_URL}/token/%0aforged", auth=REGIE, timeout=5)
    lines = [r.getMessage() for r in caplog.records if r.name == "fake_dimail.requests"]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith("GET /token/\\x0aforged 404 user=- ")


# --- beside a network guard (People's, written from its description) --------------------------


@pytest.mark.parametrize("pool_made", ["before the guard", "under the guard"])
def test_the_fake_answers_under_peoples_network_guard_and_other_hosts_meet_it(pool_made, monkeypatch):
    """People's autouse guard, written from its description: urllib3's `urlopen` refuses every host but
    localhost, patched after fake_dimail is imported."""
    if pool_made == "under the guard":
        mock_module._fake_pool_class.cache_clear()  # the pool class is then made while the guard is on
    else:
        mock_module._fake_pool_class()
    real = HTTPConnectionPool.urlopen

    def refuse(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.host == "localhost":
            return real(self, method, url, *args, **kwargs)
        raise RuntimeError(f"The test was about to {method} {self.scheme}://{self.host}{url}")

    monkeypatch.setattr(HTTPConnectionPool, "urlopen", refuse)
    with mock_dimail(API_URL) as fake:
        assert token()
        assert create_domain().status_code == 201
        with pytest.raises(RuntimeError, match="The test was about to GET http://example.org/"):
            requests.get("http://example.org/", timeout=5)
    assert [c.status for c in fake.calls] == [200, 201]
    mock_module._fake_pool_class.cache_clear()


def test_a_guard_keeping_no_reference_to_urllib3s_method_does_not_reach_the_fake(monkeypatch):
    mock_module._fake_pool_class.cache_clear()

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("no network in tests")

    monkeypatch.setattr(HTTPConnectionPool, "urlopen", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)  # a socket-level guard too
    with mock_dimail(API_URL):
        assert token()
        with pytest.raises(RuntimeError, match="no network in tests"):
            requests.get("http://example.org/", timeout=5)
    mock_module._fake_pool_class.cache_clear()


# --- `responses` without ceremony ----------------------------------------------------------------


def test_a_responses_mock_started_under_the_fake_passes_it_through_without_log_records(fake, caplog):
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{API_URL}/domains/special.fr/check", json={"state": "ok"})
        assert requests.get(f"{API_URL}/domains/special.fr/check", timeout=5).json() == {"state": "ok"}
        assert token()
        assert rsps.passthru_prefixes == (API_URL + "/",)
    assert [r for r in caplog.records if r.name == "responses"] == []
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []
    assert [c.path for c in fake.calls] == ["/token/"]


def test_a_responses_mock_outliving_the_fake_loses_the_pass_through():
    rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
    with mock_dimail(API_URL):
        rsps.start()
        assert token()
    assert rsps.passthru_prefixes == ()
    with pytest.raises(requests.exceptions.ConnectionError, match="Connection refused by Responses"):
        requests.get(f"{API_URL}/token/", timeout=5)
    rsps.stop()
    rsps.reset()


# --- what `responses` passes through to the fake is in its `calls` -----------------------------------


def test_responses_calls_hold_the_fakes_exchanges_in_order_with_the_mocked_ones(caplog):
    """People's style: `@responses.activate`, the token from the fake at [0], a payload read at [1]."""
    caplog.set_level(logging.DEBUG)
    mocked = f"{API_URL}/domains/{DOMAIN}/mailboxes/jean"

    @responses.activate
    def people_style_test() -> None:
        responses.add(responses.POST, mocked, json={"email": f"jean@{DOMAIN}", "password": "x"}, status=201)
        created = requests.post(mocked, json={"givenName": "Jean"}, headers=bearer(), timeout=5)
        assert created.status_code == 201
        # A 307 the client follows is two exchanges, each its own entry, as with a real dimail passed through.
        missing = requests.get(f"{API_URL}/domains/nowhere.fr/", timeout=5)
        assert len(responses.calls) == 4
        first, second, redirect, third = responses.calls
        assert (redirect.request.url, redirect.response.status_code) == (f"{API_URL}/domains/nowhere.fr/", 307)
        assert isinstance(first.request, requests.PreparedRequest) and isinstance(first.response, requests.Response)
        assert (first.request.url, first.response.status_code) == (f"{API_URL}/token/", 200)
        assert first.response.json()["token_type"] == "bearer"
        assert json.loads(responses.calls[1].request.body) == {"givenName": "Jean"}
        assert responses.calls[1].response.status_code == 201
        assert third.response is missing and third.response.json() == {"detail": "Not authenticated"}
        assert responses.assert_call_count(f"{API_URL}/token/", 1)
        assert responses.assert_call_count(mocked, 1)

    with mock_dimail(API_URL) as fake:
        people_style_test()
        assert "_on_request" in vars(responses.mock)
    assert [c.path for c in fake.calls] == ["/token/", "/domains/nowhere.fr/", "/domains/nowhere.fr"]
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


def test_a_mock_of_the_fakes_url_is_recorded_once_and_unfired_mocks_still_fail_the_test(fake):
    rsps = responses.RequestsMock()
    rsps.start()
    rsps.add(responses.PassthroughResponse(responses.GET, f"{API_URL}/token/"))  # the test's own pass-through
    rsps.add(responses.GET, f"{API_URL}/users/", json=[])
    assert token()
    assert [(c.request.url, c.response.status_code) for c in rsps.calls] == [(f"{API_URL}/token/", 200)]
    with pytest.raises(AssertionError, match="Not all requests have been executed.*/users/"):
        rsps.stop()
    rsps.reset()


def test_a_dropped_connection_to_the_fake_is_recorded_as_a_mocked_exception_is(fake):
    with responses.RequestsMock() as rsps:
        with fake.faults.down():
            with pytest.raises(requests.exceptions.ConnectionError):
                token()
        assert token()
        assert [type(c.response).__name__ for c in rsps.calls] == ["ConnectionError", "Response"]
        assert rsps.calls[0].request.url == f"{API_URL}/token/"


def test_pass_throughs_to_other_hosts_stay_unrecorded_and_the_recording_goes_with_the_fake():
    other = "http://localhost:9"  # refused at once: a pass-through that raises, which `responses` never records
    rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
    with mock_dimail(API_URL):
        rsps.start()
        rsps.add_passthru(other)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(other + "/users/", timeout=5)
        assert token()
        assert [c.request.url for c in rsps.calls] == [f"{API_URL}/token/"]
    assert "_on_request" not in vars(rsps)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(other + "/users/", timeout=5)
    assert len(rsps.calls) == 1
    rsps.stop()
    rsps.reset()


def test_a_hook_of_the_mocks_own_is_kept_under_the_recording_and_given_back():
    rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
    seen, original = [], rsps._on_request

    def spy(adapter, request, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(request.url)
        return original(adapter, request, **kwargs)

    rsps._on_request = spy
    with mock_dimail(API_URL), rsps:
        assert token()
        assert len(rsps.calls) == 1
    assert rsps.__dict__["_on_request"] is spy and seen == [f"{API_URL}/token/"]


# --- a refused host names the fake ------------------------------------------------------------------


def test_a_refused_request_to_another_host_names_the_fakes_url(fake):
    hint = ("fake-dimail: the active fake answers http://dimail:8000, not http://localhost:9; if this request is "
            "meant for dimail, give the fake that URL (pytest ini option dimail_url, or MAIL_PROVISIONING_API_URL)")
    with pytest.raises(requests.exceptions.ConnectionError) as refused:
        requests.get("http://localhost:9/token/", timeout=5)
    assert hint in str(refused.value)
    with pytest.raises(httpx.ConnectError) as refused_httpx:
        httpx.get("http://localhost:9/token/")
    assert hint in str(refused_httpx.value)


# --- retries: the same attempts, no backoff waited ------------------------------------------------


@pytest.mark.parametrize("retry_backoff", [False, True])
def test_a_retrying_session_makes_its_attempts_without_waiting_its_backoff(retry_backoff, monkeypatch):
    waited: list[float] = []
    monkeypatch.setattr(time, "sleep", waited.append)  # what urllib3's Retry sleeps with
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=Retry(total=4, backoff_factor=10, status_forcelist=[502])))
    with mock_dimail(API_URL, retry_backoff=retry_backoff) as fake:
        fake.faults.add("GET", "/token/", 502, times=3)
        assert session.get(f"{API_URL}/token/", auth=REGIE, timeout=5).status_code == 200
    assert [c.status for c in fake.calls] == [502, 502, 502, 200]
    assert [w for w in waited if w] == ([20, 40] if retry_backoff else [])
