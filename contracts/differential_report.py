"""The differential run's report: every difference once per signature, judged against the reference,
with its shrunk reproduction; what agreed, per operation; the verdict and its exit status.

Written as JSON and Markdown with `--dimail-report PATH`, and summed up at the
end of the terminal output. Differences and agreements are keyed by operation
(`"METHOD /path/template"`), which is how the fake's register of guesses names
what each entry of the fake's register concerns (`guess_register`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cleanup import Leftover
from .differential import Difference
from .target import IN_PROCESS_URL
from .report import NAMES_SHOWN, VERDICTS, write_pair


def guess_register() -> list[Any]:
    """The fake's register of guesses (`fake_dimail/guesses.py`), each with an `id` and the `operations` it
    concerns as (METHOD, path template) pairs; one concerning no operation is never judged here."""
    from fake_dimail.guesses import GUESSES

    return list(GUESSES)


def judged_guesses(register: list[Any], agreed: dict[str, int], differed: dict[str, int], fakes: int) -> dict[str, Any]:
    """Which guesses the run confirmed (all their operations exercised, each answered alike every time) or
    contradicted (one answered differently at least once). Only a run of the fake against a dimail that is
    not one judges them: two fakes agree by construction, two dimails say nothing of the fake."""
    if fakes != 1:
        return {"judged": False, "why": "both targets are fakes" if fakes == 2 else "neither target is the fake",
                "registered": len(register), "confirmed": [], "contradicted": []}
    confirmed, contradicted = [], []
    for entry in register:
        operations = [f"{method} {path}" for method, path in entry.operations]
        if any(op in differed for op in operations):
            contradicted.append(entry.id)
        elif operations and all(op in agreed for op in operations):
            confirmed.append(entry.id)
    return {"judged": True, "why": "", "registered": len(register), "confirmed": confirmed,
            "contradicted": contradicted}


@dataclass
class DifferentialReport:
    about: dict[str, Any] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    agreed: dict[str, int] = field(default_factory=dict)  # "METHOD template" -> exchanges answered alike
    differed: dict[str, int] = field(default_factory=dict)
    guesses: dict[str, Any] = field(default_factory=dict)
    people: tuple[str, str] = ("", "")  # side A's People credentials, for the curl lines
    cleanup: dict[str, list[str]] = field(default_factory=dict)  # side -> what could not be deleted
    leftovers: dict[str, list[Leftover]] = field(default_factory=dict)
    left_behind: dict[str, list[str]] = field(default_factory=dict)
    stopped: str | None = None  # UNREACHABLE or NOT USABLE: the run could not start
    blocker: str | None = None
    interrupted: bool = False
    written: list[Path] = field(default_factory=list)

    def stop(self, verdict: str, reason: str) -> None:
        self.stopped, self.blocker = verdict, reason

    @property
    def verdict(self) -> str:
        if self.stopped:
            return self.stopped
        if not self.differences:
            return "same"
        return "differ (declared only)" if all(d.declared for d in self.differences) else "differ"

    @property
    def exit_status(self) -> int:
        return VERDICTS[self.verdict]

    # --- output --------------------------------------------------------------------------------

    def classes(self) -> list[tuple[tuple[str, ...], list[Difference]]]:
        """The signatures grouped by what differs, whatever the operation (and however it was reached)."""
        grouped: dict[tuple[str, ...], list[Difference]] = {}
        for d in self.differences:
            grouped.setdefault(d.key, []).append(d)
        return list(grouped.items())

    def summary_lines(self) -> list[str]:
        lines = [f"A: {self.about.get('a', '?')}", f"B: {self.about.get('b', '?')}"]
        if self.stopped:
            return [*lines, f"{self.stopped}: {self.blocker}", f"verdict: {self.stopped}"]
        lines.append(f"reference: {self.about.get('reference', '?')}")
        spent = " (time budget spent)" if self.about.get("budget_spent") else ""
        interrupted = " (interrupted)" if self.interrupted else ""
        lines.append(f"{_count(self.about.get('sequences', 0), 'sequence')}{spent}{interrupted}, "
                     f"{_count(self.about.get('exchanges', 0), 'call')} compared over "
                     f"{_count(len(self.operations()), 'operation')}, "
                     f"prefix {self.about.get('prefix', '?')}, {self.about.get('seconds', 0):.1f} s")
        if not self.differences:
            lines.append("differences: none")
        else:
            classes = self.classes()
            lines.append(f"differences: {len(self.differences)} signature{'s' if len(self.differences) != 1 else ''} "
                         f"in {len(classes)} class{'es' if len(classes) != 1 else ''}")
            for what, found in classes:
                judged = "declared" if all(d.declared for d in found) else \
                    "undeclared" if not any(d.declared for d in found) else "declared on some operations"
                ops = ", ".join(f"{d.method} {d.operation}{_role(d.role)}" for d in found)
                lines.append(f"  {judged}: {'; '.join(what)} — on {len(found)} "
                             f"operation{'s' if len(found) != 1 else ''}: {ops}")
            for number, d in enumerate(self.differences, 1):
                lines += self._difference(number, d, "    ")
        guesses = self.guesses
        if guesses.get("judged"):
            lines.append(f"guesses: confirmed {', '.join(guesses['confirmed']) or 'none'}; "
                         f"contradicted {', '.join(guesses['contradicted']) or 'none'} "
                         f"(of {guesses['registered']} in the fake's register)")
        elif guesses:
            lines.append(f"guesses: not judged ({guesses['why']})")
        lines += self._cleanup_lines(NAMES_SHOWN)
        lines.append(f"verdict: {self.verdict}")
        return lines

    def _cleanup_lines(self, limit: int | None = None) -> list[str]:
        lines = []
        for side in ("A", "B"):
            lines += [f"clean-up ({side}): {p}" for p in self.cleanup.get(side, [])]
            domains = self.left_behind.get(side)
            if domains:
                emptied = Leftover("domain", tuple(domains), "emptied, kept: the target has no DELETE "
                                                             "/domains/{domain_name}")
                lines.append(f"left behind ({side}): {emptied.line(limit)}")
            lines += [f"left behind ({side}): {leftover.line(limit)}" for leftover in self.leftovers.get(side, [])]
        return lines

    def _difference(self, number: int, d: Difference, indent: str) -> list[str]:
        judged = "declared" if d.declared else f"undeclared: {d.why}"
        shortest = d.shortest
        calls = sum(1 for e in shortest.a if e.role != "token")
        if d.shrunk is None:
            shrunk = ", not shrunk (the time budget was spent)"
        else:
            shrunk = f", shrunk from {d.first.length} steps" if d.first.length > shortest.length else ""
        return [f"DIFFERENCE {number} ({judged}): {d.method} {d.operation}{_role(d.role)} — {'; '.join(d.lines)} "
                f"(seen {d.occurrences} time{'s' if d.occurrences != 1 else ''})",
                f"  reproduction, {calls} call{'s' if calls != 1 else ''}{shrunk} ({self._where()}):",
                *(f"{indent}{line}" for line in d.reproduction(self.people))]

    def _where(self) -> str:
        """Where the curl lines run: A's URL, or B's (the in-process fake has none: a standalone one does)."""
        a, b = self.about.get("a_url"), self.about.get("b_url")
        served = "the in-process fake: replay them on `fake-dimail serve --seed people-dev`"
        if a == IN_PROCESS_URL:
            return f"A is {served}" + ("" if b == IN_PROCESS_URL else f", or B's DIMAIL={b}")
        return f"DIMAIL={a}, " + (f"B is {served}" if b == IN_PROCESS_URL else f"or B's {b}")

    def operations(self) -> set[str]:
        return set(self.agreed) | set(self.differed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "about": self.about, "verdict": self.verdict, "exit_status": self.exit_status,
            "stopped": self.stopped, "blocker": self.blocker, "interrupted": self.interrupted,
            "differences": [{
                "operation": f"{d.method} {d.operation}", "method": d.method, "path": d.operation, "role": d.role,
                "statuses": list(d.statuses), "differences": list(d.lines), "signature": list(d.key),
                "class": "declared" if d.declared else "undeclared", "why": d.why, "occurrences": d.occurrences,
                "answers": {"a": _answer(d.shortest.a[-1]), "b": _answer(d.shortest.b[-1])},
                "steps": [str(step) for step in d.shortest.steps[:d.shortest.length]],
                "shrunk": d.shrunk is not None, "reproduction": d.reproduction(self.people),
            } for d in self.differences],
            "operations": {op: {"agreed": self.agreed.get(op, 0), "differed": self.differed.get(op, 0)}
                           for op in sorted(self.operations(), key=lambda o: (o.split(" ", 1)[1], o))},
            "guesses": self.guesses,
            "cleanup": self.cleanup, "left_behind": self.left_behind,
            "leftovers": {side: [leftover.as_dict() for leftover in found] for side, found in self.leftovers.items()},
        }

    def markdown(self) -> str:
        out = [f"# dimail differential: {self.about.get('a', '?')} against {self.about.get('b', '?')}", "",
               f"- verdict: **{self.verdict}** (exit status {self.exit_status})",
               *(f"- {k}: `{v}`" for k, v in self.about.items())]
        if self.stopped:
            return "\n".join([*out, "", f"## {self.stopped}", "", f"Nothing was compared: {self.blocker}"]) + "\n"
        out += ["", "## Differences", ""]
        if not self.differences:
            out.append("None: every call was answered alike.")
        for number, d in enumerate(self.differences, 1):
            out += [f"### {number}. `{d.method} {d.operation}`{_role(d.role)}: {'declared' if d.declared else 'undeclared'}",
                    "", *(f"- {line}" for line in d.lines), f"- seen {d.occurrences} time(s)"]
            if not d.declared:
                out.append(f"- not declared by the reference: {d.why}")
            out += ["", f"Reproduction ({self._where()}):", "",
                    "```sh", *d.reproduction(self.people), "```", ""]
        out += ["## Calls per operation", "", "| operation | answered alike | answered differently |", "|---|---|---|"]
        out += [f"| `{op}` | {self.agreed.get(op, 0)} | {self.differed.get(op, 0)} |"
                for op in sorted(self.operations(), key=lambda o: (o.split(" ", 1)[1], o))]
        if self.guesses:
            out += ["", "## Guesses of the fake", ""]
            if self.guesses.get("judged"):
                out += [f"- confirmed: {', '.join(self.guesses['confirmed']) or 'none'}",
                        f"- contradicted: {', '.join(self.guesses['contradicted']) or 'none'}"]
            else:
                out.append(f"Not judged: {self.guesses['why']}.")
        lines = self._cleanup_lines()
        if lines:
            out += ["", "## Clean-up", "", *(f"- {line}" for line in lines)]
        return "\n".join(out) + "\n"

    def write(self, path: Path) -> list[Path]:
        return write_pair(path, self.as_dict(), self.markdown())


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _role(role: str) -> str:
    return {"token": " (the token fetched for a Bearer call)", "redirected": " (after People's 307)"}.get(role, "")


def _answer(exchange: Any) -> dict[str, Any]:
    return {"status": exchange.status, "headers": exchange.headers,
            "body": exchange.data if exchange.is_json else exchange.text[:500]}
