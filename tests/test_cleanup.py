"""The contract suite cleans up after itself, even interrupted; what it cannot remove, its report names.

A run's state is compared with the fake's `/_fake/state` before it (`unlisted`):
whatever changed must be named in the report's `leftovers`. The full run over
HTTP is checked in tests/test_contracts.py (its standalone run); here, a run
stopped by Ctrl-C in the middle of the permission sequence, the crash logs, what
generated bodies create outside the run's domains, and the NOT USABLE messages.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.conftest import _bootstrap
from contracts.report import Report
from contracts.target import IN_PROCESS_URL, Target
from fake_dimail.fake import FakeDimail
from fake_dimail.seeds import UserSeed
from fake_dimail.transport import ASGISyncTransport
from tests.conftest import served
from tests.fake_state import state, unlisted

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dns_auto_server() -> Any:
    """A fake whose new domains publish their DNS zone: the run must remove the zones too."""
    yield from served("--seed", "people-dev", "--dns", "auto")


def test_an_interrupted_run_removes_what_it_created(dns_auto_server: str, tmp_path: Path) -> None:
    """Ctrl-C in the middle of the permission sequence, whose domains the run has not noted yet (the state
    machine deletes them itself, at the end of each example)."""
    before = state(dns_auto_server)
    run = subprocess.Popen([sys.executable, "-m", "pytest", "--pyargs", "contracts.test_permission_sequence", "-q",
                            "-p", "no:cacheprovider", "--dimail-url", dns_auto_server, "--dimail-admin", "admin:admin",
                            "--dimail-report", str(tmp_path / "r")], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and run.poll() is None:
            if httpx.get(f"{dns_auto_server}/_fake/").json()["counts"]["domains"]:
                break
            time.sleep(0.2)
        assert run.poll() is None, "the run ended before it could be interrupted"
        assert state(dns_auto_server)["zones"], "the run's domains publish their zones (--dns auto)"
        run.send_signal(signal.SIGINT)
        output, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 2, output[-3000:]  # pytest's own status for an interrupted run
    assert "KeyboardInterrupt" in output and "verdict: " in output, output[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["cleanup"] == [], report["cleanup"]
    after = state(dns_auto_server)
    assert unlisted(before, after, report["leftovers"]) == {}
    assert after["domains"] == [] and after["zones"] == {} and after["allows"] == before["allows"]
    contexts = [leftover for leftover in report["leftovers"] if leftover["kind"] == "OX context"]
    assert contexts and all(name.startswith(report["about"]["prefix"]) for name in contexts[0]["names"])
    assert f"left behind: {len(contexts[0]['names'])} OX context" in output


def _target(fake: FakeDimail, admin: tuple[str, str] | None = ("admin", "admin"),
            people: tuple[str, str] = ("la_regie", "password")) -> Target:
    target = Target(IN_PROCESS_URL, admin, people, transport=ASGISyncTransport(fake.app))
    target.load_openapi()
    return target


def test_the_run_s_crash_logs_go_and_another_client_s_stay() -> None:
    fake = FakeDimail(seed="people-dev")
    target = _target(fake)
    target.begin()
    with fake.client(auth=("admin", "admin")) as admin:
        assert admin.post("/users/", json={"name": "someone", "password": "x", "is_admin": False,
                                           "perms": []}).status_code == 201
    domain = target.name("domain")
    target.created_domains.append(domain)
    assert target.call("POST", "/domains/", auth=target.people, json={
        "name": domain, "context_name": domain, "features": ["webmail", "mailbox"]}).status_code == 201
    mailbox = {"givenName": "Jeanne", "surName": "Test", "displayName": "Jeanne Test"}
    token = target.token()
    for _ in range(2):  # the second is dimail's duplicate-mailbox 500: a crash log naming the run's domain
        answer = target.call("POST", f"/domains/{domain}/mailboxes/jeanne", bearer=token, json=mailbox)
    assert answer.status_code == 500
    foreign = fake.backend.record_crash("GET", "/somewhere/else", "someone", "another client's crash")
    assert target.cleanup() == []
    with fake.client(auth=("admin", "admin")) as admin:
        assert [c["name"] for c in admin.get("/logs/crashes").json()] == [foreign.name]
    assert [leftover.as_dict() for leftover in target.leftovers] == [
        {"kind": "OX context", "names": [domain], "why": "made for the run's webmail domains; no dimail operation "
                                                         "deletes a context (DELETE /domains/{domain_name} leaves it)"},
        {"kind": "crash log", "names": [foreign.name], "why": "written during the run but not naming its prefix: "
                                                              "perhaps another client's, kept"}]


def test_without_admin_credentials_the_crash_logs_are_counted_not_read() -> None:
    fake = FakeDimail(seed="people-dev")
    target = _target(fake, admin=None)
    target.begin()
    domain = target.name("domain")
    target.created_domains.append(domain)
    target.call("POST", "/domains/", auth=target.people, json={"name": domain, "features": ["mailbox"]})
    mailbox = {"givenName": "Jeanne", "surName": "Test", "displayName": "Jeanne Test"}
    for _ in range(2):
        target.call("POST", f"/domains/{domain}/mailboxes/jeanne", bearer=target.token(), json=mailbox)
    assert target.cleanup() == []
    assert [leftover.line() for leftover in target.leftovers] == [
        "crash logs: 1 request answered 500 and dimail keeps a crash log for each: reading and deleting them "
        "needs --dimail-admin"]


def test_what_generated_bodies_make_outside_the_run_is_undone() -> None:
    """An admin may create an alias on a domain that does not exist (dimail's 2024 server does): it is noted
    as the answer comes, and deleted at the end; an alias on a domain of the run goes with the domain."""
    fake = FakeDimail(seed="people-dev")
    target = _target(fake)
    token = target.call("GET", "/token/", auth=target.admin).json()["access_token"]
    alias = {"user_name": "contact", "destination": "someone@elsewhere.test"}
    assert target.call("POST", "/domains/0/aliases/", bearer=token, json=alias).status_code == 201
    assert target.call("POST", "/system/rate_limits/nobody", auth=target.admin,
                       json={"name": "nobody", "limits": []}).status_code == 201
    assert [(u.method, u.path) for u in target.undo] == [
        ("DELETE", "/domains/0/aliases/contact/someone@elsewhere.test"), ("DELETE", "/system/rate_limits/nobody")]
    assert target.cleanup() == []
    assert list(fake.backend.state.aliases) == [] and list(fake.backend.state.rate_limits) == []
    assert target.undo == []


def test_an_ox_context_a_domain_is_moved_to_is_named_too() -> None:
    fake = FakeDimail(seed="people-dev")
    target = _target(fake)
    domain = target.name("domain")
    target.created_domains.append(domain)
    assert target.call("POST", "/domains/", auth=target.people, json={"name": domain, "features": ["mailbox"]}) \
        .status_code == 201
    assert target.call("PATCH", f"/domains/{domain}", auth=target.admin, json={
        "features": ["mailbox", "webmail"], "context_name": "moved-here"}).status_code == 200
    assert target.cleanup() == []
    assert [(leftover.kind, leftover.names) for leftover in target.leftovers] == [("OX context", ("moved-here",))]
    assert [c.name for c in fake.backend.state.contexts.values()] == ["moved-here"]


def test_a_domain_the_run_never_got_is_not_touched_beyond_a_look() -> None:
    """A name noted before its creation failed: one read says it does not exist, nothing is deleted."""
    fake = FakeDimail(seed="people-dev")
    target = _target(fake)
    target.created_domains.append(target.name("domain"))
    assert target.cleanup() == [] and target.leftovers == [] and target.left_behind == []


# --- the NOT USABLE messages ----------------------------------------------------------------------

ADMIN_ONLY = [UserSeed("admin", "admin", is_admin=True)]


@pytest.mark.parametrize(("seed", "admin", "people", "said"), [
    (ADMIN_ONLY, None, ("la_regie", "password"),
     "dimail refused People's credentials (--dimail-people) of 'la_regie': GET /token/ answered 403: "
     "'Permission denied': People's user is unknown there, or its password is wrong (dimail answers both alike); "
     "if it is unknown, give --dimail-admin USER:PASSWORD and the suite will create it, else give its password "
     "with --dimail-people"),
    ("people-dev", ("admin", "admin"), ("la_regie", "nope"),
     "dimail refused People's credentials (--dimail-people) of 'la_regie': GET /token/ answered 403: "
     "'Permission denied': the user exists there (the admin found it), so its password is wrong, or it has none "
     "(created with `no`); give its password with --dimail-people USER:PASSWORD"),
    ("people-dev", ("admin", "nope"), ("la_regie", "password"),
     "dimail refused the admin credentials (--dimail-admin) of 'admin': POST /users/ answered 403: 'Permission "
     "denied': 'admin' is unknown there, its password is wrong, or it is no administrator (dimail answers them "
     "alike; a dimail that has users is past its empty-database bootstrap, where any credentials would do); give "
     "an administrator's USER:PASSWORD, or no --dimail-admin if People's user is set up already"),
], ids=["unknown-or-wrong-password", "wrong-password-seen-by-the-admin", "refused-admin"])
def test_refused_credentials_say_what_to_give(seed: Any, admin: tuple[str, str] | None, people: tuple[str, str],
                                             said: str) -> None:
    report = Report()
    _bootstrap(_target(FakeDimail(seed=seed), admin=admin, people=people), report)
    assert (report.stopped, report.blocker) == ("NOT USABLE", said)


def test_with_the_admin_the_unknown_people_user_is_created() -> None:
    """What the first message promises: the same dimail, with --dimail-admin, is usable."""
    fake = FakeDimail(seed=ADMIN_ONLY)
    report = Report()
    target = _target(fake)
    _bootstrap(target, report)
    assert report.stopped is None and "la_regie" in fake.backend.state.users
    target.cleanup()
    assert [leftover.as_dict() for leftover in target.leftovers] == [
        {"kind": "user", "names": ["la_regie"],
         "why": "set up by this run's bootstrap (--dimail-admin), kept for People's next run"}]
