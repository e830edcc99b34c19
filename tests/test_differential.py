"""Differential runs: two dimails, the same call sequences, every difference once, judged and reproduced.

End to end (`pytest --pyargs contracts --dimail-compare-url …` in a child
process): two standalone fakes, one started with `--bearer-401`, differ in
exactly that (a missing Bearer token: 403 against 401), declared by the v0.8.2
document, each difference shrunk to one curl call that reproduces it on both
servers, and both servers' state back to what it was, after a whole run and
after one interrupted. In this process: two identical fakes answer alike
(`same`); judged against the 2024 document, where some operations declare no
403, the same difference is undeclared there; and the parts — sequences,
normalisation, comparison, shrinking, the report.
"""

from __future__ import annotations

import functools
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from contracts.differential import (
    Explorer,
    Seen,
    Side,
    Step,
    available,
    compared,
    curl_lines,
    differences,
    normalised,
    sequences,
)
from contracts.differential_report import DifferentialReport, judged_guesses
from contracts.reference import Reference, reference_problem
from contracts.target import IN_PROCESS_URL, Target
from fake_dimail.config import Settings
from fake_dimail.fake import FakeDimail
from fake_dimail.transport import ASGISyncTransport
from tests.conftest import REFERENCE, served
from tests.fake_state import state, unlisted

ROOT = Path(__file__).resolve().parents[1]
MISSING_BEARER = ("status: 403 vs 401", 'www-authenticate: (none) vs "Bearer"')


def differential(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "contracts", "-q", "-p", "no:cacheprovider",
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def default_server() -> Iterator[str]:
    yield from served("--seed", "people-dev")


@pytest.fixture(scope="module")
def bearer_401_server() -> Iterator[str]:
    yield from served("--seed", "people-dev", "--bearer-401")


def test_a_fake_with_bearer_401_differs_in_that_alone_declared_and_reproduced(
        default_server: str, bearer_401_server: str, tmp_path: Path) -> None:
    before = {url: state(url) for url in (default_server, bearer_401_server)}
    run = differential("--dimail-url", default_server, "--dimail-compare-url", bearer_401_server,
                       "--dimail-admin", "admin:admin", "--dimail-sequences", "8", "--dimail-report",
                       str(tmp_path / "d"))
    assert run.returncode == 8, run.stdout[-3000:] + run.stderr[-2000:]
    report = json.loads((tmp_path / "d.json").read_text())
    assert (report["verdict"], report["exit_status"]) == ("differ (declared only)", 8)
    assert report["differences"], report
    for difference in report["differences"]:
        assert (difference["statuses"], difference["differences"], difference["class"]) == \
            ([403, 401], list(MISSING_BEARER), "declared"), difference
        assert difference["answers"]["a"]["body"] == difference["answers"]["b"]["body"] == \
            {"detail": "Not authenticated"}
        # shrunk to the call alone (through People's 307 for a slash path): no credentials, nothing before it
        [call] = difference["reproduction"]
        assert call.startswith(("curl -si -X ", "curl -si -L -X ")) and "Authorization" not in call \
            and " -u " not in call, call
    assert "verdict: differ (declared only)" in run.stdout and "DIFFERENCE 1 (declared): " in run.stdout
    assert f"declared: {'; '.join(MISSING_BEARER)} — on {len(report['differences'])} operation" in run.stdout
    # the rest agreed, operation by operation, and both servers are back to their state, but for what is named
    assert sum(op["agreed"] for op in report["operations"].values()) > 50
    for url, side in ((default_server, "A"), (bearer_401_server, "B")):
        assert report["cleanup"][side] == []
        assert unlisted(before[url], state(url), report["leftovers"][side]) == {}
    if shutil.which("curl") and shutil.which("sed"):  # the reproduction, run as written, on each server
        call = report["differences"][0]["reproduction"][0]
        for url, status in ((default_server, 403), (bearer_401_server, 401)):
            shown = subprocess.run(["bash", "-c", call], env={"DIMAIL": url, "PATH": "/usr/bin:/bin"},
                                   capture_output=True, text=True, timeout=30).stdout
            assert shown.startswith(f"HTTP/1.1 {status} "), shown


def test_an_interrupted_differential_run_cleans_both_targets_up(default_server: str, bearer_401_server: str,
                                                                 tmp_path: Path) -> None:
    before = {url: state(url) for url in (default_server, bearer_401_server)}
    run = subprocess.Popen([sys.executable, "-m", "pytest", "--pyargs", "contracts", "-q", "-p", "no:cacheprovider",
                            "--dimail-url", default_server, "--dimail-compare-url", bearer_401_server,
                            "--dimail-admin", "admin:admin", "--dimail-report", str(tmp_path / "d")],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert run.stdout is not None
        seen = ""
        while not seen.endswith(("..", "D", "d")):  # two sequences done, or a difference: the third is on its way
            char = run.stdout.read(1)
            assert char, seen
            seen += char
        run.send_signal(signal.SIGINT)
        output = seen + run.communicate(timeout=120)[0]
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 2, output[-3000:]
    report = json.loads((tmp_path / "d.json").read_text())
    assert report["interrupted"] is True and "(interrupted)" in output, output[-3000:]
    for url, side in ((default_server, "A"), (bearer_401_server, "B")):
        assert report["cleanup"][side] == []
        assert unlisted(before[url], state(url), report["leftovers"][side]) == {}


def test_two_identical_fakes_are_the_same() -> None:
    """The drawn sequences (the first of a default run), to two fresh fakes: every call answered alike."""
    explorer = Explorer(_side(FakeDimail(seed="people-dev"), "A"), _side(FakeDimail(seed="people-dev"), "B"), "dft")
    kinds = available(lambda op: not explorer.a.target.lacks(op))

    @settings(max_examples=4, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(sequences(kinds))
    def explore(steps: list[Step]) -> None:
        assert explorer.explore(steps) == "."

    explore()
    assert (explorer.sequences, explorer.differences) == (4, {}) and explorer.exchanges > 10
    report = DifferentialReport(about={"a": "A", "b": "B"}, agreed=explorer.agreed)
    assert (report.verdict, report.exit_status) == ("same", 0)


# --- the parts, in this process ----------------------------------------------------------------------


@functools.cache
def _document() -> dict[str, Any]:
    """The fake's /openapi.json, made once (every fake here serves the same)."""
    with FakeDimail().client() as client:
        return client.get("/openapi.json").json()


def _side(fake: FakeDimail, name: str) -> Side:
    target = Target(IN_PROCESS_URL, ("admin", "admin"), ("la_regie", "password"),
                    transport=ASGISyncTransport(fake.app), prefix="dft", openapi=_document())
    return Side(target, name)


DOMAIN = Step("POST", "/domains/", "/domains/", "basic",
              body={"name": "{d1}", "context_name": "{ctx}", "features": ["webmail", "mailbox", "alias"]})
MAILBOX = Step("POST", "/domains/{domain_name}/mailboxes/{user_name}", "/domains/{d1}/mailboxes/jean", "bearer",
               body={"givenName": "Jean", "surName": "Dupont", "displayName": "Jean Dupont"})
ALIAS = Step("POST", "/domains/{domain_name}/aliases/", "/domains/{d1}/aliases/", "bearer",
             body={"user_name": "contact", "destination": "jean@{d1}"})
LISTING = Step("GET", "/domains/{domain_name}/mailboxes/", "/domains/{d1}/mailboxes/", "bearer")
FIX = Step("GET", "/domains/{domain_name}/fix", "/domains/{d1}/fix", "basic", slash=True)


def test_a_difference_is_kept_once_and_shrunk_to_the_call_that_shows_it() -> None:
    explorer = Explorer(_side(FakeDimail(seed="people-dev"), "A"),
                        _side(FakeDimail(seed="people-dev", settings=Settings(bearer_401=True)), "B"), "dft")
    unauthenticated = Step(LISTING.method, LISTING.operation, LISTING.path, "bearer", "none")
    steps = [DOMAIN, MAILBOX, ALIAS, unauthenticated, LISTING]
    assert explorer.explore(steps) == "D"
    assert explorer.explore(steps) == "d"
    [difference] = explorer.differences.values()
    assert (difference.method, difference.operation, difference.lines, difference.occurrences) == \
        ("GET", "/domains/{domain_name}/mailboxes/", MISSING_BEARER, 2)
    assert explorer.agreed["POST /domains/{domain_name}/aliases/"] == 2
    assert explorer.differed == {"GET /domains/{domain_name}/mailboxes/": 2}
    explorer.shrink(difference, deadline=float("inf"))
    assert difference.shortest.steps == [unauthenticated]
    assert curl_lines(difference.shortest.a, ("la_regie", "password")) == \
        [f'curl -si -X GET "$DIMAIL/domains/dft-s{explorer._number}-d1.diff.test/mailboxes/"']
    # every sequence, shrinking's included, took its domains and users away on both sides
    for side in (explorer.a, explorer.b):
        assert side.target.cleanup() == []


def test_people_s_307_is_compared_and_its_location_judged_without_the_server_s_own_url() -> None:
    proxied = Settings(redirect_base="https://dimail.example")
    explorer = Explorer(_side(FakeDimail(seed="people-dev"), "A"),
                        _side(FakeDimail(seed="people-dev", settings=proxied), "B"), "dft")
    explorer.explore([DOMAIN, FIX])
    [difference] = explorer.differences.values()
    assert (difference.operation, difference.role, difference.statuses) == ("/domains/{domain_name}/fix", "call",
                                                                             (307, 307))
    assert difference.lines == ('location: "$DIMAIL/domains/<seq>-d1.diff.test/fix" vs '
                                '"https://dimail.example/domains/<seq>-d1.diff.test/fix"',)
    lines = curl_lines(difference.first.a, ("la_regie", "password"))
    assert lines[-1] == "curl -si -u la_regie:password -X GET \"$DIMAIL/domains/dft-s1-d1.diff.test/fix/\""
    # the same fake on both sides: the 307 and the call it leads to agree
    same = Explorer(_side(FakeDimail(seed="people-dev"), "A"), _side(FakeDimail(seed="people-dev"), "B"), "dft")
    same.explore([DOMAIN, FIX])
    assert same.differences == {} and same.agreed["GET /domains/{domain_name}/fix"] == 2


def test_what_each_server_generates_is_blotted_out_and_unordered_lists_sorted() -> None:
    answer = {"email": "jean@dft-s3-d1.diff.test", "password": "Xy12-secret", "uuid": "00000000-0000-4000-8000-0000",
              "access_token": "eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl", "code": "A1B2",
              "other": "id 0b0e6f3c-1b2a-4c5d-8e9f-0a1b2c3d4e5f",
              "value": "v=DKIM1; h=sha256; k=rsa; p=" + "M" * 60, "features": ["ox", "mailbox"],
              "detail": [{"loc": ["body", "name"]}, {"loc": ["body", "features", 1]}]}
    assert normalised(answer, "dft-s3") == {
        "email": "jean@<seq>-d1.diff.test", "password": "<password>", "uuid": "<uuid>", "access_token": "<token>",
        "code": "<code>", "other": "id <uuid>", "value": "v=DKIM1; h=sha256; k=rsa; p=<dkim>",
        "features": ["mailbox", "ox"], "detail": [{"loc": ["body", "name"]}, {"loc": ["body", "features", 1]}]}


def test_differences_name_the_status_the_headers_and_each_field() -> None:
    a = Seen(422, "application/json", (), {"detail": "Domain not found", "valid": True})
    b = Seen(404, "application/json", (("www-authenticate", "Basic"),), {"detail": "Not found"})
    assert differences(a, b) == ["status: 422 vs 404", 'www-authenticate: (none) vs "Basic"',
                                 'body.detail: "Domain not found" vs "Not found"', "body.valid: true vs (absent)"]
    assert differences(a, a) == []


def test_objects_far_apart_are_said_by_their_fields_and_a_difference_in_several_items_is_one() -> None:
    """dimail's 2024 domain against v0.8.2's: one line naming the fields; the signature forgets the values
    of lists and objects, and where in a list an item was."""
    old = {"name": "d", "features": ["webmail"], "mailbox_domain": None, "imap_domains": None, "smtp_domains": None,
           "context_name": "d"}
    new = {"name": "d", "features": ["webmail"], "state": "new", "valid": False, "active": False, "delivery": "virtual",
           "context_name": None, "mx": {"ok": False}}
    a, b = Seen(200, "application/json", (), [old, old]), Seen(200, "application/json", (), [new, new])
    line = ("body[0]: only A has mailbox_domain, imap_domains, smtp_domains; only B has state, valid, active, delivery, "
            "mx; values differ in context_name")
    assert compared(a, b) == [(line.replace("[0]", "[*]"), line)]
    perms = [compared(Seen(201, "", (), {"name": "u"}), Seen(201, "", (), {"name": "u", "perms": drawn}))
             for drawn in (["new_domain"], [])]
    assert [key for key, _ in perms[0]] == [key for key, _ in perms[1]] == ["body.perms: (absent) vs a list"]
    assert [shown for _, shown in perms[0]] == ['body.perms: (absent) vs ["new_domain"]']


def test_the_reference_declares_a_difference_when_it_declares_both_answers() -> None:
    v082 = Reference.load(None)
    assert v082.undeclared("GET", "/domains/{domain_name}/aliases/", 401, {"detail": "Not authenticated"}, True) \
        is None
    assert v082.undeclared("GET", "/domains/{domain_name}/mailboxes/", 200, [{"nope": 1}], True) == \
        "200: the body does not match the schema the reference declares"
    older = Reference.load(str(REFERENCE / "openapi-2024-71bdf83.json"))
    assert older.undeclared("GET", "/domains/{domain_name}/aliases/", 403, {"detail": "Not authenticated"},
                            True) == "403 is not among its responses (200, 401, 404, 422)"
    assert older.undeclared("GET", "/my/domains", 200, [], True) == "GET /my/domains is not in the reference"
    assert reference_problem(str(REFERENCE / "README.md")).startswith("is not JSON")


def test_judged_against_the_2024_document_the_same_difference_is_undeclared_where_it_declares_no_403() -> None:
    """The 2024 document declares 401 and 403 on the listing of a domain's mailboxes, 401 alone on its aliases."""
    explorer = Explorer(_side(FakeDimail(seed="people-dev"), "A"),
                        _side(FakeDimail(seed="people-dev", settings=Settings(bearer_401=True)), "B"), "dft")
    aliases = Step("GET", "/domains/{domain_name}/aliases/", "/domains/{d1}/aliases/", "bearer", "none")
    explorer.explore([DOMAIN, Step(LISTING.method, LISTING.operation, LISTING.path, "bearer", "none"), aliases])
    older, v082 = Reference.load(str(REFERENCE / "openapi-2024-71bdf83.json")), Reference.load(None)
    judged = {}
    for difference in explorer.differences.values():
        v082.judge(difference)
        assert (difference.lines, difference.declared, difference.why) == (MISSING_BEARER, True, "")
        older.judge(difference)
        judged[difference.operation] = (difference.declared, difference.why)
    assert judged == {"/domains/{domain_name}/mailboxes/": (True, ""),
                      "/domains/{domain_name}/aliases/": (False, "A: 403 is not among its responses (200, 401, 404, "
                                                                 "422)")}
    report = DifferentialReport(about={"a": "A", "b": "B"}, differences=list(explorer.differences.values()))
    assert (report.verdict, report.exit_status) == ("differ", 9)
    assert report.summary_lines()[5] == f"  declared on some operations: {'; '.join(MISSING_BEARER)} — on 2 " \
                                        "operations: GET /domains/{domain_name}/mailboxes/, GET /domains/{domain_name}/aliases/"


@pytest.mark.parametrize(("declared", "verdict", "status"), [
    ([], "same", 0), ([True, True], "differ (declared only)", 8), ([True, False], "differ", 9)])
def test_each_verdict_has_its_exit_status(declared: list[bool], verdict: str, status: int) -> None:
    report = DifferentialReport(about={"a": "A", "b": "B"})
    report.differences = [_difference(d) for d in declared]
    assert (report.verdict, report.exit_status) == (verdict, status)
    lines = report.summary_lines()
    assert lines[-1] == f"verdict: {verdict}"
    # never shrunk here: the reproduction says why it may be longer than needed
    assert sum("1 call, not shrunk (the time budget was spent)" in line for line in lines) == len(declared)


def _difference(declared: bool) -> Any:
    from contracts.differential import Difference, Exchange, Occurrence

    exchange = Exchange(0, "call", "GET", "/x", "/x", "bearer", "none", None, 403, {}, "", {}, True)
    return Difference("GET", "/x", "call", ("status: 403 vs 401",), Occurrence([], [exchange], [exchange]),
                      declared=declared)


class _Guess:
    def __init__(self, id: str, *operations: tuple[str, str]) -> None:
        self.id, self.operations = id, list(operations)


def test_guesses_are_confirmed_or_contradicted_by_operation_only_against_a_real_dimail() -> None:
    register = [_Guess("g1", ("POST", "/allows/")), _Guess("g2", ("POST", "/allows/"), ("GET", "/x")),
                _Guess("g3", ("DELETE", "/allows/{domain_name}/{user_name}")), _Guess("g4", ("GET", "/never"))]
    agreed = {"POST /allows/": 3, "GET /x": 1, "DELETE /allows/{domain_name}/{user_name}": 2}
    differed = {"GET /x": 1}
    assert judged_guesses(register, agreed, differed, fakes=1) == {
        "judged": True, "why": "", "registered": 4, "confirmed": ["g1", "g3"], "contradicted": ["g2"]}
    assert judged_guesses(register, agreed, differed, fakes=2)["why"] == "both targets are fakes"
    assert judged_guesses(register, agreed, differed, fakes=0)["judged"] is False
