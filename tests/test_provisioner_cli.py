"""The `provisioner` command against a standalone fake over HTTP: what it sends, prints and returns."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from provisioner.cli import main
from tests.conftest import served


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    yield from served("--seed", "empty", "--dns", "auto")


def run(url: str, *args: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = main(["--url", url, *args], out=lines.append)
    return code, lines


def calls(lines: list[str]) -> list[tuple[str, str, str]]:
    """(method, path, status) of the printed journal lines."""
    return [tuple(line.split()[:3]) for line in lines if line.split()[0] in ("GET", "POST", "PATCH", "DELETE")]


def test_people_sequence_from_the_shell(server: str) -> None:
    # An empty dimail: bootstrap the admin and People's user, as `setup_dimail_db` does.
    code, lines = run(server, "initialise", "--admin", "admin:admin")
    assert code == 0
    assert calls(lines) == [("POST", "/users/", "201"), ("POST", "/users/", "201"),
                            ("GET", "/users/la_regie", "200"), ("GET", "/token/", "200")]
    assert lines[-1] == "-- 4 calls, 2 writes"

    code, lines = run(server, "domain-created", "cli.example.fr", "owner-sub")
    assert code == 0
    assert calls(lines) == [
        ("POST", "/domains/", "201"), ("POST", "/users/", "201"), ("POST", "/allows/", "201"),
        ("GET", "/domains/cli.example.fr/check", "200"),
        ("GET", "/domains/cli.example.fr/fix/", "307"), ("GET", "/domains/cli.example.fr/fix", "200"),
        ("GET", "/domains/cli.example.fr/spec/", "307"), ("GET", "/domains/cli.example.fr/spec", "200"),
    ]
    assert json.loads(lines[-1]) == {"status": "enabled", "state": "ok", "fixed": True, "details": [], "sent": []}

    code, lines = run(server, "mailbox-created", "cli.example.fr", "jean", "Jean", "Dupont")
    assert code == 0
    created = json.loads(lines[-1])
    assert created["email"] == "jean@cli.example.fr" and len(created["password"]) == 16
    # Twice: dimail's duplicate 500, then the address probe says it is this very mailbox.
    code, lines = run(server, "mailbox-created", "cli.example.fr", "jean", "Jean", "Dupont")
    assert code == 0
    assert ("POST", "/domains/cli.example.fr/mailboxes/jean", "500") in calls(lines)
    assert lines[-2].endswith("0 writes")
    assert json.loads(lines[-1]) == {"email": "jean@cli.example.fr", "password": None}

    token = httpx.get(server + "/token/", auth=("la_regie", "password")).json()["access_token"]
    listing = httpx.get(server + "/domains/cli.example.fr/mailboxes/",
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert "jean@cli.example.fr" in [m["email"] for m in listing]
    allows = httpx.get(server + "/allows/", params={"domain": "cli.example.fr"}, auth=("admin", "admin")).json()
    assert sorted(a["user"] for a in allows) == ["la_regie", "owner-sub"]


def test_a_refusal_is_an_error_exit_with_dimails_detail(server: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "provisioner.cli", "--url", server, "--password", "wrong", "status", "nope.fr"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: GET /domains/nope.fr/check answered 403: 'Permission denied'"
    assert result.stdout.splitlines()[-1] == "-- 1 calls, 0 writes"


def test_environment_gives_the_url_and_credentials(server: str) -> None:
    env = {"DIMAIL_URL": server, "DIMAIL_USER": "admin", "DIMAIL_PASSWORD": "admin", "PATH": ""}
    result = subprocess.run([sys.executable, "-m", "provisioner.cli", "--quiet", "status", "unknown.fr"],
                            capture_output=True, text=True, timeout=60, env=env)
    # The admin passes the rights, so dimail's own 404 comes through.
    assert (result.returncode, result.stderr.strip()) == (
        1, "error: GET /domains/unknown.fr/check answered 404: 'Domain not found'")


def test_unreachable_dimail_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run("http://127.0.0.1:9", "--timeout", "2", "status", "example.fr")
    assert code == 1
    # A GET is safe to repeat: 1 try + 4 retries, each without an answer ('---').
    assert calls(lines) == [("GET", "/domains/example.fr/check", "---")] * 5
    assert [line.split("(attempt ")[-1] for line in lines[1:5]] == ["2)", "3)", "4)", "5)"]
    assert capsys.readouterr().err.startswith("error: GET /domains/example.fr/check: no answer from dimail (ConnectError")
