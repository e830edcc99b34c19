"""Nobody stalled, nothing leaking (issue 20): big bodies, `--max-body`, the Host check, a user's quiet run.

The full disk under `--state` is tested with the rest of the state file, in test_persistence.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import hashlib
import hmac
import json
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fake_dimail import FakeDimail, Settings, strict_json
from fake_dimail.bodies import OFFLOAD_ABOVE
from fake_dimail.cli import _size, build_parser, main
from fake_dimail.config import DEFAULT_JWT_SECRET
from tests.conftest import served
from tests.test_pytest_plugin import run_pytest

MAX_BODY = 300 * 1024  # the served fake's --max-body: above OFFLOAD_ABOVE, so both paths show over HTTP
ALIAS = {"user_name": "big", "destination": "x@else.fr"}


def too_large(size: int, limit: int) -> dict[str, str]:
    return {"detail": f"Request body too large: {size} bytes, where this fake-dimail takes at most {limit} "
                      "(--max-body): send a smaller body, or start it with a larger --max-body"}


def aliased(size: int) -> bytes:
    """An alias creation whose body is exactly `size` bytes (a long description)."""
    empty = json.dumps({**ALIAS, "description": ""}).encode()
    return json.dumps({**ALIAS, "description": "d" * (size - len(empty))}).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    yield from served("--seed", "people-dev", "--max-body", "300K", "--allowed-host", "Dimail.Test")


@pytest.fixture
def domain(server: str) -> Iterator[httpx.Client]:
    """example.fr, and a Bearer client of la_regie on it; both gone afterwards."""
    with httpx.Client(base_url=server, auth=("admin", "admin"), timeout=30) as admin:
        assert admin.post("/domains/?no_check=true", json={"name": "example.fr", "features": ["mailbox", "alias"]}
                          ).status_code == 201
        assert admin.post("/allows/", json={"user": "la_regie", "domain": "example.fr"}).status_code == 201
        token = admin.get("/token/", params={"username": "la_regie"}).json()["access_token"]
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        yield api
    httpx.post(f"{server}/_fake/reset", timeout=30)


# --- bodies: a limit, and big ones served off the event loop ---------------------------------------------


def test_a_body_beyond_max_body_is_413_and_changes_nothing() -> None:
    fake = FakeDimail(Settings(max_body=1000), seed="people-dev")
    fake.add_domain("example.fr", features=["mailbox", "alias"], allowed=["la_regie"])
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}",
                               "Content-Type": "application/json"})
    refused = api.post("/domains/example.fr/aliases/", content=aliased(1001))
    assert (refused.status_code, refused.json()) == (413, too_large(1001, 1000))
    assert fake.state()["aliases"] == []
    assert [(e.path, e.status) for e in fake.requests][-1] == ("/domains/example.fr/aliases/", 413)
    assert api.post("/domains/example.fr/aliases/", content=aliased(1000)).status_code == 201  # the limit itself
    assert Settings().max_body == 16 * 1024 * 1024


def test_over_http_a_body_beyond_max_body_is_read_then_refused(server: str, domain: httpx.Client) -> None:
    size = MAX_BODY + 1
    declared = domain.post("/domains/example.fr/aliases/", content=aliased(size),
                           headers={"Content-Type": "application/json"})
    assert (declared.status_code, declared.json()) == (413, too_large(size, MAX_BODY))

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it comes
        body = aliased(3 * MAX_BODY)
        yield from (body[i:i + 65536] for i in range(0, len(body), 65536))

    chunked = domain.post("/domains/example.fr/aliases/", content=chunks(), headers={"Content-Type": "application/json"})
    assert (chunked.status_code, chunked.json()) == (413, too_large(3 * MAX_BODY, MAX_BODY))
    assert domain.get("/domains/example.fr/aliases/").json() == []  # and the client's connection still serves


@pytest.mark.parametrize("size", [OFFLOAD_ABOVE - 1000, OFFLOAD_ABOVE + 1000, MAX_BODY])
def test_big_bodies_are_answered_as_small_ones(server: str, domain: httpx.Client, size: int) -> None:
    created = domain.post("/domains/example.fr/aliases/", content=aliased(size),
                          headers={"Content-Type": "application/json"})
    assert (created.status_code, created.json()) == (201, {"username": "big", "domain": "example.fr",
                                                           "destination": "x@else.fr", "allow_to_send": False})
    kept = httpx.get(f"{server}/_fake/state").json()["aliases"]
    assert [len(a["description"]) for a in kept] == [size - len(aliased(0))]
    malformed = domain.post("/domains/example.fr/aliases/", content=aliased(size)[:-1],
                            headers={"Content-Type": "application/json"})
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["type"] == "json_invalid"
    duplicate = domain.post("/domains/example.fr/aliases/", content=aliased(size),
                            headers={"Content-Type": "application/json"})
    assert (duplicate.status_code, duplicate.json()) == (409, {"detail": "Alias already exists"})
    chunked = domain.post("/domains/example.fr/aliases/", content=iter([aliased(size)]),
                          headers={"Content-Type": "application/json"})
    assert chunked.status_code == 409


def test_others_are_served_while_a_big_body_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("example.fr", features=["mailbox", "alias"], allowed=["la_regie"])
    parsing, release = threading.Event(), threading.Event()
    waited: list[bool] = []
    loads = strict_json._loads

    def slow_loads(body: bytes) -> object:  # the big body's parse holds on until the small request is answered
        if len(body) > OFFLOAD_ABOVE:
            parsing.set()
            waited.append(release.wait(10))
        return loads(body)

    monkeypatch.setattr(strict_json, "_loads", slow_loads)

    async def main() -> tuple[int, int]:
        headers = {"Authorization": f"Bearer {fake.token('la_regie')}"}
        async with httpx.AsyncClient(transport=fake.transport(), base_url="http://dimail", headers=headers) as api:
            big = asyncio.ensure_future(api.post("/domains/example.fr/aliases/", content=aliased(OFFLOAD_ABOVE + 1),
                                                 headers={"Content-Type": "application/json"}))
            assert await asyncio.to_thread(parsing.wait, 10)
            small = await api.get("/domains/example.fr")  # on this very loop, while the parse goes on
            release.set()
            return small.status_code, (await big).status_code

    assert asyncio.run(main()) == (200, 201)
    assert waited == [True]  # the parse was still waiting when the small request got its answer


# --- the Host check (DNS rebinding) ------------------------------------------------------------------------


def foreign_host(host: str) -> dict[str, str]:
    return {"detail": f"Host {host!r} refused: without --control-token, /_fake/ answers only requests addressed to "
                      "localhost, a loopback address or the --host it listens on (a guard against DNS rebinding); "
                      "start the server with --allowed-host NAME for a name of yours, or with --control-token"}


def test_a_rebinding_page_cannot_steer_or_read_the_fake(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    host = f"evil.example:{port}"
    rebound = {"Host": host, "Origin": f"http://{host}"}  # same origin, as the browser sees it after rebinding
    before = httpx.get(f"{server}/_fake/state").json()
    for method, path in [("POST", "/_fake/reset"), ("PUT", "/_fake/dns/example.fr"), ("GET", "/_fake/state"),
                         ("GET", "/_fake/ui"), ("GET", "/_fake/requests")]:
        answer = httpx.request(method, f"{server}{path}", headers=rebound, json=[])
        assert (method, path, answer.status_code, answer.json()) == (method, path, 403, foreign_host(host))
    assert httpx.get(f"{server}/_fake/state").json() == before
    # dimail's own routes are not the control plane's: they answer whatever the Host
    assert httpx.get(f"{server}/token/", headers=rebound, auth=("la_regie", "password")).status_code == 200


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:{port}", "app.localhost:{port}", "127.0.0.1:{port}",
                                  "127.1.2.3", "[::1]:{port}", "dimail.test:{port}", "Dimail.Test", None])
def test_loopback_names_the_bound_host_and_allowed_hosts_steer_it(server: str, host: str | None) -> None:
    headers = {} if host is None else {"Host": host.format(port=server.rsplit(":", 1)[1])}
    answer = httpx.get(f"{server}/_fake/", headers=headers)
    assert answer.status_code == 200 and answer.json()["fake"] == "fake-dimail"
    assert answer.json()["settings"]["allowed_hosts"] == ["127.0.0.1", "Dimail.Test"]


def test_with_a_control_token_the_token_decides_whatever_the_host() -> None:
    app = FakeDimail(Settings(control_token="s3cret", allowed_hosts=("127.0.0.1",)), seed="people-dev")
    client = app.client()
    evil = {"Host": "evil.example"}
    assert client.get("/_fake/", headers=evil).status_code == 401
    assert client.get("/_fake/", headers={**evil, "Authorization": "Bearer s3cret"}).status_code == 200


def test_in_process_no_host_is_checked() -> None:
    fake = FakeDimail(seed="people-dev")  # People's tests call it as http://dimail:8000
    assert fake.client().get("/_fake/", headers={"Host": "dimail:8000"}).status_code == 200
    guarded = FakeDimail(Settings(allowed_hosts=("0.0.0.0",)), seed="people-dev")  # as `serve --host 0.0.0.0`
    assert guarded.client().get("/_fake/", headers={"Host": "dimail:8000"}).json() == foreign_host("dimail:8000")
    assert guarded.client().get("/_fake/", headers={"Host": "0.0.0.0:8000"}).status_code == 200


# --- silent in the user's run ------------------------------------------------------------------------------

USER_SUITE = '''
import asyncio
import threading

import httpx
import requests

API_URL = "http://dimail:8000"
REGIE = ("la_regie", "password")


def test_a_token_first(dimail_fake):
    assert requests.get(f"{API_URL}/token/", auth=REGIE, timeout=5).status_code == 200


def test_bearer_calls(dimail_fake):
    dimail_fake.add_domain("people.fr", allowed=["la_regie"])
    token = requests.get(f"{API_URL}/token/", auth=REGIE, timeout=5).json()["access_token"]
    created = requests.post(f"{API_URL}/domains/people.fr/mailboxes/jean", json={"givenName": "J", "surName": "D"},
                            headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert created.status_code == 201


def test_from_a_thread_that_then_ends(dimail_fake):
    statuses = []
    thread = threading.Thread(target=lambda: statuses.append(httpx.get(f"{API_URL}/token/", auth=REGIE).status_code))
    thread.start()
    thread.join()
    assert statuses == [200]


def test_an_async_client(dimail_fake):
    async def main():
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{API_URL}/token/", auth=REGIE)).status_code
    assert asyncio.run(main()) == 200


def test_a_sync_call_inside_a_running_loop(dimail_fake):
    async def main():
        return requests.get(f"{API_URL}/token/", auth=REGIE, timeout=5).status_code
    assert asyncio.run(main()) == 200


def test_a_big_body(dimail_fake):
    dimail_fake.add_domain("people.fr", features=["mailbox", "alias"], allowed=["la_regie"])
    token = requests.get(f"{API_URL}/token/", auth=REGIE, timeout=5).json()["access_token"]
    created = requests.post(f"{API_URL}/domains/people.fr/aliases/", headers={"Authorization": f"Bearer {token}"},
                            json={"user_name": "a", "destination": "x@else.fr", "description": "d" * 500_000})
    assert created.status_code == 201


def test_a_fake_of_its_own_with_a_state_file(tmp_path):
    from fake_dimail import FakeDimail, Settings
    fake = FakeDimail(Settings(state_file=str(tmp_path / "state.db")), seed="people-dev")
    with fake.client(auth=REGIE) as client:
        assert client.get("/token/").status_code == 200
    fake.close()


def test_a_token_last(dimail_fake):
    assert requests.get(f"{API_URL}/token/", auth=REGIE, timeout=5).status_code == 200
'''


def test_a_users_suite_under_w_error_sees_nothing_of_the_fake(tmp_path: Path) -> None:
    (tmp_path / "test_people.py").write_text(USER_SUITE)
    result = run_pytest(tmp_path, "-q", "-W", "error", "-W", "error::ResourceWarning", "--strict-markers",
                        "-p", "no:randomly")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("8 passed in ")  # no "N warnings" in the summary
    assert "warning" not in result.stdout.lower()
    assert result.stderr == ""  # nothing at exit either: no unclosed event loop or socket


@contextlib.contextmanager
def every_warning_an_error() -> Iterator[None]:
    """Inside, any warning fails. What earlier tests left unclosed is collected first: the ResourceWarning of a
    socket another test forgot (the collector runs when it likes) is not this block's."""
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_the_tokens_are_signed_with_a_key_long_enough_for_hs256() -> None:
    assert len(DEFAULT_JWT_SECRET.encode()) >= 32
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("example.fr", allowed=["la_regie"])
    with every_warning_an_error():
        token = fake.client(auth=("la_regie", "password")).get("/token/").json()["access_token"]
        listed = fake.client(headers={"Authorization": f"Bearer {token}"}).get("/domains/example.fr/mailboxes/")
    assert listed.status_code == 200


def test_peoples_short_secret_is_taken_as_dimail_takes_it() -> None:
    """People's dev stack gives dimail a 15-byte secret: the fake takes it too, and signs exactly as HMAC with it."""
    assert build_parser().parse_args(["serve", "--jwt-secret", "fake_jwt_secret"]).jwt_secret == "fake_jwt_secret"
    fake = FakeDimail(seed="people-dev", settings=Settings(jwt_secret="fake_jwt_secret"))
    with every_warning_an_error():
        token = fake.client(auth=("la_regie", "password")).get("/token/").json()["access_token"]
    head, claims, signature = token.split(".")
    expected = hmac.new(b"fake_jwt_secret", f"{head}.{claims}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(expected).rstrip(b"=").decode() == signature


@pytest.mark.parametrize(("value", "size"), [("16M", 16 * 1024 ** 2), ("512k", 512 * 1024), ("1000", 1000),
                                             ("1G", 1024 ** 3), ("0", None), ("16MB", None), ("-1", None), ("M", None)])
def test_max_body_takes_sizes_and_refuses_the_rest_in_one_line(value: str, size: int | None,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    if size is not None:
        assert _size(value) == size
        return
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--max-body", value])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.splitlines()[-1] == (
        f"fake-dimail serve: error: argument --max-body: {value!r} is not a size in bytes "
        "(for instance 16M, 512K or 1000000)")
