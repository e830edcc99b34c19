"""The pytest plugin (entry point `pytest11`): options, the `dimail` target fixture, skips, clean-up, report.

`pytest --pyargs contracts` runs the suite against a fresh in-process fake;
`--dimail-url` points it at any dimail. Contracts declare what they need with
markers, and are skipped (never failed) when the target lacks it:

- `@pytest.mark.dimail_needs(("POST", "/allows/"), ...)`: operations, as the
  target's own /openapi.json declares them;
- `@pytest.mark.dimail_steering`: the fake's `/_fake/` control plane (DNS, faults);
- `@pytest.mark.contract("family")`: where the result goes in the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .report import Report
from .target import Target, TargetError, credentials, in_process, is_loopback, load_app

REPORT_KEY = pytest.StashKey[Report]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dimail", "dimail contract suite (pytest --pyargs contracts)")
    group.addoption("--dimail-url", metavar="URL",
                    help="the dimail to test (default: a fresh fake in this process)")
    group.addoption("--dimail-app", metavar="MODULE:CALLABLE",
                    help="test an ASGI app (or a FakeDimail) built by this callable, in this process")
    group.addoption("--dimail-admin", metavar="USER:PASSWORD",
                    help="admin credentials on the target, used to bootstrap People's user "
                         "(default in-process: admin:admin)")
    group.addoption("--dimail-people", metavar="USER:PASSWORD", default="la_regie:password",
                    help="People's service credentials (default: %(default)s)")
    group.addoption("--dimail-allow-remote", action="store_true",
                    help="allow a target that is not on this machine (the suite writes, then deletes, data)")
    group.addoption("--dimail-report", metavar="PATH",
                    help="write PATH.json and PATH.md: the compatibility report")
    group.addoption("--dimail-schema-writes", action="store_true",
                    help="run the schema contracts of writing operations on a real dimail too (random data)")
    group.addoption("--dimail-examples", metavar="N", type=int, default=None,
                    help="hypothesis examples per property, drawn at random (default: 8, the same ones every run)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dimail_needs(*operations): skip unless the target declares them")
    config.addinivalue_line("markers", "dimail_steering: needs the fake's /_fake/ control plane")
    config.addinivalue_line("markers", "contract(family): the report section of this contract")
    # People's dev JWT secret (the fake's default) is short on purpose.
    config.addinivalue_line("filterwarnings", "ignore::jwt.warnings.InsecureKeyLengthWarning")
    url = config.getoption("--dimail-url")
    if url and config.getoption("--dimail-app"):
        raise pytest.UsageError("--dimail-url and --dimail-app are exclusive")
    if url and not is_loopback(url) and not config.getoption("--dimail-allow-remote"):
        raise pytest.UsageError(f"--dimail-url {url}: not a loopback address; the contract suite creates and "
                                "deletes domains, users and mailboxes there. Add --dimail-allow-remote if you mean it.")
    for option in ("--dimail-admin", "--dimail-people"):
        value = config.getoption(option)
        if value is not None:
            try:
                credentials(value, option)
            except TargetError as exc:
                raise pytest.UsageError(str(exc)) from exc
    config.stash[REPORT_KEY] = Report()


def examples(config: pytest.Config) -> int:
    value = config.getoption("--dimail-examples")
    return 8 if value is None else max(1, value)


def quick(config: pytest.Config) -> bool:
    """The default profile: few examples, always the same ones (a CI run is reproducible)."""
    return config.getoption("--dimail-examples") is None


@pytest.fixture(scope="session")
def dimail(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The target, bootstrapped (People's user exists with its perms); its data is deleted at the end."""
    config = request.config
    url = config.getoption("--dimail-url")
    people = credentials(config.getoption("--dimail-people"), "--dimail-people")
    admin_option = config.getoption("--dimail-admin")
    admin = credentials(admin_option, "--dimail-admin") if admin_option else None
    if url:
        yield from _bootstrapped(config, Target(url.rstrip("/"), admin, people, label=url))
        return
    app_spec = config.getoption("--dimail-app")
    factory = (lambda: load_app(app_spec)) if app_spec else None
    with in_process(factory) as (base, transport, label):
        target = Target(base, admin or ("admin", "admin"), people, transport=transport,
                        label=f"{label} ({app_spec})" if app_spec else label)
        yield from _bootstrapped(config, target)


def _bootstrapped(config: pytest.Config, target: Target) -> Iterator[Target]:
    report = config.stash[REPORT_KEY]
    try:
        target.load_openapi()
    except Exception as exc:  # an unreachable or broken target: say which
        report.about = {"target": target.label, "url": target.url}
        report.blocker = str(exc)
        pytest.fail(f"dimail target {target.label}: {exc}", pytrace=False)
    # Described (and its drift computed) before bootstrapping: a target People cannot use still gets both.
    report.target(target)
    provisioner = target.provisioner(retries=0)
    try:
        provisioner.initialise(admin=target.admin)
    except Exception as exc:
        report.blocker = f"People's user is not usable: {exc}"
        pytest.fail(f"dimail target {target.label}: {report.blocker}", pytrace=False)
    finally:
        provisioner.client.close()
    yield target
    report.cleanup = target.cleanup()
    target.close()


@pytest.fixture(autouse=True)
def _dimail_requirements(request: pytest.FixtureRequest) -> None:
    """Skip a contract whose needs the target lacks, naming them (only for marked tests)."""
    needs = [m for m in request.node.iter_markers("dimail_needs")]
    steering = request.node.get_closest_marker("dimail_steering")
    if not needs and steering is None:
        return
    target: Target = request.getfixturevalue("dimail")
    missing = target.lacks(*[op for m in needs for op in m.args])
    if missing:
        pytest.skip(f"the target does not declare {', '.join(missing)}")
    if steering is not None and not target.steerable:
        pytest.skip("needs the fake's /_fake/ steering (simulated DNS, platform faults): a real dimail has none")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    report = config.stash[REPORT_KEY]
    for item in items:
        marker = item.get_closest_marker("contract")
        if marker is not None:
            report.families[item.nodeid] = marker.args[0]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    result: pytest.TestReport = outcome.get_result()
    report = item.config.stash.get(REPORT_KEY, None)
    if report is not None and item.nodeid in report.families:
        report.record(item.nodeid, result)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(REPORT_KEY, None)
    if report is None or not report.results:
        return
    terminalreporter.section("dimail compatibility")
    for line in report.summary_lines():
        terminalreporter.write_line(line)
    path = config.getoption("--dimail-report")
    if path:
        written = report.write(Path(path))
        terminalreporter.write_line(f"report: {', '.join(str(p) for p in written)}")
