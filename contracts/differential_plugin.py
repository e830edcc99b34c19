"""`pytest --pyargs contracts --dimail-compare-url B`: the differential run, instead of the contracts.

Registered by `plugin.py` when `--dimail-compare-url` is given: nothing is
collected (the contracts do not run, their modules are not even imported), and
the run loop is the differential's. Both targets are set up like the contract
suite's (People's user bootstrapped, or the run stops as UNREACHABLE or NOT
USABLE, naming the target), then `differential.Explorer` sends them the drawn
sequences: at most `--dimail-sequences` (40 by default, the same ones every run
unless `--hypothesis-seed` is given), within the first 70% of `--dimail-budget`
seconds (one sequence at least; setting the targets up is not counted); the
shrinking of what differs gets the rest. The progress line shows one mark per sequence: `.` answered alike,
`D` a new difference, `d` only differences seen before. Both targets are cleaned
up at the end, even after Ctrl-C.
"""

from __future__ import annotations

import secrets
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from .constants import pinned
from .differential import Explorer, Side, available, sequences
from .differential_report import DifferentialReport, guess_register, judged_guesses
from .reference import Reference
from .report import Report
from .target import Target, credentials, in_process, load_app

DEFAULT_SEQUENCES = 40
DEFAULT_BUDGET = 600.0
GENERATION_SHARE = 0.7  # of the budget; the shrinking gets the rest


class _BudgetSpent(BaseException):
    """Stops hypothesis' generation (not an Exception: hypothesis would take it for a failure and shrink it)."""


class DifferentialPlugin:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.report = DifferentialReport()
        self.closing = ExitStack()
        self.targets: dict[str, Target] = {}
        self.sides: list[Side] = []
        self.cleaned = False

    # --- pytest's hooks ---------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool:
        return True  # nothing to collect: the contracts do not run in a differential run

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        if session.config.option.collectonly:
            return True
        try:
            self._run()
        except KeyboardInterrupt:
            # Said here, not re-raised: pytest would format its traceback, and CPython 3.11 can leave a frame of
            # it without a line number, on which pytest's formatter crashes (exit 1 instead of 2, seen in CI).
            self.report.interrupted = True
        finally:
            self._clean_up()
        return True

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._clean_up()
        self.closing.close()
        if not self.report.about:
            return
        path = self.config.getoption("--dimail-report")
        if path:
            self.report.written = self.report.write(Path(path))
        if self.report.interrupted or exitstatus == pytest.ExitCode.INTERRUPTED:
            session.exitstatus = pytest.ExitCode.INTERRUPTED
        else:
            session.exitstatus = self.report.exit_status

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.report.about:
            return
        terminalreporter.section("dimail differential")
        for line in self.report.summary_lines():
            terminalreporter.write_line(line)
        if self.report.written:
            terminalreporter.write_line(f"report: {', '.join(str(p) for p in self.report.written)}")

    # --- the run ------------------------------------------------------------------------------

    def _run(self) -> None:
        started = time.monotonic()
        option = self.config.getoption
        budget = option("--dimail-budget") or DEFAULT_BUDGET
        count = option("--dimail-sequences")
        prefix = "df" + secrets.token_hex(3)
        report = self.report
        report.about = {"a": "?", "b": "?"}
        for side in ("A", "B"):
            target = self._target(side, prefix)
            if target is None:
                return
            self.targets[side] = target
            report.about[side.lower()] = _described(target)
        a, b = self.targets["A"], self.targets["B"]
        for one, other in ((a, b), (b, a)):
            # An older dimail (users without perms) has its admin stand in for People's user: the other side's
            # admin stands in too, or every call would compare an admin's answer with People's.
            if one.standing_in and not other.standing_in and other.admin is not None:
                other.people, other.standing_in = other.admin, True
        report.about = {"a": _described(a), "b": _described(b), "a_url": a.url, "b_url": b.url, "prefix": prefix}
        reference = Reference.load(option("--dimail-reference"))
        report.about["reference"] = reference.label
        report.people = a.people
        self.sides = [Side(a, "A"), Side(b, "B")]
        explorer = Explorer(*self.sides, prefix)
        kinds = available(lambda op: not a.lacks(op) and not b.lacks(op))
        if not kinds:
            report.stop("NOT USABLE", "the two targets declare no operation in common that People's calls use: "
                                      "nothing to compare")
            return
        writer = self.config.pluginmanager.get_plugin("terminalreporter")
        compared = time.monotonic()  # the budget is the comparison's: setting the targets up is not counted
        generation_ends, shrinking_ends = compared + budget * GENERATION_SHARE, compared + budget
        wanted = count or DEFAULT_SEQUENCES
        _write(writer, f"\ndifferential: {wanted} sequences of calls to A and B ({len(kinds)} kinds of call both "
                       f"declare), at most {budget:g} s\n")

        # The same sequences every run (a comparison is repeatable); hypothesis' own --hypothesis-seed draws others.
        seeded = self.config.getoption("hypothesis_seed", None) is not None

        @settings(max_examples=wanted, derandomize=not seeded, database=None, deadline=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck), print_blob=False)
        @given(sequences(kinds))
        def explore(steps: list[Any]) -> None:
            if explorer.sequences and time.monotonic() > generation_ends:  # one at least: "same" must mean something
                raise _BudgetSpent
            _write(writer, explorer.explore(steps))
            if explorer.sequences % 50 == 0:
                _write(writer, f" {explorer.sequences}\n")

        try:
            try:
                with pinned():  # the same draws however pytest was started (constants.py)
                    explore()
            except _BudgetSpent:
                report.about["budget_spent"] = True
            _write(writer, f" {explorer.sequences} sequences, {len(explorer.differences)} differences\n")
            if explorer.differences:
                _write(writer, f"shrinking {len(explorer.differences)} differences: ")
                for difference in explorer.differences.values():
                    if time.monotonic() > shrinking_ends:
                        report.about["budget_spent"] = True
                        break
                    explorer.shrink(difference, shrinking_ends)
                    _write(writer, ".")
                _write(writer, "\n")
        finally:
            self._judge(explorer, reference)
            report.about.update(sequences=explorer.sequences, exchanges=explorer.exchanges,
                                seconds=round(time.monotonic() - started, 1), budget=budget)

    def _judge(self, explorer: Explorer, reference: Reference) -> None:
        report = self.report
        for difference in explorer.differences.values():
            reference.judge(difference)
        report.differences = sorted(explorer.differences.values(),
                                    key=lambda d: (d.declared, d.operation, d.method, d.role, d.lines))
        report.agreed, report.differed = dict(explorer.agreed), dict(explorer.differed)
        fakes = sum(1 for t in self.targets.values() if t.steerable)
        report.guesses = judged_guesses(guess_register(), report.agreed, report.differed, fakes)

    def _target(self, side: str, prefix: str) -> Target | None:
        """A side's target, bootstrapped like the contract suite's; None (and the run stopped) when unusable."""
        from .conftest import _bootstrap

        option = self.config.getoption
        people_a = credentials(option("--dimail-people"), "--dimail-people")
        admin_a = credentials(option("--dimail-admin"), "--dimail-admin") if option("--dimail-admin") else None
        if side == "A":
            url, app, people, admin = option("--dimail-url"), option("--dimail-app"), people_a, admin_a
        else:
            url, app = option("--dimail-compare-url"), None
            people = credentials(option("--dimail-compare-people"), "--dimail-compare-people") \
                if option("--dimail-compare-people") else people_a
            admin = credentials(option("--dimail-compare-admin"), "--dimail-compare-admin") \
                if option("--dimail-compare-admin") else admin_a
            if url == "fake":
                url = None
        if url:
            target = Target(url.rstrip("/"), admin, people, label=url, prefix=prefix)
        else:
            base, transport, label = self.closing.enter_context(in_process((lambda: load_app(app)) if app else None))
            target = Target(base, admin or ("admin", "admin"), people, transport=transport, prefix=prefix,
                            ephemeral=True, label=f"{label} ({app})" if app else label)
        self.closing.callback(target.close)
        checked = Report()
        _bootstrap(target, checked)
        if checked.stopped:
            self.report.about[side.lower()] = target.label
            self.report.stop(str(checked.stopped), f"{side} ({target.label}): {checked.blocker}")
            return None
        return target

    def _clean_up(self) -> None:
        if self.cleaned:
            return
        self.cleaned = True
        for side in self.sides:
            side.close()
        for name, target in self.targets.items():
            try:
                self.report.cleanup[name] = target.cleanup()
            except Exception as exc:  # the target died during the run: say so, keep the results
                self.report.cleanup[name] = [f"clean-up failed: {exc!r}"]
            self.report.leftovers[name] = list(target.leftovers)
            self.report.left_behind[name] = list(target.left_behind)


def _described(target: Target) -> str:
    standing = f", the admin {target.admin[0]!r} standing in for People's user" if target.standing_in and \
        target.admin else ""
    return f"{target.label} (OpenAPI version {target.version}, {len(target.operations)} operations{standing})"


def _write(writer: Any, text: str) -> None:
    if writer is not None:
        writer.write(text, flush=True)
