"""The contract suite at work: loaded by pytest only when it collects this package (`--pyargs contracts`).

The target is made and bootstrapped once, before the first contract, so that a
target no contract can use stops the run at once with one line and its verdict
(`report.VERDICTS`): `UNREACHABLE` (6) when nothing answers, `NOT USABLE` (7)
when dimail refuses the credentials or People's user cannot be set up. On a
dimail whose users have no `perms` (an older dimail), the admin credentials, if
given, stand in for People's user, and only the contracts marked
`dimail_people_perms` are blocked.

Contracts declare what they need with markers, and are skipped (never failed)
when the target lacks it:

- `@pytest.mark.dimail_needs(("POST", "/allows/"), ...)`: operations, as the
  target's own /openapi.json declares them;
- `@pytest.mark.dimail_steering`: the fake's `/_fake/` control plane (DNS, faults);
- `@pytest.mark.dimail_people_perms`: People's user itself, with its perms (not an admin standing in);
- `@pytest.mark.contract("family")`: where the result goes in the report.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from provisioner.client import DimailError, DimailRefused
from provisioner.provisioner import NotInitialised

from .constants import pinned
from .plugin import quick
from .refusals import refused
from .report import VERDICTS, Report
from .target import Target, TargetError, credentials, in_process, load_app

REPORT_KEY = pytest.StashKey[Report]()
TARGET_KEY = pytest.StashKey[Target]()
CLOSING_KEY = pytest.StashKey[ExitStack]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dimail_needs(*operations): skip unless the target declares them")
    config.addinivalue_line("markers", "dimail_steering: needs the fake's /_fake/ control plane")
    config.addinivalue_line("markers", "dimail_people_perms: needs People's user with its own perms")
    config.addinivalue_line("markers", "contract(family): the report section of this contract")
    config.stash[REPORT_KEY] = Report()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    report = config.stash[REPORT_KEY]
    for item in items:
        marker = item.get_closest_marker("contract")
        if marker is not None:
            report.families[item.nodeid] = marker.args[0]
    # The shutdown (sent only with --dimail-system-writes) goes last: nothing answers after it.
    items.sort(key=lambda item: item.name.endswith("[GET /system/shutdown]"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """Bootstrap before the first contract; a target no contract can use ends the run here (no test runs)."""
    if session.config.option.collectonly or session.testsfailed or not session.items:
        return None
    return True if _target(session.config) is None else None


@pytest.fixture(scope="session")
def dimail_target(request: pytest.FixtureRequest) -> Target:
    """The target, bootstrapped (People's user exists with its perms); its data is deleted at the end."""
    target = _target(request.config)
    if target is None:  # only when another plugin runs the tests: the bootstrap above did not stop them
        report = request.config.stash[REPORT_KEY]
        pytest.exit(f"{report.stopped}: {report.blocker}", returncode=VERDICTS[str(report.stopped)])
    return target


def _target(config: pytest.Config) -> Target | None:
    """The bootstrapped target, made on the first call; None when the run is stopped (`report.stopped`)."""
    report = config.stash[REPORT_KEY]
    if report.stopped:
        return None
    if TARGET_KEY in config.stash:
        return config.stash[TARGET_KEY]
    closing = config.stash.setdefault(CLOSING_KEY, ExitStack())
    try:
        target = _made(config, closing)
    except Exception as exc:  # a --dimail-app that imports but cannot build its app
        report.about = {"target": f"in-process {config.getoption('--dimail-app')}"}
        report.stop("NOT USABLE", f"building {config.getoption('--dimail-app')} failed: {exc!r}")
        return None
    config.stash[TARGET_KEY] = target
    _bootstrap(target, report)
    return None if report.stopped else target


def _made(config: pytest.Config, closing: ExitStack) -> Target:
    url = config.getoption("--dimail-url")
    people = credentials(config.getoption("--dimail-people"), "--dimail-people")
    admin_option = config.getoption("--dimail-admin")
    admin = credentials(admin_option, "--dimail-admin") if admin_option else None
    if url:
        target = Target(url.rstrip("/"), admin, people, label=url)
    else:
        app_spec = config.getoption("--dimail-app")
        factory = (lambda: load_app(app_spec)) if app_spec else None
        base, transport, label = closing.enter_context(in_process(factory))
        target = Target(base, admin or ("admin", "admin"), people, transport=transport, ephemeral=True,
                        label=f"{label} ({app_spec})" if app_spec else label)
    closing.callback(target.close)
    return target


def _bootstrap(target: Target, report: Report) -> None:
    """Make People's user usable, or say why not (`report.stop`), or let the admin stand in for it."""
    try:
        target.load_openapi()
    except httpx.TransportError as exc:
        report.about = {"target": target.label, "url": target.url}
        report.stop("UNREACHABLE", f"nothing answers at {target.url} ({type(exc).__name__}: {exc}): "
                                   "is dimail running there (the fake: `make run`)?")
        return
    except (TargetError, ValueError) as exc:  # something answers, but not dimail's OpenAPI document
        report.about = {"target": target.label, "url": target.url}
        report.stop("NOT USABLE", str(exc))
        return
    # Described (and its drift computed) before bootstrapping: a target People cannot use still gets both.
    report.target(target)
    target.begin()  # what exists before the run, so that its end tells what the run made
    provisioner = target.provisioner(retries=0)
    try:
        provisioner.initialise(admin=target.admin)
    except NotInitialised as exc:
        if target.admin is None:
            report.stop("NOT USABLE", f"People's user cannot be set up: {exc}; give --dimail-admin USER:PASSWORD")
        else:
            _stand_in(target, report, f"People's user cannot be set up: {exc}")
    except DimailRefused as exc:
        report.stop("NOT USABLE", refused(target.admin, target.people, provisioner.client.journal, exc))
    except DimailError as exc:
        report.stop("NOT USABLE", f"People's user cannot be set up: {exc}")
    finally:
        provisioner.client.close()


def _stand_in(target: Target, report: Report, why: str) -> None:
    assert target.admin is not None
    answer = target.call("GET", "/token/", auth=target.admin)
    if answer.status_code != 200:
        report.stop("NOT USABLE", f"{why}; the admin cannot stand in for it: GET /token/ answered "
                                  f"{answer.status_code} {answer.text[:120]}")
        return
    report.about["people"] = f"{target.admin[0]} (admin, standing in for {target.people[0]})"
    report.blocker = f"{why}; the contracts that need People's own perms cannot run " \
                     f"(the admin {target.admin[0]!r} stood in for People's user in the others)"
    target.people = target.admin
    target.standing_in = True


@pytest.fixture(autouse=True)
def _same_draws(request: pytest.FixtureRequest) -> Iterator[None]:
    """In the default profile a run is reproducible: besides hypothesis' seeds, the `random` module (the coin
    schemathesis follows links and picks values on) starts each contract from a seed of its name, whatever ran
    before, and the caller's random state is restored after."""
    if not quick(request.config):
        yield
        return
    outside = random.getstate()
    random.seed(f"dimail-contracts:{request.node.module.__name__}::{request.node.name}")
    try:
        yield
    finally:
        random.setstate(outside)


@pytest.fixture(autouse=True)
def _dimail_requirements(request: pytest.FixtureRequest) -> None:
    """Skip a contract whose needs the target lacks, naming them (only for marked tests)."""
    needs = [m for m in request.node.iter_markers("dimail_needs")]
    steering = request.node.get_closest_marker("dimail_steering")
    perms = request.node.get_closest_marker("dimail_people_perms")
    if not needs and steering is None and perms is None:
        return
    target: Target = request.getfixturevalue("dimail_target")
    if perms is not None and target.standing_in:
        pytest.skip(f"BLOCKED: {request.config.stash[REPORT_KEY].blocker}")
    missing = target.lacks(*[op for m in needs for op in m.args])
    if missing:
        pytest.skip(f"the target does not declare {', '.join(missing)}")
    if steering is not None and not target.steerable:
        pytest.skip("needs the fake's /_fake/ steering (simulated DNS, platform faults): a real dimail has none")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Every contract draws from the same constants, however pytest was started (`constants.py`)."""
    with pinned():
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    result: pytest.TestReport = outcome.get_result()
    report = item.config.stash.get(REPORT_KEY, None)
    if report is not None and item.nodeid in report.families:
        target = item.config.stash.get(TARGET_KEY, None)
        blocked = bool(target and target.standing_in and item.get_closest_marker("dimail_people_perms"))
        report.record(item.nodeid, result, blocked=blocked)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Clean up, write the report, and give the verdict's exit status (pytest's own 2-5 are kept)."""
    config = session.config
    report = config.stash.get(REPORT_KEY, None)
    if report is None:
        return
    target = config.stash.get(TARGET_KEY, None)
    if target is not None and not report.stopped:
        try:
            report.cleanup = target.cleanup()
            report.left_behind = target.left_behind
            report.leftovers = target.leftovers
        except Exception as exc:  # the target died during the run: say so, do not hide the results
            report.cleanup = [f"clean-up failed: {exc!r}"]
    closing = config.stash.get(CLOSING_KEY, None)
    if closing is not None:
        closing.close()
    if not (report.results or report.stopped or report.leftovers or report.cleanup):
        return
    path = config.getoption("--dimail-report")
    if path:
        report.written = report.write(Path(path))
    if report.stopped or exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = report.exit_status


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(REPORT_KEY, None)
    if report is None or not (report.results or report.stopped or report.leftovers or report.cleanup):
        return
    terminalreporter.section("dimail compatibility")
    for line in report.summary_lines():
        terminalreporter.write_line(line)
    if report.written:
        terminalreporter.write_line(f"report: {', '.join(str(p) for p in report.written)}")
