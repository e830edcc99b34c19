"""`python -m mutation` (`make mutation`): the mutation scores, as a report and a page.

Two figures: the contract suite's score on mutants of dimail's rules (the product figure), and the fake's own
tests' score on mutants of the fake's own code and of its guesses (the reviewed list mutation/scope.toml).

    python -m mutation [--size N] [--fake-size N] [--seed S] [--modules M,...|all] [--workers W] [--timeout S]
    python -m mutation --only ID [ID ...]   re-run these mutants, update their entries in the report
    python -m mutation list [...]           the sample's ids, one a line (nothing is run)
    python -m mutation page                 write the page again from the report
    python -m mutation try ID [PYTEST ARGS] the suite (or these pytest arguments) against one mutant, here
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .mutants import OPERATORS, ROOT, SELECTED, Mutant, Scope, fake_only, generate, sample, scope_of
from .page import page
from .run import KILLER, Outcome, equivalents, install, killer_of, left_open, run, shown

REPORT = ROOT / "reports" / "mutation.json"
PAGE = ROOT / "docs" / "contracts" / "mutation.md"
SIZE, FAKE_SIZE, SEED = 160, 60, 18


def _modules(value: str) -> tuple[str, ...]:
    if value == "all":
        return SELECTED
    known = set(SELECTED)
    chosen = tuple(m.strip() for m in value.split(",") if m.strip())
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown module(s) {', '.join(unknown)}: give paths relative to "
                                         f"fake_dimail/, e.g. backend/users.py,checks.py")
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", choices=("run", "list", "page", "try"), default="run")
    parser.add_argument("--size", type=int, default=SIZE,
                        help="mutants of dimail's rules in the sample (default: %(default)s)")
    parser.add_argument("--fake-size", type=int, default=FAKE_SIZE,
                        help="mutants of the fake's own code and guesses in the sample (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED, help="the sample's seed (default: %(default)s)")
    parser.add_argument("--modules", type=_modules, default=SELECTED,
                        help="comma-separated, relative to fake_dimail/ (default, or `all`: backend/ and "
                             "checks.py)")
    parser.add_argument("--workers", type=int, default=2, help="mutants run at once (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds before a mutant's run is stopped (default: 3x the unmutated run + 30)")
    parser.add_argument("--warm", action="store_true",
                        help="import the suite's third-party modules once before forking (faster; changes what the "
                             "linked scenarios draw)")
    parser.add_argument("--only", nargs="+", metavar="ID", help="re-run these mutants and update the report")
    parser.add_argument("--resume", action="store_true",
                        help="go on with an interrupted run of the same sample (reports/mutation.partial.jsonl)")
    parser.add_argument("--as-far-as-run", action="store_true",
                        help="with --resume: write the report of what the interrupted run measured, run nothing more")
    parser.add_argument("--why", default="after new contracts", help="why --only re-runs them, for the report")
    parser.add_argument("--report", type=Path, default=REPORT, help="default: reports/mutation.json")
    parser.add_argument("--page", type=Path, default=PAGE, help="default: docs/contracts/mutation.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["try"]:
        return _try(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "page":
        args.page.write_text(page(json.loads(args.report.read_text())))
        print(f"wrote {_shown(args.page)}")
        return 0
    everything = generate(args.modules)
    scopes = fake_only()
    if args.only:
        return _rerun(args, everything, scopes)
    chosen = _sample(everything, scopes, args.size, args.fake_size, args.seed)
    if args.command == "list":
        print("\n".join(m.id for m in chosen))
        return 0
    partial = args.report.with_suffix(".partial.jsonl")  # each outcome as it comes: --resume goes on from it
    done = _partial(partial, chosen) if args.resume else {}
    if not args.resume:
        partial.unlink(missing_ok=True)
    todo = [m for m in chosen if m.id not in done]
    # run in a seeded shuffled order: an interrupted run has measured a uniform part of the sample
    random.Random(f"{args.seed}:order").shuffle(todo)
    if args.resume and args.as_far_as_run:
        return _write(args, build(_about(args, everything, chosen, scopes, None, None, None)
                                  | {"not_run": len(todo)},
                                  [(m, done[m.id]) for m in chosen if m.id in done], equivalents(), left_open(),
                                  scopes=scopes))
    fake = sum(1 for m in chosen if scope_of(m, scopes))
    print(f"{len(chosen)} of {len(everything)} mutants (seed {args.seed}; {len(chosen) - fake} of dimail's rules, "
          f"{fake} of the fake's own code and guesses), {args.workers} at a time"
          + (f", {len(done)} done before" if done else "") + "; each killer unmutated first", flush=True)
    started = time.monotonic()
    killers = {m.id: killer_of(scope_of(m, scopes)) for m in todo}
    baselines, limits, outcomes = run(todo, args.workers, args.timeout, _progress(len(todo), partial, scopes),
                                      killers, warm=args.warm)
    outcomes.update(done)
    about = (_about(args, everything, chosen, scopes, baselines, limits, time.monotonic() - started)
             | {"resumed": len(done)})
    report = build(about, [(m, outcomes[m.id]) for m in chosen], equivalents(), left_open(), scopes=scopes)
    status = _write(args, report)
    partial.unlink(missing_ok=True)
    return status


def _sample(everything: list[Mutant], scopes: dict[str, Scope], size: int, fake_size: int,
            seed: int) -> list[Mutant]:
    """`size` mutants of dimail's rules and `fake_size` of the fake's own code and guesses, each part stratified
    by module and operator, in generation order."""
    rules = [m for m in everything if scope_of(m, scopes) is None]
    own = [m for m in everything if scope_of(m, scopes) is not None]
    chosen = {m.id for m in sample(rules, size, seed) + sample(own, fake_size, seed)}
    return [m for m in everything if m.id in chosen]


def _about(args: argparse.Namespace, everything: list[Mutant], chosen: list[Mutant], scopes: dict[str, Scope],
           baselines: dict[str, float] | None, limits: dict[str, float] | None,
           wall: float | None) -> dict[str, Any]:
    contract = shown(KILLER)
    return {
        "seed": args.seed, "size": len(chosen), "generated": len(everything), "modules": list(args.modules),
        "sizes": {"dimail": args.size, "fake": args.fake_size},
        "generated_by_scope": {"dimail": sum(1 for m in everything if scope_of(m, scopes) is None),
                               "fake": sum(1 for m in everything if scope_of(m, scopes) is not None)},
        "operators": list(OPERATORS), "by_stratum": _strata(everything, chosen),
        "killer": contract, "workers": args.workers,
        "baseline_seconds": None if baselines is None else round(baselines[contract], 1),
        "timeout_seconds": None if limits is None else round(limits[contract], 1),
        "fake_scope": {key: {"reason": s.reason, "tests": list(s.tests)} for key, s in scopes.items()},
        "fake_killers": {} if baselines is None or limits is None else {
            k: {"baseline_seconds": round(b, 1), "timeout_seconds": round(limits[k], 1)}
            for k, b in baselines.items() if k != contract},
        "wall_seconds": None if wall is None else round(wall, 1), "niceness": os.nice(0),
        "commit": _commit(), "date": time.strftime("%Y-%m-%d"), "reruns": [],
    }


def _partial(path: Path, chosen: list[Mutant]) -> dict[str, Outcome]:
    """The outcomes an interrupted run of this sample wrote (`--resume`)."""
    ids = {m.id for m in chosen}
    found = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        entry = json.loads(line)
        if entry["id"] in ids:
            found[entry["id"]] = Outcome(entry["status"], entry["seconds"], entry.get("killer", ""),
                                         entry.get("exit_status"))
    return found


def _try(argv: list[str]) -> int:
    """`try ID [PYTEST ARGS]`: pytest's status for the suite (default: the killer's arguments) against the mutant."""
    if not argv:
        print("usage: python -m mutation try ID [PYTEST ARGS]", file=sys.stderr)
        return 2
    known = {m.id: m for m in generate(SELECTED)}
    if argv[0] not in known:
        print(f"no such mutant: {argv[0]} (python -m mutation list --size 100000 lists them all)", file=sys.stderr)
        return 2
    install(known[argv[0]])
    import pytest

    return int(pytest.main(argv[1:] or [str(ROOT / a) if a.startswith("tests/") else a
                                        for a in killer_of(scope_of(known[argv[0]], fake_only()))]))


def _rerun(args: argparse.Namespace, everything: list[Mutant], scopes: dict[str, Scope]) -> int:
    known = {m.id: m for m in everything}
    unknown = [i for i in args.only if i not in known]
    if unknown:
        print(f"no such mutant: {', '.join(unknown)} (python -m mutation list --size 100000 lists them all)",
              file=sys.stderr)
        return 2
    report = json.loads(args.report.read_text())
    chosen = [known[i] for i in args.only]
    print(f"re-running {len(chosen)} mutants", flush=True)
    about = report["about"]
    limits = {shown(KILLER): about["timeout_seconds"],
              **{k: v["timeout_seconds"] for k, v in about.get("fake_killers", {}).items()}}
    _, _, outcomes = run(chosen, args.workers, args.timeout, _progress(len(chosen), None, scopes),
                         {m.id: killer_of(scope_of(m, scopes)) for m in chosen}, limits, warm=args.warm)
    entries = {e["id"]: (Mutant(**{k: e[k] for k in Mutant.__dataclass_fields__}),
                         Outcome(e["outcome"], e["seconds"], e.get("killer", ""), e.get("exit_status")))
               for e in report["mutants"]}
    for mutant in chosen:
        entries[mutant.id] = (mutant, outcomes[mutant.id])
    about["reruns"].append({"ids": list(args.only), "commit": _commit(), "date": time.strftime("%Y-%m-%d"),
                            "why": args.why})
    ordered = [entries[m.id] for m in everything if m.id in entries]
    return _write(args, build(about, ordered, equivalents(), left_open(), rerun=set(args.only), previous=report,
                              scopes=scopes))


def build(about: dict[str, Any], results: list[tuple[Mutant, Outcome]], equivalent: dict[str, str],
          no_contract: dict[str, str] | None = None, rerun: set[str] | frozenset[str] = frozenset(),
          previous: dict[str, Any] | None = None, scopes: dict[str, Scope] | None = None) -> dict[str, Any]:
    """The report: each mutant with its scope, outcome and verdict; the counts and the score of each scope
    (`counts`/`score`/`total`: dimail's rules, judged by the contract suite; `fake_only`: the fake's own code and
    guesses, judged by its own tests)."""
    scopes = fake_only() if scopes is None else scopes
    before = {e["id"]: e for e in (previous or {}).get("mutants", [])}
    mutants = []
    for mutant, outcome in results:
        scope = scope_of(mutant, scopes)
        entry: dict[str, Any] = {**mutant.as_dict(), "scope": "fake" if scope else "dimail",
                                 "outcome": outcome.status, "seconds": outcome.seconds}
        if scope is not None:
            entry["scope_entry"] = scope.key
        if outcome.killer:
            entry["killer"] = outcome.killer
        if outcome.exit_status is not None:
            entry["exit_status"] = outcome.exit_status
        if outcome.status == "survived":
            entry["verdict"] = "equivalent" if mutant.id in equivalent else "blind spot"
            if mutant.id in equivalent:
                entry["reason"] = equivalent[mutant.id]
            elif mutant.id in (no_contract or {}):
                entry["reason"] = (no_contract or {})[mutant.id]
        elif mutant.id in equivalent:
            entry["listed_equivalent"] = True  # the list is wrong about it: a contract sees the change
        was = before.get(mutant.id, {}).get("outcome")
        if mutant.id in rerun and was is not None:
            entry["was"] = was
        mutants.append(entry)
    dimail = _figure([e for e in mutants if e["scope"] == "dimail"])
    return {"about": about, **dimail, "fake_only": _figure([e for e in mutants if e["scope"] == "fake"]),
            "mutants": mutants}


def _figure(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and score of one scope: killed and timed out over every mutant that is not equivalent."""
    counts = {"killed": 0, "timed out": 0, "survived": 0, "equivalent": 0}
    for entry in entries:
        counts["equivalent" if entry.get("verdict") == "equivalent" else entry["outcome"]] += 1
    judged = counts["killed"] + counts["timed out"] + counts["survived"]
    score = round(100 * (counts["killed"] + counts["timed out"]) / judged, 1) if judged else 0.0
    return {"counts": counts, "total": len(entries), "score": score}


def _write(args: argparse.Namespace, report: dict[str, Any]) -> int:
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    args.page.write_text(page(report))
    for title, figure in (("dimail's rules, by the contract suite", report),
                          ("the fake's own code and guesses, by its own tests", report["fake_only"])):
        counts = figure["counts"]
        print(f"{title}: score {figure['score']}%: {counts['killed']} killed, {counts['timed out']} timed out, "
              f"{counts['survived']} survived, {counts['equivalent']} equivalent (of {figure['total']})")
    print(f"wrote {_shown(args.report)} and {_shown(args.page)}")
    return 0


def _strata(everything: list[Mutant], chosen: list[Mutant]) -> dict[str, list[int]]:
    """operator -> [sampled, generated], and the same by module."""
    table: dict[str, list[int]] = {}
    for group, picked in ((everything, 1), (chosen, 0)):
        for m in group:
            for key in (m.operator, m.module):
                table.setdefault(key, [0, 0])[picked] += 1
    return dict(sorted(table.items()))


def _progress(total: int, partial: Path | None = None, scopes: dict[str, Scope] | None = None) -> Any:
    done = [0]

    def show(mutant: Mutant, outcome: Outcome) -> None:
        done[0] += 1
        if partial is not None:
            partial.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("a") as out:
                out.write(json.dumps({"id": mutant.id, **vars(outcome)}) + "\n")
        mark = "fake  " if scopes is not None and scope_of(mutant, scopes) else "dimail"
        print(f"[{done[0]}/{total}] {mark} {outcome.status:9} {outcome.seconds:6.1f}s {mutant.id}"
              + (f"  <- {outcome.killer[:100]}" if outcome.killer else ""), flush=True)
    return show


def _commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
