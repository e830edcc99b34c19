"""The contract suite's options (entry point `pytest11`): the only part active in every pytest run.

Everything else — the target fixture, bootstrap, skips, report, terminal summary
and exit status — is in `contracts/conftest.py`, which pytest loads only when it
collects this package (`pytest --pyargs contracts`): installing fake-dimail adds
these options to anyone's `pytest --help`, and changes nothing else.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .options import TargetError, credentials, is_loopback

COMPARE_OPTIONS = ("--dimail-compare-admin", "--dimail-compare-people", "--dimail-reference", "--dimail-sequences",
                   "--dimail-budget")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
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
    compare = parser.getgroup("dimail-compare", "dimail differential run (pytest --pyargs contracts "
                                                "--dimail-compare-url B): the same call sequences to two dimails")
    compare.addoption("--dimail-compare-url", metavar="URL",
                      help="run only the differential: every generated People-like call goes to the target "
                           "(--dimail-url, or the in-process fake) and to this one, and the answers are compared; "
                           "`fake` is a fresh fake in this process")
    compare.addoption("--dimail-compare-admin", metavar="USER:PASSWORD",
                      help="admin credentials on the compared dimail (default: --dimail-admin's)")
    compare.addoption("--dimail-compare-people", metavar="USER:PASSWORD",
                      help="People's credentials on the compared dimail (default: --dimail-people's)")
    compare.addoption("--dimail-reference", metavar="FILE",
                      help="the OpenAPI document a difference is judged against: declared when it declares both "
                           "answers (default: dimail v0.8.2's, as the fake serves it)")
    compare.addoption("--dimail-sequences", metavar="N", type=int,
                      help="call sequences to generate (default: 40); the same ones every run, unless "
                           "--hypothesis-seed gives another seed")
    compare.addoption("--dimail-budget", metavar="SECONDS", type=float,
                      help="stop generating, then shrinking, after this long (default: 600)")
    _check_early(parser, pluginmanager)


def _check_early(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Answer a usage error while pytest is still loading plugins: before any app is imported, and before
    the plugins that load after this one (schemathesis' takes seconds)."""
    config = pluginmanager.get_plugin("pytestconfig")
    args = [str(a) for a in getattr(getattr(config, "invocation_params", None), "args", ())]
    try:
        args = [*shlex.split(os.environ.get("PYTEST_ADDOPTS", "")), *config.getini("addopts"), *args]
    except (AttributeError, ValueError):  # no configuration yet (pytester, an embedding): the command line only
        pass
    if not any(a.startswith("--dimail-") for a in args):
        return
    try:
        namespace = parser.parse_known_args(args)
    except pytest.UsageError:  # said again, with every plugin's options known, once pytest parses for real
        return
    check_options(lambda name: getattr(namespace, name.lstrip("-").replace("-", "_"), None), deep=False)


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
    workers = getattr(config.option, "numprocesses", None)  # pytest-xdist's -n, when it is installed
    if workers not in (None, 0) and not hasattr(config, "workerinput") and runs_the_suite(config):
        raise pytest.UsageError("-n (pytest-xdist): the contract suite runs in one process (its verdict, report and "
                                "clean-up belong to one run, which workers would split): run it without -n, or -n 0")
    check_options(config.getoption, deep=True)
    if config.getoption("--dimail-compare-url"):
        from .differential_plugin import DifferentialPlugin  # only now: a contract run never imports it

        config.pluginmanager.register(DifferentialPlugin(config), "dimail-differential")


def check_options(option: Callable[[str], Any], deep: bool) -> None:
    """The options' values, checked; `deep` also imports a --dimail-app's module (it may build an app)."""
    url, app, compared = option("--dimail-url"), option("--dimail-app"), option("--dimail-compare-url")
    if url and app:
        raise pytest.UsageError("--dimail-url and --dimail-app are exclusive: give one")
    remote = bool(option("--dimail-allow-remote"))
    if url:
        _check_url("--dimail-url", url, remote)
    if app:
        _check_app(app, deep)
    for name in ("--dimail-admin", "--dimail-people", "--dimail-compare-admin", "--dimail-compare-people"):
        value = option(name)
        if value is not None:
            try:
                credentials(value, name)
            except TargetError as exc:
                raise pytest.UsageError(str(exc)) from exc
    if not compared:
        given = [name for name in COMPARE_OPTIONS if option(name) is not None]
        if given:
            raise pytest.UsageError(f"{given[0]} is for a differential run: add --dimail-compare-url URL (or `fake`)")
        return
    if compared != "fake":
        _check_url("--dimail-compare-url", compared, remote)
        if url and compared.rstrip("/") == url.rstrip("/"):
            raise pytest.UsageError(f"--dimail-compare-url {compared} is --dimail-url: compare two different dimails")
    sequences, budget, reference = option("--dimail-sequences"), option("--dimail-budget"), option("--dimail-reference")
    if sequences is not None and sequences < 1:
        raise pytest.UsageError(f"--dimail-sequences {sequences}: give at least 1")
    if budget is not None and budget <= 0:
        raise pytest.UsageError(f"--dimail-budget {budget:g}: give a number of seconds above 0")
    if reference:
        from .reference import reference_problem

        problem = reference_problem(reference)
        if problem:
            raise pytest.UsageError(f"--dimail-reference {reference}: {problem}")


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


def _check_url(option: str, url: str, allow_remote: bool) -> None:
    from provisioner.client import url_problem  # httpx: imported when a URL is given, not by every pytest run

    problem = url_problem(url)  # the provisioner's check: no scheme, no host, a port outside 1-65535
    if problem is not None:
        raise pytest.UsageError(f"{option} {problem}")
    if not is_loopback(url) and not allow_remote:
        raise pytest.UsageError(f"{option} {url}: not a loopback address; the contract suite creates and "
                                "deletes domains, users and mailboxes there. Add --dimail-allow-remote if you mean it.")


def _check_app(spec: str, deep: bool) -> None:
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise pytest.UsageError(f"--dimail-app {spec}: expected MODULE:CALLABLE, e.g. tests.mutants:renamed_field")
    try:
        # Early, the module is only looked for: importing it may build an app, or fail for its own reasons.
        found = getattr(importlib.import_module(module), name, None) if deep else importlib.util.find_spec(module)
    except Exception as exc:  # a missing module (or package), or one that fails on import
        raise pytest.UsageError(f"--dimail-app {spec}: cannot import {module} ({exc}); "
                                "is it importable from the current directory?") from None
    if not deep and found is None:
        raise pytest.UsageError(f"--dimail-app {spec}: cannot import {module} (No module named {module!r}); "
                                "is it importable from the current directory?")
    if deep and not callable(found):
        raise pytest.UsageError(f"--dimail-app {spec}: {module} has no callable {name!r}")


def examples(config: pytest.Config) -> int:
    value = config.getoption("--dimail-examples")
    return 8 if value is None else max(1, value)


def platform_writes(config: pytest.Config) -> bool:
    return bool(config.getoption("--dimail-system-writes"))


def quick(config: pytest.Config) -> bool:
    """The default profile: few examples, always the same ones (a CI run is reproducible)."""
    return config.getoption("--dimail-examples") is None
