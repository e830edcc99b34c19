"""Run mutants against their killer, a forked child each, and write the report.

The parent forks one child per mutant (with `--warm`, after importing the third-party modules the suite needs
once): the child installs an import hook that serves the mutant's module compiled
from its mutated syntax tree (every other module comes from the working tree, which is never written), runs
its killer and exits with pytest's status. The killer of a mutant of dimail's rules is the in-process contract
suite (`pytest --pyargs contracts -x`); that of a mutant of the fake's own code or of a guess (the reviewed list
`mutation/scope.toml`) is the fake's own tests of that code (`pytest tests/test_….py -x`). A non-zero status
kills the mutant (the first failure is its killer); 0 lets it survive; a child still running after the timeout
is killed and the mutant counted as timed out.
"""

from __future__ import annotations

import faulthandler
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from .mutants import ROOT, Mutant, Scope, mutated_code

EQUIVALENTS = Path(__file__).with_name("equivalents.toml")
# The killer: the in-process contract suite, stopped at its first failure, without shrinking. The platform
# operations are sent (--dimail-system-writes): the target is a throwaway fake, and they are rules too.
KILLER = ("--pyargs", "contracts", "-q", "-x", "-rfE", "-p", "no:cacheprovider", "-p", "no:randomly",
          "--dimail-no-shrink", "--dimail-system-writes",
          # the modules imported before pytest starts (the mutant's, the warmed ones) are not rewritten: no news
          "-W", "ignore::pytest.PytestAssertRewriteWarning")
# The second killer's options, after the test files of the mutant's scope entry (mutation/scope.toml).
TESTS_OPTIONS = ("-q", "-x", "-rfE", "-p", "no:cacheprovider", "-p", "no:randomly",
                 "-W", "ignore::pytest.PytestAssertRewriteWarning")
OURS = ("fake_dimail", "contracts", "provisioner", "tests", "mutation")


def equivalents(path: Path = EQUIVALENTS) -> dict[str, str]:
    """The reviewed list: mutant id -> why no client can observe the change."""
    return {key: str(value) for key, value in tomllib.loads(path.read_text()).get("equivalent", {}).items()}


def left_open(path: Path = EQUIVALENTS) -> dict[str, str]:
    """Reviewed survivors a client can observe that stay without a contract: mutant id -> why (they still count
    as survivors)."""
    return {key: str(value) for key, value in tomllib.loads(path.read_text()).get("no_contract", {}).items()}


def killer_of(scope: Scope | None) -> tuple[str, ...]:
    """The pytest arguments that judge a mutant of this scope (None: dimail's rules, the contract suite)."""
    return KILLER if scope is None else (*scope.tests, *TESTS_OPTIONS)


def shown(killer: tuple[str, ...]) -> str:
    return "pytest " + " ".join(killer)


# --- the child ---------------------------------------------------------------------------------------------


class _Hook(importlib.abc.MetaPathFinder):
    """Serves one module's mutated code; every other import goes on as usual."""

    def __init__(self, name: str, path: str, code: CodeType) -> None:
        self.name, self.path, self.code = name, path, code

    def find_spec(self, fullname: str, path: Any = None, target: ModuleType | None = None) -> Any:
        if fullname != self.name:
            return None
        return importlib.util.spec_from_file_location(fullname, self.path, loader=_Loader(fullname, self.path,
                                                                                            self.code))


class _Loader(importlib.machinery.SourceFileLoader):
    def __init__(self, fullname: str, path: str, code: CodeType) -> None:
        super().__init__(fullname, path)
        self.code = code

    def get_code(self, fullname: str) -> CodeType:
        return self.code


def install(mutant: Mutant) -> None:
    """From now on, this process imports the mutant's module instead of the working tree's (never written)."""
    if mutant.dotted in sys.modules:
        raise RuntimeError(f"{mutant.dotted} is imported already: install the mutant first")
    sys.meta_path.insert(0, _Hook(mutant.dotted, str(ROOT / "fake_dimail" / mutant.module), mutated_code(mutant)))
    # Imported now, before pytest puts its assertion rewriter (which would serve the package's modules itself,
    # fake_dimail being a plugin's distribution) ahead of the hook.
    importlib.import_module(mutant.dotted)


def _child(mutant: Mutant | None, killer: tuple[str, ...], workdir: Path, log: Path, timeout: float | None) -> None:
    """In the forked child: never returns."""
    status = 99
    try:
        os.chdir(workdir)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        if timeout is not None:  # where a run that times out was stuck, in its log
            faulthandler.dump_traceback_later(max(1.0, timeout - 5), file=sys.stderr)
        if mutant is not None:
            install(mutant)
        import pytest

        # test files are named from the repository; the child runs in a scratch directory of its own
        status = int(pytest.main([str(ROOT / a) if a.startswith("tests/") else a for a in killer]))
    except BaseException:  # noqa: BLE001 - whatever happens, the child reports it and exits
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _warm() -> None:
    """Import, in this (parent) process, every third-party module the suite imports: each fork then starts
    with them loaded. Which ones: asked of a child interpreter that imports the suite (ours stay unimported)."""
    script = ("import sys, fake_dimail.fake, contracts.conftest, contracts.authz, contracts.conformance, "
              "contracts.links, contracts.readback, hypothesis, schemathesis, pytest\n"
              f"print('\\n'.join(m for m in sys.modules if m.split('.')[0] not in {OURS!r}))")
    names = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in names:
        if name not in sys.modules and not name.startswith("__"):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001,S112 - a module that only imports in context: the child does it
                continue
    leaked = [m for m in sys.modules if m.split(".")[0] in OURS[:3]]
    assert not leaked, f"warming imported our own modules: {leaked[:5]}"


# --- the parent ------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str  # killed, survived, timed out
    seconds: float
    killer: str = ""
    exit_status: int | None = None


def _killer(log: str, status: int) -> str:
    """What stopped the run: the first FAILED/ERROR line (the test and the start of its message), else the
    verdict line (NOT USABLE, UNREACHABLE), else the last line."""
    for line in log.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            rest = line.split(" ", 1)[1]
            name, _, after = rest.partition("::")
            if not after:  # a module that fails to import or collect
                return rest[:240]
            while "::" in after and "[" not in after.split("::")[0]:
                after = after.split("::", 1)[1]
            # the test's name runs to its parameters' closing bracket (they may hold spaces), else to a space
            end = after.index("]") + 1 if "[" in after.split(" ")[0] and "]" in after else len(after.split(" ")[0])
            test, message = after[:end].rstrip(":"), after[end:].lstrip(" :-").strip()
            return f"{test}: {message}"[:240] if message else test
    for line in log.splitlines():
        if line.startswith(("NOT USABLE:", "UNREACHABLE:")):
            return line[:240]
    lines = [line for line in log.splitlines() if line.strip()]
    return f"exit status {status}: {lines[-1][:200] if lines else 'no output'}"


def run(mutants: list[Mutant], workers: int = 2, timeout: float | None = None, progress: Any = None,
        killers: dict[str, tuple[str, ...]] | None = None,
        limits: dict[str, float] | None = None,
        warm: bool = False) -> tuple[dict[str, float], dict[str, float], dict[str, Outcome]]:
    """Each killer unmutated first (it must pass: it gives that killer's timeout, 3x its time plus 30 s unless
    given, in `timeout` or per killer in `limits`), then every mutant against its killer (`killers`: mutant id ->
    pytest arguments, default the contract suite), `workers` at a time. `warm`: import the third-party modules
    once in this process first (each child starts faster); off by default, since a parent that imported them
    before pytest changes what the linked scenarios draw (their unmutated run then fails its coverage check).
    Returns (baseline seconds by killer, timeout by killer, outcomes by mutant id); killers named by `shown`."""
    if warm:
        _warm()
    killers = killers or {}
    judged = {m.id: killers.get(m.id, KILLER) for m in mutants}
    distinct = list(dict.fromkeys([KILLER, *judged.values()])) if mutants else [KILLER]
    scratch = Path(tempfile.mkdtemp(prefix="mutation-"))
    try:
        baselines = dict(zip(distinct, _run_all([(None, k) for k in distinct], workers, {}, scratch, None),
                             strict=True))
        # a killer whose unmutated run failed is run once more, alone (a server slow to start on a busy machine)
        again = [k for k, b in baselines.items() if b.status != "survived"]
        if again:
            baselines.update(zip(again, _run_all([(None, k) for k in again], 1, {}, scratch, None), strict=True))
        for killer, baseline in baselines.items():
            if baseline.status != "survived":
                log = (scratch / f"baseline-{again.index(killer)}.log").read_text()  # its second run's
                raise RuntimeError(f"the unmutated run of `{shown(killer)}` does not pass ({baseline.killer}):\n"
                                   f"{log[-3000:]}")
        limit = {k: (timeout if timeout is not None else (limits or {}).get(shown(k), 3 * b.seconds + 30))
                 for k, b in baselines.items()}
        jobs: list[tuple[Mutant | None, tuple[str, ...]]] = [(m, judged[m.id]) for m in mutants]
        outcomes = dict(zip((m.id for m in mutants), _run_all(jobs, workers, limit, scratch, progress), strict=True))
        # A mutant that timed out beside another is run again alone, and only a second timeout counts.
        again = [m for m in mutants if outcomes[m.id].status == "timed out"]
        if again and workers > 1:
            outcomes.update(zip((m.id for m in again), _run_all([(m, judged[m.id]) for m in again], 1, limit, scratch,
                                                                progress), strict=True))
        return ({shown(k): b.seconds for k, b in baselines.items()}, {shown(k): v for k, v in limit.items()},
                outcomes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_all(jobs: list[tuple[Mutant | None, tuple[str, ...]]], workers: int, limits: dict[tuple[str, ...], float],
             scratch: Path, progress: Any) -> list[Outcome]:
    """Run each (mutant or None for the unmutated code, killer) job; `limits`: seconds by killer (none: no limit)."""
    results: list[Outcome | None] = [None] * len(jobs)
    running: dict[int, tuple[int, float, Path, Path]] = {}  # pid -> (index, start, log, workdir)
    pending = list(range(len(jobs)))
    last = time.monotonic()
    while pending or running:
        now = time.monotonic()
        if now - last > 2:  # this process was stopped (SIGSTOP of its group), and its children with it: the
            for child, (index, start, log, workdir) in running.items():  # pause counts in no run's time
                running[child] = (index, start + now - last - 0.05, log, workdir)
        last = now
        while pending and len(running) < workers:
            index = pending.pop(0)
            mutant, killer = jobs[index]
            workdir = Path(tempfile.mkdtemp(dir=scratch))
            log = scratch / (f"baseline-{index}.log" if mutant is None else f"{index}.log")
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(mutant, killer, workdir, log, limits.get(killer))
            running[pid] = (index, time.monotonic(), log, workdir)
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for child, (index, start, _log, _dir) in list(running.items()):
                timeout = limits.get(jobs[index][1])
                if timeout is not None and now - start > timeout:
                    os.kill(child, signal.SIGKILL)
                    os.waitpid(child, 0)
                    del running[child]
                    results[index] = Outcome("timed out", round(now - start, 1))
                    _done(progress, jobs[index][0], results[index])
            time.sleep(0.05)
            continue
        if pid not in running:
            continue
        index, start, log, workdir = running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        text = log.read_text(errors="replace") if log.exists() else ""
        seconds = round(time.monotonic() - start, 1)
        results[index] = (Outcome("survived", seconds, exit_status=0) if code == 0
                          else Outcome("killed", seconds, _killer(text, code), code))
        shutil.rmtree(workdir, ignore_errors=True)
        _done(progress, jobs[index][0], results[index])
    return [r for r in results if r is not None]


def _done(progress: Any, mutant: Mutant | None, outcome: Outcome | None) -> None:
    if progress is not None and mutant is not None and outcome is not None:
        progress(mutant, outcome)
