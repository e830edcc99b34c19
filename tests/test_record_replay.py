"""`fake-dimail record` and `fake-dimail replay` (record.py, replay.py, transcript.py).

End to end: People's `provisioner apply` recorded through the recorder in front of a standalone
fake replays `same`, exchange by exchange; a recording in front of a fake started with
`--bearer-401` replayed on the default fake names the exchanges that differ and the guess they
contradict. Then the redaction, the binding of generated values, the proxy's pass-through, and
every user mistake (one line, non-zero exit).
"""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from fake_dimail import FakeDimail, Settings
from fake_dimail.cli import main
from fake_dimail.record import Proxy
from fake_dimail.replay import Replayer
from fake_dimail.transcript import Redactor, line, mint_token, parse_label, read
from provisioner.apply import apply, load
from provisioner.provisioner import Provisioner
from tests.conftest import _free_port, served

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "people-dev.yaml"
EXAMPLES = EXAMPLE.parent / "recordings"


# =============================================================================
# Helpers: a recorder as a user starts it, a server in a thread
# =============================================================================

class Recorder:
    """`fake-dimail record` in a child process; `stop()` sends Ctrl-C and returns its stderr."""

    def __init__(self, upstream: str, out: Path, *args: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = out
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fake_dimail", "record", "--upstream", upstream, "--port", str(self.port),
             "--out", str(out), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a bare connection: nothing is recorded
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read() if self.process.stderr else "recorder died")
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError("fake-dimail record did not start within 30 s")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, err
        return err

    @property
    def file(self) -> Path:
        (path,) = self.out.glob("*.jsonl")
        return path


class ThreadServer:
    """An ASGI app served over HTTP from a thread of this process."""

    def __init__(self, app: Any) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def replayed(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    """The exit status and the lines printed, each with its runs of spaces (the columns) made one."""
    code = main(["replay", *argv])
    return code, [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# =============================================================================
# How we will know: an apply run, and a --bearer-401 recording
# =============================================================================

@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """A standalone fake as `make run` starts it."""
    yield from served("--seed", "people-dev", "--dns", "auto")


def test_an_apply_run_recorded_through_the_proxy_replays_the_same(
        upstream: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recorder = Recorder(upstream, tmp_path / "recordings")
    try:
        report = apply(Provisioner(recorder.url), load(EXAMPLE))
    finally:
        err = recorder.stop()
    assert report.converged and report.count("done") == 11
    transcript = read(recorder.file)
    calls = len(transcript.exchanges)
    assert f"fake-dimail record: {calls} exchanges recorded in {recorder.file}" in err.splitlines()[-1]
    assert transcript.header["upstream"] == upstream
    assert transcript.header["upstream_version"] == "v0.8.2"
    assert transcript.header["upstream_fake"]["settings"]["dns_auto"] is True
    text = recorder.file.read_text()
    # No secret in the file: la_regie's password, tokens, generated mailbox passwords are pseudonyms.
    assert "bGFfcmVnaWU6cGFzc3dvcmQ" not in text and "eyJ" not in text and '"password"' in text
    rows = [row for _, row in transcript.exchanges]
    assert {row["request_headers"]["Authorization"] for row in rows if row["path"] == "/domains/"} == \
        {"Basic la_regie <password #1>"}
    created = [row["response_json"]["password"] for row in rows if row["status"] == 201 and
               "/mailboxes/" in row["path"]]
    assert created and all(p.startswith("<password #") for p in created)
    # 307s pass unchanged, never followed: the client followed each one through the proxy.
    redirects = [row for row in rows if row["status"] == 307]
    assert redirects and all(row["response_headers"]["location"].startswith(upstream + "/") for row in redirects)

    code, lines = replayed(capsys, str(recorder.file), "--seed", "people-dev", "--dns", "auto")
    assert code == 0, "\n".join(lines)
    verdicts = [line for line in lines if line.split()[0].isdigit()]
    assert len(verdicts) == calls and all(line.endswith(" same") or " same [" in line for line in verdicts)
    assert f"-- {calls} exchanges: {calls} same, 0 differ, 0 skipped" in lines
    assert lines[-1] == "verdict: same"
    # The two aliases of people-dev.yaml confirm the 201 guess (between two fakes: said so).
    assert "guesses confirmed: G-alias-201 ×2 (the recording's upstream is a fake: the two fakes agree, " \
           "dimail may not)" in lines


@pytest.fixture(scope="module")
def upstream_401() -> Iterator[str]:
    fake = FakeDimail(Settings(bearer_401=True), seed="people-dev")
    server = ThreadServer(fake.app)
    yield server.url
    server.stop()


def test_a_bearer_401_recording_on_the_default_fake_names_the_differing_exchanges(
        upstream_401: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recorder = Recorder(upstream_401, tmp_path / "rec", "--compare", "--seed", "people-dev")
    try:
        with httpx.Client(base_url=recorder.url) as client:
            assert client.get("/domains/").status_code == 401  # Basic route: 401 both ways
            assert client.get("/domains/example.fr/mailboxes/").status_code == 401  # Bearer route, no header
            assert client.get("/domains/example.fr/mailboxes/", headers={"Authorization": "Token x"}).status_code == 401
            token = client.get("/token/", headers=basic("la_regie", "password")).json()["access_token"]
            assert client.get("/domains/", headers=basic("la_regie", "password")).json() == []
            answer = client.post("/domains/example.fr/aliases/", headers={"Authorization": f"Bearer {token}"},
                                 json={"user_name": "a", "destination": "b@example.org"})
            assert answer.status_code == 403  # la_regie may not act on example.fr: the same both ways
    finally:
        err = recorder.stop().splitlines()
    # Shadow mode said it live, exchange by exchange.
    shadow = [line for line in err if line.startswith("  shadow ")]
    assert [line.split()[1:4] for line in shadow] == [["3", "GET", "/domains/example.fr/mailboxes/"],
                                                      ["4", "GET", "/domains/example.fr/mailboxes/"]]
    assert err[-1].endswith("; 2 differed on the shadow fake")

    code, lines = replayed(capsys, str(tmp_path / "rec"), "--seed", "people-dev")
    assert code == 3
    assert lines[1] == "note: the recording's fake ran with bearer_401=true, this replay's with bearer_401=false"
    differing = [line for line in lines if "differs" in line]
    assert differing == [
        f"{n} GET /domains/example.fr/mailboxes/ 401 differs: status 403 (recorded 401); header www-authenticate: "
        "None (recorded 'Bearer') [contradicts G-bearer-403]" for n in (3, 4)]
    assert "-- 6 exchanges: 4 same, 2 differ (2 explained by guesses), 0 skipped" in lines
    assert "guesses contradicted: G-bearer-403 ×2" in lines
    assert lines[-1] == "verdict: differ (guesses only)"

    # With the switch the recording named, the replay is the same and confirms the choice.
    report = tmp_path / "report.json"
    code, lines = replayed(capsys, str(tmp_path / "rec"), "--seed", "people-dev", "--bearer-401",
                           "--report", str(report))
    assert (code, lines[-2:]) == (0, ["verdict: same", f"report: {report}"])
    document = json.loads(report.read_text())
    assert document["verdict"] == "same" and document["exit_status"] == 0
    assert document["guesses"] == {"confirmed": {"G-bearer-403": 2}, "contradicted": {}}
    assert [e["verdict"] for e in document["recordings"][0]["exchanges"]] == ["same"] * 6


def test_the_committed_recordings_replay_as_documented(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/recordings/, recorded for docs/maintainers/record-replay.md: no server needed."""
    apply_run, bearer = (str(EXAMPLES / name) for name in ("people-dev-apply.jsonl", "bearer-401.jsonl"))
    code, lines = replayed(capsys, apply_run, "--seed", "people-dev", "--dns", "auto")
    assert (code, lines[-3:]) == (0, ["-- 34 exchanges: 34 same, 0 differ, 0 skipped",
                                      "guesses confirmed: G-alias-201 ×2 (the recording's upstream is a fake: the "
                                      "two fakes agree, dimail may not)", "verdict: same"])
    code, lines = replayed(capsys, apply_run, "--seed", "people-dev", "--differences-only")
    assert code == 1 and [line.split()[:2] for line in lines[2:6]] == [["7", "GET"], ["9", "GET"], ["29", "GET"],
                                                                      ["31", "GET"]]
    code, lines = replayed(capsys, bearer, "--seed", "people-dev")
    assert (code, lines[-3:]) == (3, ["-- 3 exchanges: 1 same, 2 differ (2 explained by guesses), 0 skipped",
                                      "guesses contradicted: G-bearer-403 ×2", "verdict: differ (guesses only)"])
    code, lines = replayed(capsys, bearer, "--seed", "people-dev", "--bearer-401")
    assert (code, lines[-1]) == (0, "verdict: same")


# =============================================================================
# Redaction
# =============================================================================

def _row(redactor: Redactor, method: str, target: str, headers: dict[str, str] | None = None, body: Any = None,
         status: int = 200, answer: Any = None) -> dict[str, Any]:
    return redactor.exchange(method, target, list((headers or {}).items()),
                             b"" if body is None else json.dumps(body).encode(), status,
                             [("content-type", "application/json"), ("server", "uvicorn")],
                             b"" if answer is None else json.dumps(answer).encode(), 1.0)


def test_secrets_become_pseudonyms_one_per_secret() -> None:
    redactor = Redactor(jwt_secret="fake_jwt_secret")
    token = mint_token("fake_jwt_secret", "la_regie")
    issued = _row(redactor, "GET", "/token/", basic("la_regie", "password"),
                  answer={"access_token": token, "token_type": "bearer"})
    assert issued["request_headers"] == {"Authorization": "Basic la_regie <password #1>"}
    assert issued["response_json"] == {"access_token": "<jwt sub='la_regie'> <token #1>", "token_type": "bearer"}
    assert issued["response_headers"] == {"content-type": "application/json"}
    used = _row(redactor, "POST", "/users/", {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                              "User-Agent": "x"},
                body={"name": "u", "password": "password", "perms": []})
    # The same secret is the same pseudonym, whatever carries it; unknown headers are dropped.
    assert used["request_headers"] == {"Authorization": "Bearer <jwt sub='la_regie'> <token #1>",
                                       "Content-Type": "application/json"}
    assert used["request_json"] == {"name": "u", "password": "<password #1>", "perms": []}
    other = _row(redactor, "GET", "/users/", basic("u", "other"))
    assert other["request_headers"]["Authorization"] == "Basic u <password #2>"


@pytest.mark.parametrize(("header", "label"), [
    ("Basic !!!", "Basic <undecodable>"),
    ("Basic " + base64.b64encode(b"no-colon").decode(), "Basic <undecodable>"),
    ("Bearer not-a-token", "Bearer <not a jwt>"),
    (("bearer", "x", ()), "bearer <jwt sub='x'> <token #1>"),
    (("Bearer", None, ()), "Bearer <jwt sub=None> <token #1>"),
    (("Bearer", "x", ("expired",)), "Bearer <jwt sub='x' expired> <token #1>"),
    (("Bearer", "x", ("no-exp",)), "Bearer <jwt sub='x' no-exp> <token #1>"),
    (("Bearer", "x", ("alg-none",)), "Bearer <jwt sub='x' alg-none> <token #1>"),
    (("Bearer", "x", ("other-secret",)), "Bearer <jwt sub='x' other-secret> <token #1>"),
    ("Token abcdef", "Token <redacted>"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_authorization_labels(header: str | tuple[str, str | None, tuple[str, ...]], label: str) -> None:
    if isinstance(header, tuple):  # minted here: a token's exp must not be part of the test's id
        scheme, sub, flags = header
        header = f"{scheme} {mint_token('fake_jwt_secret', sub, flags)}"
    redacted = Redactor(jwt_secret="fake_jwt_secret").authorization(header)
    assert redacted == label
    parsed = parse_label(redacted)  # and replay reads back what it needs
    assert parsed.scheme == header.split()[0]


def test_login_codes_are_secrets_only_where_they_are_codes() -> None:
    redactor = Redactor()
    issued = _row(redactor, "POST", "/domains/d.fr/mailboxes/jean/code", body={"maxuse": 1}, status=201,
                  answer={"email": "jean@d.fr", "code": "s3cr3t", "expires_at": 1, "expires_in": 1, "maxuse": 1,
                          "nbuse": 0})
    assert issued["response_json"]["code"] == "<code #1>"
    assert _row(redactor, "GET", "/code/s3cr3t")["path"] == "/code/<code #1>"
    check = _row(redactor, "GET", "/domains/d.fr/check",
                 answer={"mx": {"ok": False, "errors": [{"code": "no_mx", "detail": "x"}]}})
    assert check["response_json"]["mx"]["errors"][0]["code"] == "no_mx"


def test_bodies_that_are_not_json_are_kept_raw_and_forms_redacted() -> None:
    redactor = Redactor()
    raw = redactor.exchange("POST", "/users/", [("content-type", "application/json")], b"{not json", 422, [], b"x")
    assert (raw["request_json"], raw["request_body_raw"], raw["response_text"]) == (None, "{not json", "x")
    form = redactor.exchange("POST", "/_fake/login", [("content-type", "application/x-www-form-urlencoded")],
                             b"token=abc&next=%2F", 303, [], b"")
    assert form["request_body_raw"] == "token=<password #1>&next=%2F"


def test_a_percent_encoded_path_is_written_as_the_transcripts_write_it() -> None:
    row = _row(Redactor(), "GET", "/domains/Not%20A%20Domain%21/check?x=%C3%A9", status=422)
    assert row["path"] == "/domains/Not A Domain!/check?x=é"


# =============================================================================
# Replay: generated values bound, differences named
# =============================================================================

def recorded(fake: FakeDimail, calls: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rows as the recorder writes them, of calls answered by an in-process fake."""
    redactor = Redactor(fake.settings.jwt_secret)
    rows = []
    with fake.client(follow_redirects=False) as client:
        for method, path, kwargs in calls:
            request = client.build_request(method, path, **kwargs)
            response = client.send(request)
            rows.append(redactor.exchange(method, request.url.raw_path.decode(), list(request.headers.items()),
                                          request.content, response.status_code, list(response.headers.items()),
                                          response.content))
    return rows


def play(rows: list[dict[str, Any]], settings: Settings | None = None, seed: str = "people-dev") -> list[Any]:
    replayer = Replayer(settings or Settings(), seed)
    try:
        return [replayer.play(n, row) for n, row in enumerate(rows, 1)]
    finally:
        replayer.close()


ADMIN = basic("admin", "admin")


def test_generated_values_are_bound_to_the_fakes_own() -> None:
    """Tokens, mailbox passwords, app password uuids, login codes, public alias names and DKIM keys are
    made up anew by the replay's fake; later requests send its values and later answers must show them."""
    fake = FakeDimail(Settings(dns_auto=True), seed="people-dev")
    token = fake.token("admin")
    bearer = {"Authorization": f"Bearer {token}"}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/domains/", {"headers": ADMIN, "json": {"name": "d.fr", "features": ["webmail", "mailbox", "alias"],
                                                          "context_name": "d", "public_alias": True}}),
        ("GET", "/token/", {"headers": ADMIN}),
        ("POST", "/domains/d.fr/mailboxes/jean", {"headers": bearer, "json": {"givenName": "J", "surName": "D"}}),
        ("POST", "/domains/d.fr/mailboxes/jean/app_passwords", {"headers": bearer,
                                                                "json": {"name": "phone", "type": "imap"}}),
        ("GET", "/domains/d.fr/mailboxes/jean/app_passwords", {"headers": bearer}),
        ("POST", "/domains/d.fr/mailboxes/jean/code", {"headers": bearer, "json": {}}),
        ("POST", "/aliases", {"headers": bearer, "json": {"domain": "d.fr", "destination": "jean@d.fr",
                                                          "description": "x"}}),
        ("GET", "/domains/d.fr/spec", {"headers": bearer}),
        ("GET", "/domains/d.fr/check", {"headers": bearer}),
    ]
    rows = recorded(fake, calls)
    uuid = rows[3]["response_json"]["uuid"]
    code = rows[5]["response_json"]["code"]
    public = rows[6]["response_json"]["alias"]
    # The secrets and names the later calls need, as a client would have taken them from the answers.
    assert code == "<code #1>" and rows[2]["response_json"]["password"].startswith("<password #")
    later = recorded(fake, [
        ("GET", f"/domains/d.fr/mailboxes/jean/app_passwords/{uuid}", {"headers": bearer}),
        ("DELETE", f"/aliases/{public}/jean@d.fr", {"headers": bearer}),
    ])
    assert [r["status"] for r in later] == [200, 204]
    results = play(rows + later, Settings(dns_auto=True))
    assert [(r.verdict, r.differences) for r in results] == [("same", [])] * len(results)
    assert [r.answered for r in results] == [r["status"] for r in rows + later]


def test_a_login_code_is_used_as_the_replays_fake_issued_it() -> None:
    fake = FakeDimail(seed="people-dev")
    bearer = {"Authorization": f"Bearer {fake.token('admin')}"}
    first = recorded(fake, [
        ("POST", "/domains/", {"headers": ADMIN, "json": {"name": "d.fr", "features": ["mailbox"]}}),
        ("POST", "/domains/d.fr/mailboxes/jean", {"headers": bearer, "json": {}}),
        ("POST", "/domains/d.fr/mailboxes/jean/code", {"headers": bearer, "json": {}}),
    ])
    (code,) = list(fake.backend.state.codes)
    second = recorded(fake, [("GET", f"/code/{code}", {"headers": bearer})])
    # One recording: the second part's redactor numbered the code afresh, as the recorder would have too.
    assert second[0]["path"] == "/code/<code #1>" and first[2]["response_json"]["code"] == "<code #1>"
    results = play(first + second)
    assert [(r.verdict, r.answered) for r in results] == [("same", 201), ("same", 201), ("same", 201),
                                                          ("same", 200)]


def test_a_difference_is_named_and_is_unexplained_without_a_guess(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    fake = FakeDimail(seed="people-dev")
    rows = recorded(fake, [("GET", "/users/", {"headers": ADMIN}), ("GET", "/users/nobody", {"headers": ADMIN}),
                           ("GET", "/allows/", {"headers": ADMIN})])
    rows[1]["response_json"] = {"detail": "No such user"}
    rows[2]["response_json"] = [{"user": "b", "domain": "d"}, {"user": "a", "domain": "d"}]
    path = tmp_path / "edited.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, lines = replayed(capsys, str(path), "--seed", "people-dev", "--differences-only")
    assert code == 1
    assert lines[1:] == [
        "2 GET /users/nobody 404 differs: body.detail: 'User not found' (recorded 'No such user')",
        "3 GET /allows/ 200 differs: body: 0 items (recorded 2): []",
        "-- 3 exchanges: 1 same, 2 differ (0 explained by guesses), 0 skipped",
        "verdict: differ",
    ]


def test_odd_characters_survive_the_file_and_the_replay(tmp_path: Path) -> None:
    """A line separator in a body (U+2028, NEL) stays inside its line; a control character in a path (decoded in
    the file, as the transcripts write paths) is encoded again when replayed."""
    fake = FakeDimail(seed="people-dev")
    bearer = {"Authorization": f"Bearer {fake.token('admin')}"}
    rows = recorded(fake, [
        ("POST", "/domains/", {"headers": ADMIN, "json": {"name": "d.fr", "features": ["mailbox"]}}),
        ("POST", "/domains/d.fr/mailboxes/jean", {"headers": bearer, "json": {"givenName": "a\u2028b\x85c"}}),
        ("GET", "/domains/d.fr/mailboxes/jean", {"headers": bearer}),
        ("GET", "/domains/%12x%20y/check", {"headers": ADMIN}),
    ])
    assert rows[3]["path"] == "/domains/\x12x y/check"
    path = tmp_path / "r.jsonl"
    path.write_text("".join(line(r) for r in rows), encoding="utf-8")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 4
    transcript = read(path)
    assert [row for _, row in transcript.exchanges] == rows
    assert [(r.verdict, r.answered) for r in play(rows)] == [("same", row["status"]) for row in rows]
    assert [row["status"] for row in rows] == [201, 201, 200, 404]  # the odd name reached the route: 404


def test_an_unordered_listing_is_compared_as_a_multiset() -> None:
    fake = FakeDimail(seed="people-dev")
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/domains/", {"headers": ADMIN, "json": {"name": f"d{n}.fr", "features": ["mailbox"]}})
        for n in (1, 2)]
    calls += [("POST", "/allows/", {"headers": ADMIN, "json": {"user": "la_regie", "domain": f"d{n}.fr"}})
              for n in (1, 2)]
    calls.append(("GET", "/allows/", {"headers": ADMIN}))
    rows = recorded(fake, calls)
    rows[-1]["response_json"].reverse()
    assert [r.verdict for r in play(rows)] == ["same"] * 5
    rows[-1]["response_json"][0]["domain"] = "d3.fr"
    assert play(rows)[-1].verdict == "differs"


def test_what_cannot_be_replayed_is_skipped_with_its_reason(tmp_path: Path, capsys) -> None:
    rows = [
        {"method": "GET", "path": "/domains/", "request_headers": {}, "request_json": None, "status": None,
         "response_json": None, "upstream_error": "ConnectError: [Errno 111] Connection refused"},
        {"method": "GET", "path": "/domains/", "request_headers": {"Authorization": "Magic"}, "request_json": None,
         "status": 401, "response_json": None},
    ]
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"recording": {"upstream": "http://x"}}) + "\n"
                    + "".join(json.dumps(r) + "\n" for r in rows))
    code, lines = replayed(capsys, str(path))
    assert code == 0
    assert lines[1:3] == [
        "2 GET /domains/ --- skipped: the upstream gave no answer (ConnectError: [Errno 111] Connection refused)",
        "3 GET /domains/ 401 skipped: cannot rebuild the request: unknown Authorization label 'Magic'",
    ]


# =============================================================================
# The proxy
# =============================================================================

def test_the_proxy_passes_answers_through_and_records_a_dead_upstream(tmp_path: Path) -> None:
    fake = FakeDimail(seed="people-dev")
    upstream = ThreadServer(fake.app)
    out = (tmp_path / "r.jsonl").open("w", encoding="utf-8")
    sink = (tmp_path / "log.txt").open("w", encoding="utf-8")
    proxy = Proxy(upstream.url, out, Redactor(), log=sink)
    server = ThreadServer(proxy)
    try:
        with httpx.Client(base_url=server.url) as client:
            redirect = client.get("/domains/x.fr/spec/")
            assert (redirect.status_code, redirect.headers["location"]) == (307, server.url + "/domains/x.fr/spec")
            direct = httpx.get(upstream.url + "/users/", headers=ADMIN)
            proxied = client.get("/users/", headers=ADMIN)
            assert (proxied.status_code, proxied.content) == (direct.status_code, direct.content)
            upstream.stop()
            dead = client.get("/users/", headers=ADMIN)
            assert dead.status_code == 502 and dead.text.startswith(f"fake-dimail record: no answer from the "
                                                                   f"upstream {upstream.url} (ConnectError")
    finally:
        server.stop()
        out.close()
        sink.close()
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert rows[0]["response_headers"]["location"] == upstream.url + "/domains/x.fr/spec"  # the upstream's own
    assert (rows[2]["status"], rows[2]["response_json"]) == (None, None)
    assert rows[2]["upstream_error"].startswith("ConnectError")
    assert (tmp_path / "log.txt").read_text().splitlines()[2].startswith("    4 GET    /users/")


# =============================================================================
# User mistakes: one line, a non-zero exit
# =============================================================================

@pytest.mark.parametrize(("content", "message"), [
    (None, "{path}: no such file or directory"),
    ("", "{path}: no exchange in it"),
    ("not json\n", "{path}:1: not a JSON line (Expecting value: line 1 column 1 (char 0)): is this a recording?"),
    ('{"method": "GET"}\n', "{path}:1: 'path' is missing or not a str"),
    ("[1]\n", "{path}:1: a line must be a JSON object"),
    ('{"other": 1}\n', "{path}:1: neither an exchange (no 'method') nor a 'recording' header"),
])
def test_an_unreadable_recording_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             content: str | None, message: str) -> None:
    path = tmp_path / "r.jsonl"
    if content is not None:
        path.write_text(content)
    assert main(["replay", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"fake-dimail replay: error: {message.format(path=path)}\n" and captured.out == ""


def test_a_directory_without_recordings_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"fake-dimail replay: error: {tmp_path}: no .jsonl recording in this directory\n"


def test_record_refuses_an_unreachable_upstream_in_one_line(tmp_path: Path) -> None:
    port = _free_port()
    with pytest.raises(SystemExit) as exited:
        main(["record", "--upstream", f"http://127.0.0.1:{port}", "--port", str(_free_port()),
              "--out", str(tmp_path)])
    assert str(exited.value.code) == (f"fake-dimail record: error: nothing answers at http://127.0.0.1:{port} "
                                      "(ConnectError: [Errno 111] Connection refused): is dimail running there (a "
                                      "fake: `fake-dimail serve`)?")
    assert not list(tmp_path.iterdir())


def test_record_refuses_a_port_in_use_and_a_bad_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["record", "--upstream", "http://127.0.0.1:1", "--port", str(port), "--out", str(tmp_path)])
    assert str(exited.value.code) == (f"fake-dimail record: error: port {port} on 127.0.0.1 is already in use: "
                                      "pick another with --port")
    with pytest.raises(SystemExit) as exited:
        main(["record", "--upstream", "localhost:8001", "--out", str(tmp_path)])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        "argument --upstream: 'localhost:8001' is not scheme://host[:port] (for instance https://dimail.example)")


def test_record_refuses_an_out_it_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    fake = FakeDimail()
    upstream = ThreadServer(fake.app)
    try:
        with pytest.raises(SystemExit) as exited:
            main(["record", "--upstream", upstream.url, "--port", str(_free_port()),
                  "--out", str(tmp_path / "file" / "sub")])
    finally:
        upstream.stop()
    assert str(exited.value.code) == f"fake-dimail record: error: cannot write in --out {tmp_path / 'file' / 'sub'} " \
                                     "(Not a directory)"
