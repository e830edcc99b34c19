"""The contract suite run as its users run it: `pytest --pyargs contracts`, in a child process.

Against the in-process fake and a standalone fake over HTTP it passes; against
deliberately wrong fakes (tests/mutants.py) it fails, or skips for a missing
operation, naming the culprit each time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import served

ROOT = Path(__file__).resolve().parents[1]


def suite(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "contracts", "-q", "-rs",
                           "-p", "no:cacheprovider", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    yield from served("--seed", "empty")


def test_in_process_run_passes_and_writes_the_report(tmp_path: Path) -> None:
    run = suite("--dimail-report", str(tmp_path / "compat"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    report = json.loads((tmp_path / "compat.json").read_text())
    assert report["compatible"] is True
    assert report["about"]["target"] == "in-process fake"
    assert report["about"]["steering"] is True
    assert report["counts"]["failed"] == 0 and report["counts"]["skipped"] == 0
    assert report["families"]["sequence"] == {"passed": 1, "failed": 0, "skipped": 0}
    assert report["families"]["steering"] == {"passed": 2, "failed": 0, "skipped": 0}
    assert report["families"]["schema"]["passed"] == 38 and report["families"]["people"]["passed"] == 13
    assert report["drift"] == [] and report["cleanup"] == []
    markdown = (tmp_path / "compat.md").read_text()
    assert markdown.startswith("# dimail compatibility: in-process fake\n")
    assert "- verdict: **compatible**" in markdown
    assert "verdict: compatible" in run.stdout


def test_standalone_server_over_http_bootstraps_passes_and_cleans_up(server: str, tmp_path: Path) -> None:
    """An empty server: the suite bootstraps People's user with the admin credentials, then deletes its data."""
    run = suite("--dimail-url", server, "--dimail-admin", "admin:admin", "--dimail-report", str(tmp_path / "r"))
    assert run.returncode == 0, run.stdout[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["about"]["url"] == server and report["compatible"] is True
    assert report["families"]["people"]["failed"] == 0 and report["families"]["people"]["passed"] >= 13
    prefix = report["about"]["prefix"]
    domains = httpx.get(f"{server}/domains/", auth=("admin", "admin")).json()
    users = httpx.get(f"{server}/users/", auth=("admin", "admin")).json()
    # nothing left behind, not even what generated bodies created: only the bootstrap's users remain
    assert domains == []
    assert {u["name"] for u in users} <= {"admin", "la_regie"} and "la_regie" in {u["name"] for u in users}
    assert not any(u["name"].startswith(prefix) for u in users)
    # twice in a row against the same server: a new prefix, still green
    again = suite("--dimail-url", server, "-k", "people", "--dimail-report", str(tmp_path / "r2"))
    assert again.returncode == 0, again.stdout[-3000:]
    assert json.loads((tmp_path / "r2.json").read_text())["about"]["prefix"] != prefix


def test_remote_target_is_refused_without_permission() -> None:
    run = suite("--dimail-url", "http://dimail.example.org:8000")
    assert run.returncode == 4  # pytest's usage error
    assert "not a loopback address" in run.stderr and "--dimail-allow-remote" in run.stderr


def test_unusable_people_credentials_fail_with_the_reason(server: str) -> None:
    run = suite("--dimail-url", server, "--dimail-people", "la_regie:wrong", "-x")
    assert run.returncode == 1
    assert "People's user is not usable" in run.stdout and "GET /token/ answered 403" in run.stdout


@pytest.mark.parametrize(("mutant", "culprit"), [
    ("allow_not_removed", "GET /allows/: extra ["),
    ("refusal_answers_200", "answered 200, expected 403 (allowed: False)"),
    ("renamed_field", "M2 GET /domains/{d}/address/{local}/: the answer lacks `ox_primary_email`"),
    ("v2_creation_misses_field",
     "test_linked_scenarios_conform: AssertionError: POST /v2/domains/{domain_name}/mailboxes/{user_name}: "),
])
def test_a_wrong_fake_fails_the_suite_naming_the_culprit(mutant: str, culprit: str) -> None:
    run = suite("--dimail-app", f"tests.mutants:{mutant}")
    assert run.returncode == 1, run.stdout[-3000:]
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED ")]
    assert failed and any(culprit in line for line in failed), failed
    assert "verdict: NOT compatible" in run.stdout


def test_a_target_people_cannot_use_is_reported_once_with_its_drift(tmp_path: Path) -> None:
    """Like dimail's 2024 server (users without perms): every contract is blocked, the report says why once."""
    run = suite("--dimail-app", "tests.mutants:users_without_perms", "--dimail-report", str(tmp_path / "r"))
    assert run.returncode == 1
    why = ("People's user is not usable: this dimail's users have no `perms` (an older dimail): "
           "People's user 'la_regie' cannot be given new_domain, create_users, manage_users")
    assert f"BLOCKED: 128 contracts could not run: {why}" in run.stdout
    assert not [line for line in run.stdout.split("== dimail compatibility ==")[1].splitlines()
                if line.startswith("FAILED ")]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["blocker"] == why and report["counts"]["failed"] == 128 and report["compatible"] is False
    assert report["about"]["version"] == "v0.8.2" and report["drift"] == []
    assert f"## Blocked\n\n128 contracts could not run: {why}" in (tmp_path / "r.md").read_text()


def test_a_missing_operation_skips_what_needs_it_with_the_reason() -> None:
    run = suite("--dimail-app", "tests.mutants:missing_operation")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "the target does not declare DELETE /allows/{domain_name}/{user_name}" in run.stdout
    assert "sequence    0 passed   0 failed   1 skipped" in run.stdout


def test_a_target_without_steering_skips_fake_only_contracts_with_the_reason(tmp_path: Path) -> None:
    run = suite("--dimail-app", "tests.mutants:without_steering", "--dimail-report", str(tmp_path / "r"))
    assert run.returncode == 0, run.stdout[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["about"]["steering"] is False
    assert report["families"]["steering"] == {"passed": 0, "failed": 0, "skipped": 2}
    assert report["families"]["sequence"] == {"passed": 1, "failed": 0, "skipped": 0}
    reasons = {r["message"] for r in report["results"] if r["outcome"] == "skipped"}
    assert "needs the fake's /_fake/ steering (simulated DNS, platform faults): a real dimail has none" in reasons
    assert ("POST /users/ writes: generated bodies would leave random data on a real dimail "
            "(--dimail-schema-writes to run it anyway)") in reasons
    assert ("linked scenarios write generated data on a real dimail (--dimail-schema-writes to run them)"
            in reasons)
    assert report["families"]["schema"]["skipped"] == sum(1 for r in reasons if " write" in r) == 21
