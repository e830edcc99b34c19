"""The compatibility report: per contract family, what passed, failed (and why), was skipped (and why).

Written as JSON (for CI) and Markdown (for people) with `--dimail-report PATH`,
and summed up at the end of the terminal output. It also holds the target's
description, its schema drift against the fake, what the clean-up could not
delete, and the verdict with its exit status (`VERDICTS`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .cleanup import Leftover
from .drift import Drift, compare, reference_openapi
from .target import DOMAIN_DELETION, Target

# The run's exit status per verdict; 6 and 7 stay clear of pytest's own 2-5 (interrupted, internal, usage, none).
# A differential run (`--dimail-compare-url`, contracts/differential.py) ends with one of the last three.
VERDICTS = {"compatible": 0, "NOT compatible": 1, "UNREACHABLE": 6, "NOT USABLE": 7,
            "same": 0, "differ (declared only)": 8, "differ": 9}
OUTCOMES = ("passed", "failed", "skipped", "blocked")
NAMES_SHOWN = 12  # of what is left behind, in the terminal (the report names them all)

FAMILIES = {
    "sequence": "Permission sequence (state machine over People events)",
    "people": "People compatibility (the calls People sends, the fields it reads)",
    "rules": "API rules (authentication, refusals, conflicts)",
    "schema": "Schema conformance (schemathesis against the target's OpenAPI)",
    "steering": "Fake-only steering (simulated DNS, platform faults)",
    "authz": "Authorization matrix (every secured operation x caller class, writes read back)",
    "edits": "List edits (+x / -x / set of perms, acls, identities, by property)",
    "lifecycle": "Domain checks through the API (what /spec promises, each check)",
}


@dataclass
class Result:
    nodeid: str
    family: str
    outcome: str  # passed | failed | skipped | blocked (needs what the target could not give People's user)
    message: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    families: dict[str, str] = field(default_factory=dict)  # nodeid -> family
    results: dict[str, Result] = field(default_factory=dict)
    about: dict[str, Any] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)
    cleanup: list[str] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)  # domains emptied, kept: the target cannot delete them
    leftovers: list[Leftover] = field(default_factory=list)  # what no operation removes, or is kept: named
    # Why contracts could not run: all of them when `stopped` (its verdict) is set, else the `blocked` ones.
    blocker: str | None = None
    stopped: str | None = None
    written: list[Path] = field(default_factory=list)
    costs: dict[str, str] = field(default_factory=dict)  # family -> what it sent, created and removed

    def target(self, target: Target) -> None:
        self.about = {"target": target.label, "url": target.url, "version": target.version,
                      "operations": len(target.operations), "steering": target.steerable,
                      "prefix": target.prefix, "date": datetime.now(UTC).isoformat(timespec="seconds")}
        self.drift = compare(target.openapi, reference_openapi())

    def stop(self, verdict: str, reason: str) -> None:
        """No contract can run: the run ends here with this verdict."""
        self.stopped, self.blocker = verdict, reason

    def record(self, nodeid: str, report: pytest.TestReport, blocked: bool = False) -> None:
        """Keep the worst phase: a failing setup or teardown fails the contract too."""
        family = self.families[nodeid]
        current = self.results.get(nodeid)
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            result = Result(nodeid, family, "blocked" if blocked else "skipped", reason.removeprefix("Skipped: "))
        elif report.failed:
            result = Result(nodeid, family, "failed", _first_lines(report))
        elif report.when == "call":
            quirks = [q for key, value in report.user_properties if key == "quirks" for q in value]
            notes = [value for key, value in report.user_properties if key == "note"]
            if quirks:
                notes.append(f"documented quirks seen: {'; '.join(quirks)}")
            result = Result(nodeid, family, "passed", " — ".join(notes))
        else:
            return
        result.seconds = report.duration + (current.seconds if current else 0.0)
        if current is None or current.outcome == "passed" or result.outcome == "failed":
            self.results[nodeid] = result

    # --- output ----------------------------------------------------------------------

    def counts(self, family: str | None = None) -> dict[str, int]:
        chosen = [r for r in self.results.values() if family is None or r.family == family]
        return {o: sum(1 for r in chosen if r.outcome == o) for o in OUTCOMES}

    @property
    def verdict(self) -> str:
        """Stopped: why; a contract broken (or data left behind): NOT compatible; some blocked: NOT USABLE."""
        if self.stopped:
            return self.stopped
        counts = self.counts()
        if counts["failed"] or self.cleanup:
            return "NOT compatible"
        return "NOT USABLE" if counts["blocked"] else "compatible"

    @property
    def exit_status(self) -> int:
        return VERDICTS[self.verdict]

    @property
    def compatible(self) -> bool:
        return self.verdict == "compatible"

    def summary_lines(self) -> list[str]:
        if self.stopped and "version" not in self.about:  # never reached: nothing to describe, no drift
            return [f"target: {self.about.get('target', '?')}", f"{self.stopped}: {self.blocker}",
                    f"verdict: {self.stopped}"]
        lines = [f"target: {self.about.get('target', '?')} (OpenAPI version {self.about.get('version', '?')}, "
                 f"{self.about.get('operations', 0)} operations, prefix {self.about.get('prefix', '?')})"]
        blocked = self.counts()["blocked"]
        for family in FAMILIES:
            c = self.counts(family)
            if any(c.values()):
                lines.append(f"{family:<9} {c['passed']:>3} passed {c['failed']:>3} failed {c['skipped']:>3} skipped"
                             + (f" {c['blocked']:>3} blocked" if blocked else "") + f"  — {FAMILIES[family]}")
        lines += [f"{family:<9} cost: {cost}" for family, cost in self.costs.items()]
        for r in self._chosen("failed"):
            lines.append(f"FAILED {r.nodeid}: {r.message.splitlines()[0] if r.message else ''}")
        if self.stopped:
            lines.append(f"{self.stopped}: {self.blocker}")
        elif blocked:
            lines.append(f"BLOCKED: {self._blocked()}")
        kinds = {k: sum(1 for d in self.drift if d.kind == k) for k in dict.fromkeys(d.kind for d in self.drift)}
        lines.append("drift against the fake: " + (", ".join(f"{n} {k}" for k, n in kinds.items()) or "none"))
        if self.cleanup:
            lines += [f"clean-up: {problem}" for problem in self.cleanup]
        if self.left_behind:
            lines.append(f"left behind: {self._left_behind()}")
        lines += [f"left behind: {leftover.line(limit=NAMES_SHOWN)}" for leftover in self.leftovers]
        lines.append(f"verdict: {self.verdict}")
        return lines

    def _blocked(self) -> str:
        blocked = self.counts()["blocked"]
        return f"{blocked} contract{'s' if blocked != 1 else ''} could not run: {self.blocker}"

    def _left_behind(self) -> str:
        n = len(self.left_behind)
        names = ", ".join(self.left_behind[:3]) + (", …" if n > 3 else "")
        return f"{n} domain{'s' if n != 1 else ''}, emptied ({names}): the target does not declare " \
               f"{' '.join(DOMAIN_DELETION)}"

    def _chosen(self, outcome: str) -> list[Result]:
        return [r for r in self.results.values() if r.outcome == outcome]

    def as_dict(self) -> dict[str, Any]:
        return {"about": self.about, "verdict": self.verdict, "exit_status": self.exit_status,
                "compatible": self.compatible, "counts": self.counts(),
                "families": {f: self.counts(f) for f in FAMILIES},
                "results": [asdict(r) for r in self.results.values()],
                "drift": [d.as_dict() for d in self.drift], "cleanup": self.cleanup, "left_behind": self.left_behind,
                "leftovers": [leftover.as_dict() for leftover in self.leftovers], "blocker": self.blocker,
                "costs": self.costs}

    def markdown(self) -> str:
        out = [f"# dimail compatibility: {self.about.get('target', '?')}", "",
               f"- verdict: **{self.verdict}** (exit status {self.exit_status})",
               *(f"- {k}: `{v}`" for k, v in self.about.items()), "",
               "| family | passed | failed | skipped | blocked |", "|---|---|---|---|---|"]
        for family, title in FAMILIES.items():
            c = self.counts(family)
            if any(c.values()):
                out.append(f"| {title} | {c['passed']} | {c['failed']} | {c['skipped']} | {c['blocked']} |")
        if self.costs:
            out += ["", "## Cost", "", *(f"- {family}: {cost}" for family, cost in self.costs.items())]
        if self.stopped:
            out += ["", f"## {self.stopped}", "", f"No contract could run: {self.blocker}"]
        elif self.blocker:
            out += ["", "## Blocked", "", self._blocked()]
        for outcome, title in (("failed", "Failures"), ("skipped", "Skipped, with the reason")):
            chosen = self._chosen(outcome)
            if chosen:
                out += ["", f"## {title}", ""]
                out += [f"- `{r.nodeid}`: {_one_line(r.message)}" for r in chosen]
        quirks = [r for r in self.results.values() if r.outcome == "passed" and r.message]
        if quirks:
            out += ["", "## Passed, with notes (what was reached, documented quirks seen)", ""]
            out += [f"- `{r.nodeid}`: {_one_line(r.message)}" for r in quirks]
        out += ["", "## Schema drift (target against the fake)", ""]
        if self.stopped and "version" not in self.about:
            out.append("Not computed: the target's document was not read.")
        elif self.drift:
            out += ["| operation | kind | detail |", "|---|---|---|"]
            out += [f"| `{d.operation}` | {d.kind} | {d.detail} |" for d in self.drift]
        else:
            out.append("None: the target declares exactly the fake's operations.")
        if self.cleanup:
            out += ["", "## Clean-up problems", "", *(f"- {p}" for p in self.cleanup)]
        if self.left_behind or self.leftovers:
            out += ["", "## Left behind", ""]
            out += [f"- {line}" for line in ([self._left_behind()] if self.left_behind else [])
                    + [leftover.line() for leftover in self.leftovers]]
        return "\n".join(out) + "\n"

    def write(self, path: Path) -> list[Path]:
        return write_pair(path, self.as_dict(), self.markdown())


def write_pair(path: Path, data: dict[str, Any], markdown: str) -> list[Path]:
    """PATH.json and PATH.md (a `.json` or `.md` suffix given is dropped)."""
    base = path.with_suffix("") if path.suffix in (".json", ".md") else path
    json_path, md_path = base.with_suffix(".json"), base.with_suffix(".md")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    return [json_path, md_path]


def _first_lines(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return str(report.longrepr).strip().splitlines()[-1] if report.longrepr else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400].replace("|", "\\|")
