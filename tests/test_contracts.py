"""The contract suite run as its users run it: `pytest --pyargs contracts`, in a child process.

Against the in-process fake and a standalone fake over HTTP it passes; against
deliberately wrong fakes (tests/mutants.py) it fails, or skips for a missing
operation, naming the culprit each time; against nothing, or with refused
credentials, it stops at once with its own verdict and exit status; and in a
project that merely has fake-dimail installed it does nothing at all.

A run costs about 1 s of start-up (imports), then its contracts. So the runs
the selected tests need all start at once, on a pool of two: the main ones
(in-process, over HTTP, a foreign project) each in its own child process, the
others one after the other in a single child (`python -m tests.test_contracts`,
one `pytest.main` per run). A mutant runs only the contracts that catch it,
without shrinking: what is checked is that it fails, and why.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import served
from tests.doc_examples import PageRun
from tests.fake_state import state, unlisted

ROOT = Path(__file__).resolve().parents[1]
# contracts.conformance's text, written again: this module is also the batch child (`python -m tests.test_contracts`),
# which must not import `contracts` before its `pytest.main` does (pytest could not rewrite its asserts then).
PLATFORM_SKIP = "acts on the platform itself (stops, moves, disconnects): never sent without --dimail-system-writes"
SEQUENCE, PEOPLE, RULES, STATEFUL, SCHEMA = (f"contracts.test_{m}" for m in ("permission_sequence", "people",
                                                                              "rules", "stateful", "schema"))


# `python -m pytest`, and the `pytest` console script beside it (a local `__main__` to hypothesis: constants.py)
PYTHON_M_PYTEST, PYTEST_SCRIPT = (sys.executable, "-m", "pytest"), (str(Path(sys.executable).with_name("pytest")),)


def suite(*args: str, cwd: Path = ROOT, started: tuple[str, ...] = PYTHON_M_PYTEST) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*started, "--pyargs", "contracts", "-q", "-rs",
                           "-p", "no:cacheprovider", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def _nothing_listening() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _standalone(tmp: Path) -> dict[str, Any]:
    """An empty server: bootstrapped with the admin credentials, then run a second time; what it holds after."""
    server = served("--seed", "empty")
    url = next(server)
    try:
        unset = suite("--dimail-url", url)  # without the admin credentials, People's user cannot be made
        before = state(url)
        # The families that write what the clean-up must find: People's (people, sequence), the authorization
        # matrix's scratch objects, the stateful run's generated bodies. The others (the per-operation schema
        # one, the rules, the check lifecycle, list edits, steering) run in the in-process run, and over HTTP
        # they differ by transport alone. Three examples per property instead of eight: the linked scenarios go
        # on past their budget until they got through every link (contracts/test_stateful.py), so they still
        # make everything a chain can. (-25 s of CPU in all.)
        first = suite("--dimail-url", url, "--dimail-admin", "admin:admin", "-k",
                      "not test_operation_conforms and not test_rules and not lifecycle and not list_edits "
                      "and not steering", "--dimail-examples", "3",
                      "--dimail-report", str(tmp / "r"))
        after = state(url)
        domains = httpx.get(f"{url}/domains/", auth=("admin", "admin")).json()
        users = httpx.get(f"{url}/users/", auth=("admin", "admin")).json()
        again = suite("--dimail-url", url, "-k", "test_people",
                      "--dimail-report", str(tmp / "r2"))
    finally:
        server.close()
    return {"url": url, "unset": unset, "first": first, "domains": domains, "users": users, "again": again,
            "before": before, "after": after}


def _scratch(tmp: Path) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """A project that has fake-dimail installed and nothing to do with dimail."""
    (tmp / "test_trivial.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    plain = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    run = subprocess.run([*plain, "-q"], cwd=tmp, capture_output=True, text=True, timeout=120)
    fixtures = subprocess.run([*plain, "--fixtures"], cwd=tmp, capture_output=True, text=True, timeout=120)
    return run, fixtures


# The maintainers' tutorial shows the in-process run; its blocks are `run by` this module (tests/doc_examples.py),
# which checks their output as the page's test would, and the report that run wrote: one run of 30 s serves both.
TUTORIAL = "docs/tutorials/compatibility-run.md"


def _tutorial(tmp: Path, update: bool) -> list[str]:
    """The tutorial's `pytest --pyargs contracts -q --dimail-report compat` run, in `tmp`: what each command printed."""
    page = PageRun(ROOT / TUTORIAL, tmp, update=update, runner="tests/test_contracts.py")
    page.run()
    return page.outputs


# Test (function name, or its `mutant`/`key` parameter) -> its run in a child process of its own.
JOBS: dict[str, Callable[[Path, bool], Any]] = {
    "test_standalone_server_over_http_bootstraps_passes_and_cleans_up": lambda tmp, _: _standalone(tmp),
    "test_in_process_run_passes_and_writes_the_report": _tutorial,
    "test_installing_the_package_leaves_other_projects_test_runs_alone": lambda tmp, _: _scratch(tmp),
    # the tutorial's run goes through the `pytest` script: this one through `python -m pytest`
    "test_the_stateful_family_meets_the_same_scenarios_however_pytest_is_started":
        lambda tmp, _: suite("-k", "test_linked_scenarios_conform", "--dimail-report", str(tmp / "compat"), cwd=tmp),
}
# Tests that also read another test's run.
ALSO = {"test_the_stateful_family_meets_the_same_scenarios_however_pytest_is_started":
        ("test_in_process_run_passes_and_writes_the_report",)}
# The same, for runs that share one child process: (modules, arguments); `{tmp}` is the test's directory.
BATCHED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # What these runs judge is which contracts run, block or skip, and why, not how deep each one searches: one
    # example per property (the older dimail's run 16 -> 6 s of CPU). Without the linked scenarios (they run as
    # the admin like the rest of the schema family).
    "test_an_older_dimail_runs_what_it_can_with_the_admin_standing_in":
        (("contracts",), ("--dimail-app", "tests.mutants:users_without_perms", "--dimail-admin", "admin:admin",
                          "--dimail-report", "{tmp}/r", "-k", "not test_linked_scenarios_conform",
                          "--dimail-examples", "1")),
    # Without the families that need no steering: tests/test_matrix.py runs authz and edits, the rules need none.
    "test_a_target_without_steering_skips_fake_only_contracts_with_the_reason":
        (("contracts",), ("--dimail-app", "tests.mutants:without_steering", "--dimail-report", "{tmp}/r",
                          "-k", "not authorization and not list_edits and not test_rules", "--dimail-examples", "1")),
    # A mutant runs the family that catches it; the schema family's, on the operations that show the culprit, one
    # example each (every generated domain name is unknown there); the linked scenarios run whole (a number of
    # examples would draw them at random, and one may miss v2 creation).
    **{name: (modules, ("--dimail-app", f"tests.mutants:{name}", "--dimail-no-shrink", *narrowed))
       for name, modules, narrowed in (
        ("allow_not_removed", (SEQUENCE,), ()), ("refusal_answers_200", (SEQUENCE,), ()),
        ("my_domains_ignore_allows", (SEQUENCE,), ()),
        ("v2_creation_misses_field", (STATEFUL,), ()), ("renamed_field", (PEOPLE,), ()),
        ("mailbox_crash_on_unknown_domain", (SCHEMA,), ("-k", "mailboxes", "--dimail-examples", "1")))},
    "test_a_missing_operation_skips_what_needs_it_with_the_reason":
        ((SEQUENCE, RULES), ("--dimail-app", "tests.mutants:missing_operation")),
    "test_nothing_listening_is_unreachable_exit_6_without_drift":
        (("contracts",), ("--dimail-url", "{nothing}", "--dimail-report", "{tmp}/r")),
    "test_refused_people_credentials_are_not_usable_exit_7":
        (("contracts",), ("--dimail-people", "la_regie:wrong", "--dimail-report", "{tmp}/r")),
    "test_refused_admin_credentials_are_not_usable_exit_7": (("contracts",), ("--dimail-admin", "admin:wrong")),
    "test_an_app_that_cannot_be_built_is_not_usable_exit_7": (("contracts",), ("--dimail-app", "json:dumps")),
    "test_remote_target_is_refused_without_permission":
        (("contracts",), ("--dimail-url", "http://dimail.example.org:8000")),
    "test_a_url_without_scheme_is_a_usage_error_saying_so": (("contracts",), ("--dimail-url", "localhost:8001")),
    "test_system_writes_send_the_platform_operations_only_when_asked":
        ((RULES, SCHEMA), ("--dimail-system-writes", "-k", "system", "--dimail-report", "{tmp}/r",
                           "--dimail-examples", "1")),
    "test_a_bad_dimail_app_is_a_usage_error_in_one_line": (("contracts",), ("--dimail-app", "nosuch:thing")),
    "test_xdist_workers_are_a_usage_error": (("contracts",), ("-n", "2")),
}


def _batch(runs: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]], tmp: Path) -> dict[str, Any]:
    """Run these in one child process; each one's status, stdout and stderr."""
    (tmp / "runs.json").write_text(json.dumps(runs))
    child = subprocess.run([sys.executable, "-m", "tests.test_contracts", str(tmp / "runs.json")], cwd=ROOT,
                           capture_output=True, text=True, timeout=900)
    assert child.returncode == 0, child.stdout[-2000:] + child.stderr[-3000:]
    results = json.loads((tmp / "runs.json.out").read_text())
    return {key: subprocess.CompletedProcess([], *results[key]) for key in runs}


def _run_batch(path: str) -> None:
    """In the child: one `pytest.main` per run, as `pytest --pyargs MODULES -q -rs ARGS` from the repository."""
    sys.path.insert(0, str(ROOT))
    results = {}
    for key, (modules, args, out) in json.loads(Path(path).read_text()).items():
        with open(f"{out}.stdout", "w") as stdout, open(f"{out}.stderr", "w") as stderr, \
                contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            status = int(pytest.main(["--pyargs", *modules, "-q", "-rs", "-p", "no:cacheprovider", *args]))
        results[key] = [status, Path(f"{out}.stdout").read_text(), Path(f"{out}.stderr").read_text()]
    Path(f"{path}.out").write_text(json.dumps(results))


def _key(item: pytest.Item) -> str:
    params = getattr(item, "callspec", None) and item.callspec.params  # type: ignore[attr-defined]
    return (params and (params.get("mutant") or params.get("key"))) or getattr(item, "originalname", "")


class Runs:
    """The runs of the selected tests, started together on a pool of two."""

    def __init__(self, pool: ThreadPoolExecutor, tmp: Callable[[str], Path], keys: list[str], update: bool) -> None:
        self.futures: dict[str, Future[Any]] = {}
        self.dirs = {key: tmp(key[:40]) for key in keys}
        batched = {key: (modules, tuple(a.format(tmp=self.dirs[key], nothing=_nothing_listening()) for a in args),
                         str(self.dirs[key] / "run")) for key in keys if key in BATCHED
                   for modules, args in [BATCHED[key]]}
        if batched:
            batch = pool.submit(_batch, batched, tmp("batch"))
            for key in batched:
                self.futures[key] = batch
        for key in keys:
            if key in JOBS:
                self.futures[key] = pool.submit(JOBS[key], self.dirs[key], update)

    def of(self, request: pytest.FixtureRequest, key: str | None = None) -> tuple[Any, Path]:
        key = key or _key(request.node)
        result = self.futures[key].result()
        return (result[key] if key in BATCHED else result), self.dirs[key]


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    keys = list(dict.fromkeys(_key(item) for item in request.session.items if item.module is request.module))
    keys = list(dict.fromkeys(also for key in keys for also in (key, *ALSO.get(key, ()))))
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield Runs(pool, tmp_path_factory.mktemp, [k for k in keys if k in JOBS or k in BATCHED],
                   request.config.getoption("--update-examples"))


def stdout_of(run: subprocess.CompletedProcess[str]) -> str:
    return run.stdout[-3000:] + run.stderr[-2000:]


def stateful_summary(report: dict[str, Any]) -> str:
    """The stateful family's line: scenarios, what answered 2xx, writes read back, quirks seen."""
    (line,) = [r["message"] for r in report["results"] if r["nodeid"].endswith("test_linked_scenarios_conform")]
    return line


def test_in_process_run_passes_and_writes_the_report(runs: Runs, request: pytest.FixtureRequest) -> None:
    """The tutorial's run: its output is the page's (checked by PageRun), its report says the same."""
    (stdout, shown), tmp = runs.of(request)
    assert stdout.endswith("exit 0\n") and shown == "compatible 0 True\n", stdout[-3000:]
    report = json.loads((tmp / "compat.json").read_text())
    assert (report["verdict"], report["exit_status"], report["compatible"]) == ("compatible", 0, True)
    assert report["about"]["target"] == "in-process fake"
    assert report["about"]["steering"] is True
    assert report["counts"] == {"passed": 449, "failed": 0, "skipped": 21, "blocked": 0}
    assert report["families"]["authz"] == {"passed": 86, "failed": 0, "skipped": 7, "blocked": 0}
    assert report["families"]["edits"] == {"passed": 3, "failed": 0, "skipped": 0, "blocked": 0}
    assert report["families"]["lifecycle"] == {"passed": 46, "failed": 0, "skipped": 0, "blocked": 0}
    assert report["families"]["sequence"] == {"passed": 1, "failed": 0, "skipped": 0, "blocked": 0}
    assert report["families"]["steering"]["passed"] == 2
    assert report["families"]["schema"]["passed"] == 85 and report["families"]["people"]["passed"] == 13
    # What stops, moves or disconnects a platform is never sent by default, not even to the fake.
    skipped = [r["message"] for r in report["results"] if r["outcome"] == "skipped"]
    assert len(skipped) == 21 and all(m.endswith(PLATFORM_SKIP) for m in skipped), skipped
    # the default stateful run gets through the links to forwards, public aliases, identities, secondary
    # accounts and app passwords
    stateful = stateful_summary(report)
    reached = dict(item.rsplit(" x", 1) for item in stateful.split("answered 2xx: ")[1].split(" — ")[0].split(", "))
    assert int(stateful.split(" writes read back (")[0].rsplit(" ", 1)[1]) > 100, stateful  # and read back
    assert {"POST /domains/{domain_name}/forwards/{user_name}", "POST /aliases", "POST /identities",
            "POST /domains/{domain_name}/mailboxes/{user_name}/master_of/{secondary_email}",
            "POST /domains/{domain_name}/mailboxes/{user_name}/app_passwords"} <= set(reached), stateful
    assert report["drift"] == [] and report["cleanup"] == [] and report["blocker"] is None
    markdown = (tmp / "compat.md").read_text()
    assert markdown.startswith("# dimail compatibility: in-process fake\n")
    assert "- verdict: **compatible** (exit status 0)" in markdown
    assert "verdict: compatible" in stdout
    # progress stays dots, no transcript or state-machine dump in a passing run
    assert len(stdout.splitlines()) < 26, stdout


def test_standalone_server_over_http_bootstraps_passes_and_cleans_up(runs: Runs,
                                                                     request: pytest.FixtureRequest) -> None:
    """An empty server: the suite bootstraps People's user with the admin credentials, then deletes its data."""
    done, tmp = runs.of(request)
    assert done["unset"].returncode == 7, stdout_of(done["unset"])
    assert ("NOT USABLE: People's user cannot be set up: People's user 'la_regie' does not exist on this dimail"
            in done["unset"].stdout and "give --dimail-admin USER:PASSWORD" in done["unset"].stdout)
    assert done["first"].returncode == 0, stdout_of(done["first"])
    report = json.loads((tmp / "r.json").read_text())
    assert report["about"]["url"] == done["url"] and report["compatible"] is True
    assert report["families"]["people"]["failed"] == 0 and report["families"]["people"]["passed"] >= 13
    prefix = report["about"]["prefix"]
    # nothing left behind, not even what generated bodies created: only the bootstrap's users remain
    assert done["domains"] == []
    names = {u["name"] for u in done["users"]}
    assert names <= {"admin", "la_regie"} and "la_regie" in names
    # the fake's whole state is back, but for what the report names: the OX contexts, the bootstrap's users
    assert unlisted(done["before"], done["after"], report["leftovers"]) == {}
    assert [(leftover["kind"], leftover["names"]) for leftover in report["leftovers"]][1:] == \
        [("user", ["admin", "la_regie"])]
    assert "left behind: 2 users (admin, la_regie): set up by this run's bootstrap" in done["first"].stdout
    # twice in a row against the same server: a new prefix, still green
    assert done["again"].returncode == 0, stdout_of(done["again"])
    assert json.loads((tmp / "r2.json").read_text())["about"]["prefix"] != prefix


@pytest.mark.parametrize(("key", "line"), [
    ("test_remote_target_is_refused_without_permission", "not a loopback address; the contract suite creates"),
    ("test_a_url_without_scheme_is_a_usage_error_saying_so",
     "--dimail-url 'localhost:8001' has no scheme: add http:// (http://localhost:8001)"),
    ("test_a_bad_dimail_app_is_a_usage_error_in_one_line",
     "--dimail-app nosuch:thing: cannot import nosuch (No module named 'nosuch')"),
    ("test_xdist_workers_are_a_usage_error", "-n (pytest-xdist): the contract suite runs in one process"),
])
def test_usage_errors_are_one_line_and_status_4(runs: Runs, request: pytest.FixtureRequest, key: str,
                                                line: str) -> None:
    run, _ = runs.of(request)
    assert run.returncode == 4, stdout_of(run)  # pytest's usage error
    [error] = run.stderr.strip().splitlines()
    assert error.startswith("ERROR: -") and line in error, run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_nothing_listening_is_unreachable_exit_6_without_drift(runs: Runs, request: pytest.FixtureRequest) -> None:
    run, tmp = runs.of(request)
    assert run.returncode == 6, stdout_of(run)
    assert "UNREACHABLE: nothing answers at http://127.0.0.1:" in run.stdout and "make run" in run.stdout
    assert "verdict: UNREACHABLE" in run.stdout and "drift" not in run.stdout
    assert "Error" not in run.stdout.replace("ConnectError", ""), run.stdout  # no test ran, none errored
    report = json.loads((tmp / "r.json").read_text())
    assert (report["verdict"], report["exit_status"], report["drift"], report["results"]) == ("UNREACHABLE", 6, [], [])


def test_refused_people_credentials_are_not_usable_exit_7(runs: Runs, request: pytest.FixtureRequest) -> None:
    run, tmp = runs.of(request)
    assert run.returncode == 7, stdout_of(run)
    why = "dimail refused People's credentials (--dimail-people) of 'la_regie': GET /token/ answered 403"
    assert f"NOT USABLE: {why}" in run.stdout and "verdict: NOT USABLE" in run.stdout
    assert "no tests ran" in run.stdout and " error" not in run.stdout
    report = json.loads((tmp / "r.json").read_text())
    assert report["verdict"] == "NOT USABLE" and report["exit_status"] == 7 and report["blocker"].startswith(why)


def test_refused_admin_credentials_are_not_usable_exit_7(runs: Runs, request: pytest.FixtureRequest) -> None:
    run, _ = runs.of(request)
    assert run.returncode == 7, stdout_of(run)
    assert "NOT USABLE: dimail refused the admin credentials (--dimail-admin) of 'admin': POST /users/ answered 403" \
        in run.stdout


def test_an_app_that_cannot_be_built_is_not_usable_exit_7(runs: Runs, request: pytest.FixtureRequest) -> None:
    run, _ = runs.of(request)
    assert run.returncode == 7, stdout_of(run)
    summary = run.stdout.split(" dimail compatibility ")[1].strip().splitlines()[1:]
    assert summary == ["target: in-process json:dumps",
                       "NOT USABLE: building json:dumps failed: TypeError(\"dumps() missing 1 required positional "
                       "argument: 'obj'\")", "verdict: NOT USABLE", summary[-1]], summary
    assert summary[-1].startswith("no tests ran")


@pytest.mark.parametrize(("mutant", "culprit"), [
    ("allow_not_removed", "exact deletion, DELETE /allows/"),
    ("refusal_answers_200", "answered 200, expected 403 (allowed: False)"),
    ("my_domains_ignore_allows", "GET /my/domains as ct"),
    ("renamed_field", "M2 GET /domains/{d}/address/{local}/: the answer lacks `ox_primary_email`"),
    ("v2_creation_misses_field",
     "test_linked_scenarios_conform: AssertionError: POST /v2/domains/{domain_name}/mailboxes/{user_name}: "),
    ("mailbox_crash_on_unknown_domain",
     "test_operation_conforms[POST /domains/{domain_name}/mailboxes/{user_name}]: contracts.expect.ContractBroken: "
     "POST /domains/{domain_name}/mailboxes/{user_name}: Schemathesis found"),
])
def test_a_wrong_fake_fails_the_suite_naming_the_culprit(runs: Runs, request: pytest.FixtureRequest,
                                                         mutant: str, culprit: str) -> None:
    run, _ = runs.of(request)
    assert run.returncode == 1, stdout_of(run)
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED ")]
    assert failed and any(culprit in line for line in failed), failed
    assert "verdict: NOT compatible" in run.stdout


def test_an_older_dimail_runs_what_it_can_with_the_admin_standing_in(runs: Runs,
                                                                    request: pytest.FixtureRequest) -> None:
    """Like dimail's 2024 server (users without perms): People's user cannot be set up; with --dimail-admin
    everything that does not need its perms runs as the admin, the rest is BLOCKED with the reason, once."""
    run, tmp = runs.of(request)
    assert run.returncode == 7, stdout_of(run)
    why = ("People's user cannot be set up: this dimail's users have no `perms` (an older dimail): "
           "People's user 'la_regie' cannot be given new_domain, create_users, manage_users")
    summary = run.stdout.split("== dimail compatibility ==")[1]
    # the sequence, and the authz and edits families: v0.8.2's perms are what they judge
    assert f"BLOCKED: 98 contracts could not run: {why}" in summary
    assert "sequence    0 passed   0 failed   0 skipped   1 blocked" in summary
    assert not [line for line in summary.splitlines() if line.startswith("FAILED ")]
    report = json.loads((tmp / "r.json").read_text())
    assert report["verdict"] == "NOT USABLE" and report["blocker"].startswith(why)
    assert report["about"]["people"] == "admin (admin, standing in for la_regie)"
    # the rules: all but the one that refuses People's own user (only an admin sets `wait`)
    for family, passed, skipped, blocked in (("rules", 212, 7, 1), ("schema", 84, 7, 0), ("people", 13, 0, 0)):
        assert report["families"][family] == {"passed": passed, "failed": 0, "skipped": skipped,
                                               "blocked": blocked}, family
    assert report["families"]["sequence"] == {"passed": 0, "failed": 0, "skipped": 0, "blocked": 1}
    assert report["drift"] and all(d["kind"] == "fields" and "perms" in d["detail"] for d in report["drift"])
    assert f"## Blocked\n\n98 contracts could not run: {why}" in (tmp / "r.md").read_text()


def test_a_missing_operation_skips_what_needs_it_with_the_reason(runs: Runs, request: pytest.FixtureRequest) -> None:
    run, _ = runs.of(request)
    assert run.returncode == 0, stdout_of(run)
    assert "the target does not declare DELETE /allows/{domain_name}/{user_name}" in run.stdout
    assert "sequence    0 passed   0 failed   1 skipped" in run.stdout


def test_a_target_without_steering_skips_fake_only_contracts_with_the_reason(runs: Runs,
                                                                            request: pytest.FixtureRequest) -> None:
    run, tmp = runs.of(request)
    assert run.returncode == 0, stdout_of(run)
    report = json.loads((tmp / "r.json").read_text())
    assert report["about"]["steering"] is False
    assert report["families"]["steering"] == {"passed": 0, "failed": 0, "skipped": 2, "blocked": 0}
    assert report["families"]["sequence"]["passed"] == 1
    reasons = {r["message"] for r in report["results"] if r["outcome"] == "skipped"}
    assert "needs the fake's /_fake/ steering (simulated DNS, platform faults): a real dimail has none" in reasons
    assert ("POST /users/ writes: generated bodies would leave random data on a real dimail "
            "(--dimail-schema-writes to run it anyway)") in reasons
    assert ("linked scenarios write generated data on a real dimail (--dimail-schema-writes to run them)"
            in reasons)
    writes = sum(1 for r in reasons if " write" in r)
    platform = sum(1 for r in reasons if r.endswith(PLATFORM_SKIP))
    assert (report["families"]["schema"]["skipped"], writes, platform) == (46, 39, 7)


def test_installing_the_package_leaves_other_projects_test_runs_alone(runs: Runs,
                                                                     request: pytest.FixtureRequest) -> None:
    (run, fixtures), _ = runs.of(request)
    assert run.returncode == 0, stdout_of(run)
    assert run.stdout.splitlines()[-1].startswith("1 passed"), run.stdout
    assert "dimail" not in run.stdout and "verdict" not in run.stdout
    assert fixtures.returncode == 0, stdout_of(fixtures)
    offered = {line.split()[0] for line in fixtures.stdout.splitlines() if line and not line.startswith((" ", "-"))}
    assert "dimail" not in offered and "dimail_target" not in offered, sorted(offered)
    assert "_dimail_requirements" not in fixtures.stdout and "contracts/conftest.py" not in fixtures.stdout


def test_the_stateful_family_meets_the_same_scenarios_however_pytest_is_started(
        runs: Runs, request: pytest.FixtureRequest) -> None:
    """The default run draws the same examples every time: alone and through `python -m pytest`, as in the whole
    suite through the `pytest` script (the tutorial's run; before contracts/constants.py: 17 scenarios and 160
    writes read back here, 18 and 89 there)."""
    run, tmp = runs.of(request)
    assert run.returncode == 0, stdout_of(run)
    (whole, _), whole_tmp = runs.of(request, "test_in_process_run_passes_and_writes_the_report")
    assert whole.endswith("exit 0\n"), whole[-3000:]
    alone = stateful_summary(json.loads((tmp / "compat.json").read_text()))
    assert alone == stateful_summary(json.loads((whole_tmp / "compat.json").read_text()))
    assert " writes read back (" in alone, alone


def test_system_writes_send_the_platform_operations_only_when_asked(runs: Runs, request: pytest.FixtureRequest) -> None:
    """With --dimail-system-writes every /system/ contract runs; the shutdown last, after the clean-up."""
    run, tmp = runs.of(request)
    assert run.returncode == 0, stdout_of(run)
    report = json.loads((tmp / "r.json").read_text())
    assert report["counts"] == {"passed": 84, "failed": 0, "skipped": 0, "blocked": 0}  # with the 4 /logs/ refusals
    assert report["results"][-1]["nodeid"].endswith("test_operation_conforms[GET /system/shutdown]")
    assert report["cleanup"] == []


if __name__ == "__main__":
    _run_batch(sys.argv[1])
