"""The goals the benchmarks measure, gathered into the one table `make bench` ends with.

Each benchmark prints its own detail and records one row per goal here
(`record`); `python benchmarks/goals.py` prints them all, met or not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PATH = Path(__file__).resolve().parents[1] / "reports" / "bench-goals.jsonl"


def reset() -> None:
    PATH.unlink(missing_ok=True)


def record(figure: str, value: str, goal: str, met: bool) -> None:
    PATH.parent.mkdir(exist_ok=True)
    with PATH.open("a") as out:
        out.write(json.dumps({"figure": figure, "value": value, "goal": goal, "met": met}) + "\n")


def main() -> int:
    rows = [json.loads(line) for line in PATH.read_text().splitlines()] if PATH.exists() else []
    if not rows:
        print(f"no goals recorded in {PATH}: run the benchmarks first (make bench)")
        return 1
    width = max(len(r["figure"]) for r in rows)
    value_width = max(len(r["value"]) for r in rows)
    print(f"\n{'goal':<{width}}  {'measured':>{value_width}}  {'goal':<12} met")
    for r in rows:
        print(f"{r['figure']:<{width}}  {r['value']:>{value_width}}  {r['goal']:<12} {'yes' if r['met'] else 'NO'}")
    missed = sum(not r["met"] for r in rows)
    print(f"{len(rows) - missed} of {len(rows)} goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
