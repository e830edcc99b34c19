from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

# Every listing row the backend builds is checked against its model (models.check_row), in this process
# and in the servers the tests start (they inherit the variable): the whole suite checks the fast path.
# Not imported here: a module importing this one must not import fake_dimail before its pytest.main.
os.environ["FAKE_DIMAIL_CHECK_ROWS"] = "1"


# The pytest runs this suite starts (contract runs, People-like projects, the documentation's examples) load
# neither schemathesis' plugin (the contract suite uses schemathesis as a library) nor Faker's (it comes with the
# People kit's dev dependency, not with fake-dimail): 2 s of CPU per run on a 2-core machine, a minute of
# `make test`. Their output is the same. A run that needs schemathesis' plugin names it (`-p
# schemathesis.pytest.plugin`, as test_contract_options does).
CHILD_PYTEST_ADDOPTS = "-p no:schemathesis -p no:faker"


def no_bytecode_in_place() -> dict[str, str]:
    """For a child process's environment: it writes no `__pycache__` where it runs. Under `make test`, compiled
    modules go to the cache it names (PYTHONPYCACHEPREFIX, kept under the venv), so they are compiled once for
    the whole suite; elsewhere, not written at all."""
    return {} if os.environ.get("PYTHONPYCACHEPREFIX") else {"PYTHONDONTWRITEBYTECODE": "1"}


def pytest_configure(config: pytest.Config) -> None:
    from fake_dimail import models  # in case a plugin imported it before the variable was set

    models.CHECK_ROWS = True
    if CHILD_PYTEST_ADDOPTS not in os.environ.get("PYTEST_ADDOPTS", ""):
        os.environ["PYTEST_ADDOPTS"] = f"{os.environ.get('PYTEST_ADDOPTS', '')} {CHILD_PYTEST_ADDOPTS}".strip()

# dimail's reference data, copied into the repository (reference/dimail/README.md).
REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "dimail"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(*args: str, cwd: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Run `fake-dimail serve` in a child process (in `cwd`, if given) and wait until it answers."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fake_dimail", "serve", "--port", str(port), "--quiet", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=cwd,
    )
    from provisioner.client import tls  # one TLS context for every poll: a new one reads the CA bundle (36 ms)

    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # a busy machine starts it slowly; a quiet one in under a second
    while time.monotonic() < deadline:
        try:
            # Any answer will do; this one is cheap and stays out of the journal (/openapi.json costs the
            # server 0.4 s of CPU to build, and would be the first entry of every journal).
            httpx.get(url + "/_fake/requests?limit=1", timeout=1, verify=tls())
            return process, url
        except httpx.TransportError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "server died")
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("fake-dimail did not start within 60 s")


def served(*args: str) -> Iterator[str]:
    """For fixtures: `yield from served(...)` gives the URL of a standalone fake, stopped afterwards."""
    process, url = start_server(*args)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:  # nobody reads it now: closed, not left to the collector (ResourceWarning)
            process.stderr.close()


@pytest.fixture(scope="session")
def empty_server() -> Iterator[str]:
    """A standalone fake, empty like a freshly recreated dimail container."""
    yield from served("--seed", "empty")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say the OpenAPI coverage test_openapi measured; its report carries the figure, from whichever worker."""
    for report in terminalreporter.stats.get("passed", []):
        for name, value in getattr(report, "user_properties", ()):
            if name == "openapi_coverage":
                terminalreporter.write_line(f"OpenAPI coverage: {value}")
                return


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-examples", action="store_true",
                     help="tests/test_doc_examples.py: write each console example's real output into its page "
                          "where it differs (then review the diff)")


# The longest modules first (each keeps its own order): two workers finish together instead of one running
# a minute-long contract run alone at the end.
LONGEST_FIRST = ("tests/test_contracts.py", "tests/test_doc_examples.py", "tests/test_differential.py",
                 "tests/test_dashboard.py", "tests/test_cleanup.py", "tests/test_check_lifecycle.py",
                 "tests/test_matrix.py", "tests/test_readback.py", "tests/test_pytest_plugin.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {module: index for index, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


# Modules one pytest-xdist worker runs whole: their module fixture starts the work of all their tests at once
# (test_contracts' `runs`: the contract runs, two at a time), or costs several seconds of CPU (test_dashboard's
# Chromium and servers), and under `-n`'s default split every worker that got one of their tests would start
# all of it. (`--dist loadgroup` cannot say it under pytest 9.2: it marks a group by renaming items' nodeids,
# which pytest no longer reads.)
WHOLE_MODULES = ("tests/test_contracts.py::", "tests/test_dashboard.py::")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WholeModules(LoadScopeScheduling):
        """`load`, but the tests of a module of WHOLE_MODULES are one unit of work."""

        def _split_scope(self, nodeid: str) -> str:
            return next((module for module in WHOLE_MODULES if nodeid.startswith(module)), nodeid)

    return WholeModules(config, log)
