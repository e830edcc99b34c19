"""The `provisioner` command against a standalone fake over HTTP: what it sends, prints and returns."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from provisioner.cli import Target, build_parser, main, resolve
from tests.conftest import served


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    yield from served("--seed", "empty", "--dns", "auto")


def run(url: str, *args: str, environ: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """`provisioner --url URL ARGS…` in-process, with no settings from the environment; the lines after the banner."""
    lines: list[str] = []
    code = main(["--url", url, *args], out=lines.append, environ=environ or {})
    assert lines[0].startswith(f"→ {url} as "), lines[:1]
    return code, lines[1:]


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


def test_wrong_credentials_are_named_with_the_setting_to_check(server: str) -> None:
    assert run(server, "initialise", "--admin", "admin:admin")[0] == 0  # past bootstrap: credentials are checked
    result = subprocess.run(
        [sys.executable, "-m", "provisioner.cli", "--url", server, "--password", "wrong", "status", "nope.fr"],
        capture_output=True, text=True, timeout=60, env={"PATH": ""},
    )
    assert result.returncode == 1
    # dimail answers 403 to a wrong password and to a missing right alike: the token call tells them apart.
    assert result.stderr == ("error: dimail refused la_regie's credentials (GET /token/ answered 403: "
                             "'Permission denied'): check --password\n")
    assert result.stdout.splitlines()[0] == f"→ {server} as la_regie"
    assert result.stdout.splitlines()[-1] == "-- 2 calls, 0 writes"


def test_people_credentials_from_the_environment_are_named_when_refused(server: str, capsys) -> None:
    assert run(server, "initialise", "--admin", "admin:admin")[0] == 0  # past bootstrap: credentials are checked
    capsys.readouterr()
    environ = {"MAIL_PROVISIONING_API_CREDENTIALS": base64.b64encode(b"la_regie:wrong").decode()}
    code, lines = run(server, "mailbox-disabled", "nope.fr", "jean", environ=environ)
    assert (code, calls(lines)) == (1, [("GET", "/token/", "403")])
    assert capsys.readouterr().err.endswith("'Permission denied'): check MAIL_PROVISIONING_API_CREDENTIALS\n")


def test_a_missing_right_is_not_blamed_on_the_credentials(server: str, capsys) -> None:
    assert run(server, "initialise", "--admin", "admin:admin")[0] == 0
    assert httpx.post(server + "/domains/", auth=("admin", "admin"), json={
        "name": "admins.example.fr", "context_name": "admins.example.fr", "features": ["mailbox"]}).status_code == 201
    capsys.readouterr()
    code, lines = run(server, "status", "admins.example.fr")
    assert (code, calls(lines)) == (1, [("GET", "/domains/admins.example.fr/check", "403"), ("GET", "/token/", "200")])
    assert capsys.readouterr().err == (
        "error: GET /domains/admins.example.fr/check answered 403: 'Permission denied': la_regie's credentials are "
        "accepted, but it may not do this here (not allowed on the domain, or lacking a perm: `provisioner "
        "initialise` says which)\n")


def test_initialise_with_an_admin_after_the_bootstrap_says_what_to_do(server: str, capsys) -> None:
    assert run(server, "initialise", "--admin", "admin:admin")[0] == 0
    capsys.readouterr()
    code, lines = run(server, "initialise", "--admin", "root:root")
    assert (code, calls(lines)) == (1, [("POST", "/users/", "403")])
    err = capsys.readouterr().err
    assert err.startswith("error: dimail refused 'root' as an admin (POST /users/ answered 403: 'Permission denied')")
    assert "the empty-database bootstrap is over: use an existing admin's USER:PASSWORD" in err
    assert err.count("\n") == 1


def test_environment_gives_the_url_and_credentials(server: str) -> None:
    env = {"DIMAIL_URL": server, "DIMAIL_USER": "admin", "DIMAIL_PASSWORD": "admin", "PATH": ""}
    result = subprocess.run([sys.executable, "-m", "provisioner", "--quiet", "status", "unknown.fr"],
                            capture_output=True, text=True, timeout=60, env=env)
    # The admin passes the rights, so dimail's own 404 comes through.
    assert (result.returncode, result.stderr.strip()) == (
        1, "error: GET /domains/unknown.fr/check answered 404: 'Domain not found'")


def test_peoples_settings_are_read_and_the_first_line_says_where_it_goes(server: str, capsys) -> None:
    environ = {"MAIL_PROVISIONING_API_URL": server,
               "MAIL_PROVISIONING_API_CREDENTIALS": base64.b64encode(b"admin:admin").decode()}
    lines: list[str] = []
    code = main(["status", "unknown.fr"], out=lines.append, environ=environ)
    assert lines[0] == f"→ {server} as admin (from MAIL_PROVISIONING_API_URL, MAIL_PROVISIONING_API_CREDENTIALS)"
    assert (code, calls(lines)) == (1, [("GET", "/domains/unknown.fr/check", "404")])


def target(*argv: str, **environ: str) -> Target:
    return resolve(build_parser().parse_args([*argv, "status", "d.fr"]), environ)


def test_settings_precedence_flags_then_dimail_then_people_then_dev_values() -> None:
    people = {"MAIL_PROVISIONING_API_URL": "http://people:8000",
              "MAIL_PROVISIONING_API_CREDENTIALS": base64.b64encode(b"regie:secret").decode(),
              "MAIL_PROVISIONING_API_TIMEOUT": "5"}
    dimail = {"DIMAIL_URL": "http://dimail:8000", "DIMAIL_USER": "u", "DIMAIL_PASSWORD": "p"}
    assert target() == Target("http://127.0.0.1:8001", "la_regie", "password", 20.0, ())
    assert target(**people) == Target("http://people:8000", "regie", "secret", 5.0,
                                      ("MAIL_PROVISIONING_API_URL", "MAIL_PROVISIONING_API_CREDENTIALS",
                                       "MAIL_PROVISIONING_API_TIMEOUT"))
    both = target(**people, **dimail)
    assert (both.url, both.user, both.password) == ("http://dimail:8000", "u", "p")
    flags = target("--url", "http://flag/", "--user", "f", "--password", "fp", "--timeout", "3", **people, **dimail)
    assert flags == Target("http://flag", "f", "fp", 3.0, ())
    mixed = target(**{"DIMAIL_USER": "u"}, **people)
    assert (mixed.user, mixed.password) == ("u", "secret")


@pytest.mark.parametrize(("environ", "words"), [
    ({"MAIL_PROVISIONING_API_CREDENTIALS": "not base64!"}, "MAIL_PROVISIONING_API_CREDENTIALS is not the base64 of "
                                                           "USER:PASSWORD: set it to the output of `printf "
                                                           "la_regie:password | base64`"),
    ({"MAIL_PROVISIONING_API_CREDENTIALS": base64.b64encode(b"no-colon").decode()}, "is not the base64 of USER:PASSWORD"),
    ({"DIMAIL_URL": "localhost:8001"}, "DIMAIL_URL: 'localhost:8001' has no scheme: add http:// (http://localhost:8001)"),
    ({"MAIL_PROVISIONING_API_URL": "dimail:8000"}, "MAIL_PROVISIONING_API_URL: 'dimail:8000' has no scheme: add http://"),
    ({"MAIL_PROVISIONING_API_TIMEOUT": "soon"}, "MAIL_PROVISIONING_API_TIMEOUT: 'soon' is not a positive number"),
])
def test_a_bad_setting_in_the_environment_is_one_line_and_exit_2(environ: dict[str, str], words: str, capsys) -> None:
    lines: list[str] = []
    assert main(["status", "d.fr"], out=lines.append, environ=environ) == 2
    err = capsys.readouterr().err
    assert lines == [] and err.startswith("provisioner: error: ") and words in err and err.count("\n") == 1


@pytest.mark.parametrize(("argv", "words"), [
    (["--url", "localhost:8001", "status", "d.fr"], "argument --url: 'localhost:8001' has no scheme: add http://"),
    (["status", "d.fr", "--url", "http://d:99999"], "argument --url: 'http://d:99999' has a port outside 1-65535"),
    (["access-granted", "example.fr", "u1", "admin"],
     "argument role: invalid choice: 'admin' (choose from 'owner', 'administrator', 'viewer')"),
    (["access-revoked", "example.fr", "u1", "--remaining-role", "boss"], "invalid choice: 'boss'"),
    (["initialise", "--admin", "admin"], "argument --admin: 'admin' is not USER:PASSWORD (for instance admin:admin)"),
    (["apply", "--admin", ":admin", "f.yaml"], "argument --admin: ':admin' is not USER:PASSWORD"),
    (["--timeout", "0", "status", "d.fr"], "argument --timeout: '0' is not a positive number of seconds"),
])
def test_a_misused_argument_is_refused_with_exit_2_before_any_call(argv: list[str], words: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv, out=pytest.fail, environ={})
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert words in err.splitlines()[-1] and "Traceback" not in err


def test_options_go_before_or_after_the_event(server: str) -> None:
    lines: list[str] = []
    code = main(["--url", "http://127.0.0.1:9", "status", "--url", server, "--user", "admin", "unknown.fr",
                 "--password", "admin"], out=lines.append, environ={})
    assert lines[0] == f"→ {server} as admin"
    assert (code, calls(lines)) == (1, [("GET", "/domains/unknown.fr/check", "404")])


def test_a_mailbox_left_pending_says_so_and_exits_2(server: str, capsys) -> None:
    assert run(server, "initialise", "--admin", "admin:admin")[0] == 0
    assert run(server, "domain-created", "pending.example.fr", "owner-sub")[0] == 0
    httpx.post(server + "/_fake/dns/pending.example.fr/publish", params={"records": "wrong"}).raise_for_status()
    capsys.readouterr()
    code, lines = run(server, "mailbox-created", "pending.example.fr", "Jean", "Jean", "Dupont")
    assert code == 2
    assert calls(lines) == [("GET", "/domains/pending.example.fr/check", "200")]
    assert json.loads(lines[-1]) == {"email": "jean@pending.example.fr", "status": "pending",
                                     "domain_status": "action_required"}
    assert capsys.readouterr().err == (
        "jean@pending.example.fr stays pending: domain pending.example.fr is action required, not enabled "
        "(`provisioner status pending.example.fr` says what fails); fix it, then run this again\n")


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "domains: []\n"])
def test_an_empty_dataset_is_refused(tmp_path: Path, text: str, capsys) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    code, lines = run("http://127.0.0.1:9", "apply", str(path))
    assert (code, lines) == (1, [])
    assert capsys.readouterr().err == (f"error: {path} declares no domains, so there is nothing to apply "
                                       "(see examples/people-dev.yaml for the format)\n")


def test_version_and_python_dash_m() -> None:
    result = subprocess.run([sys.executable, "-m", "provisioner", "--version"], capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "provisioner (fake-dimail) 0.1.0\n", "")


def test_unreachable_dimail_is_tried_twice_and_names_the_url_and_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run("http://127.0.0.1:9", "--timeout", "2", "status", "example.fr")
    assert code == 1
    # Nothing ever answered: one quick retry, not the whole backoff.
    assert calls(lines) == [("GET", "/domains/example.fr/check", "---")] * 2
    assert lines[1].endswith("(attempt 2)")
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("retry 1/1 of GET /domains/example.fr/check in 0.1 s: cannot connect: ")
    assert err[1].startswith("error: GET /domains/example.fr/check: no answer from dimail at http://127.0.0.1:9 "
                             "(cannot connect: ")
    assert err[1].endswith("): is the fake running? `make run`") and len(err) == 2
