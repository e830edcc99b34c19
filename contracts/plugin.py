"""The contract suite's options (entry point `pytest11`): the only part active in every pytest run.

Everything else — the target fixture, bootstrap, skips, report, terminal summary
and exit status — is in `contracts/conftest.py`, which pytest loads only when it
collects this package (`pytest --pyargs contracts`): installing fake-dimail adds
these options to anyone's `pytest --help`, and changes nothing else.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

from provisioner.client import url_problem

from .target import TargetError, credentials, is_loopback


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dimail", "dimail contract suite (pytest --pyargs contracts)")
    group.addoption("--dimail-url", metavar="URL",
                    help="the dimail to test (default: a fresh fake in this process)")
    group.addoption("--dimail-app", metavar="MODULE:CALLABLE",
                    help="test an ASGI app (or a FakeDimail) built by this callable, in this process")
    group.addoption("--dimail-admin", metavar="USER:PASSWORD",
                    help="admin credentials on the target, used to bootstrap People's user, or to stand in for "
                         "it on a dimail whose users have no perms (default in-process: admin:admin)")
    group.addoption("--dimail-people", metavar="USER:PASSWORD", default="la_regie:password",
                    help="People's service credentials (default: %(default)s)")
    group.addoption("--dimail-allow-remote", action="store_true",
                    help="allow a target that is not on this machine (the suite writes, then deletes, data)")
    group.addoption("--dimail-report", metavar="PATH",
                    help="write PATH.json and PATH.md: the compatibility report")
    group.addoption("--dimail-schema-writes", action="store_true",
                    help="run the schema contracts of writing operations on a real dimail too (random data)")
    group.addoption("--dimail-system-writes", action="store_true",
                    help="also send the operations that stop or move a platform (GET /system/shutdown, "
                         "/system/database/*, import_domain, move_mailbox, check_contexts, disconnect): "
                         "never sent otherwise, to any target")
    group.addoption("--dimail-examples", metavar="N", type=int, default=None,
                    help="hypothesis examples per property, drawn at random (default: 8, the same ones every run)")
    group.addoption("--dimail-no-shrink", action="store_true",
                    help="report a failing sequence of People events as found, without shrinking it (faster)")


# What `pytest --pyargs contracts` needs beyond the base install, brought by the `contracts` extra.
EXTRA_MODULES = ("hypothesis", "schemathesis")
INSTALL_EXTRA = "pip install 'fake-dimail[contracts]'"


def pytest_configure(config: pytest.Config) -> None:
    """Check the options' values, if given: one line and pytest's usage status (4) for a mistake."""
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing and runs_the_suite(config):
        raise pytest.UsageError(f"the contract suite needs {' and '.join(missing)}, which the base install of "
                                f"fake-dimail leaves out: {INSTALL_EXTRA} (or from a checkout: "
                                "pip install './fake-dimail[contracts]')")
    url = config.getoption("--dimail-url")
    if url and config.getoption("--dimail-app"):
        raise pytest.UsageError("--dimail-url and --dimail-app are exclusive: give one")
    if url:
        _check_url(url, config.getoption("--dimail-allow-remote"))
    app = config.getoption("--dimail-app")
    if app:
        _check_app(app)
    for option in ("--dimail-admin", "--dimail-people"):
        value = config.getoption(option)
        if value is not None:
            try:
                credentials(value, option)
            except TargetError as exc:
                raise pytest.UsageError(str(exc)) from exc


def runs_the_suite(config: pytest.Config) -> bool:
    """Whether this run collects the contract suite: `--pyargs contracts[...]` or a path inside the package."""
    package = Path(__file__).resolve().parent
    for arg in config.args:
        target = arg.split("::", 1)[0]
        if config.option.pyargs and target.split(".", 1)[0] == package.name:
            return True
        path = Path(config.invocation_params.dir, target).resolve()
        if path == package or package in path.parents:
            return True
    return False


def _check_url(url: str, allow_remote: bool) -> None:
    problem = url_problem(url)  # the provisioner's check: no scheme, no host, a port outside 1-65535
    if problem is not None:
        raise pytest.UsageError(f"--dimail-url {problem}")
    if not is_loopback(url) and not allow_remote:
        raise pytest.UsageError(f"--dimail-url {url}: not a loopback address; the contract suite creates and "
                                "deletes domains, users and mailboxes there. Add --dimail-allow-remote if you mean it.")


def _check_app(spec: str) -> None:
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise pytest.UsageError(f"--dimail-app {spec}: expected MODULE:CALLABLE, e.g. tests.mutants:renamed_field")
    try:
        found = getattr(importlib.import_module(module), name, None)
    except Exception as exc:  # a missing module, or one that fails on import
        raise pytest.UsageError(f"--dimail-app {spec}: cannot import {module} ({exc}); "
                                "is it importable from the current directory?") from None
    if not callable(found):
        raise pytest.UsageError(f"--dimail-app {spec}: {module} has no callable {name!r}")


def examples(config: pytest.Config) -> int:
    value = config.getoption("--dimail-examples")
    return 8 if value is None else max(1, value)


def platform_writes(config: pytest.Config) -> bool:
    return bool(config.getoption("--dimail-system-writes"))


def quick(config: pytest.Config) -> bool:
    """The default profile: few examples, always the same ones (a CI run is reproducible)."""
    return config.getoption("--dimail-examples") is None
