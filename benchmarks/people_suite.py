"""People's tests on the fake vs with `responses` mocks: what moving People's suite to the fake costs.

The same People-style suite twice, case for case: `examples/people_tests/` (the People kit: the
fake answers, factories mirrored into it) and `benchmarks/people_mocks/` (dimail mocked the way
People's tests mock it). Each runs in its own warm process (imports and the first use of
Faker's locales paid once, before measuring); rounds alternate between the two, and the figure
is the median CPU time of the run phase (collection excluded).

    python benchmarks/people_suite.py            # figures in a table, the ratio in the goals
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import goals

ROOT = Path(__file__).resolve().parents[1]
SUITES = {"fake": ROOT / "examples" / "people_tests", "mocks": ROOT / "benchmarks" / "people_mocks"}
ROUNDS = 7
GOAL = 1.2


class Timer:
    """Times the run phase of one pytest session in CPU time of the process: on a machine shared with other
    work, wall time measures the neighbours too; on a quiet one, the two agree."""

    elapsed = 0.0

    def pytest_runtestloop(self, session: object) -> None:
        self.started = time.process_time()

    def pytest_sessionfinish(self, session: object) -> None:
        self.elapsed = time.process_time() - self.started


def worker(suite: Path) -> int:
    """Run the suite once per line read, answer {"seconds", "exit", "cases"} per run."""
    import gc

    import pytest

    for _ in sys.stdin:
        # What earlier rounds left is frozen: a full collection of this process's large heap (Faker's,
        # hypothesis') costs a few hundred ms, and would fall in one round or the other by chance.
        gc.collect()
        gc.freeze()
        timer = Timer()
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", str(suite), "-c",
                                str(suite / "pytest.ini"), str(suite)], plugins=[timer])
        passed = [line for line in out.getvalue().splitlines() if " passed" in line]
        print(json.dumps({"seconds": timer.elapsed, "exit": int(code), "summary": passed[-1] if passed else ""}),
              flush=True)
    return 0


def main() -> int:
    workers = {mode: subprocess.Popen([sys.executable, __file__, "--worker", str(path)], cwd=path, text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
               for mode, path in SUITES.items()}
    times: dict[str, list[float]] = {mode: [] for mode in SUITES}
    summary = {}
    try:
        for round_ in range(ROUNDS + 1):  # the first round warms up
            for mode, process in workers.items():
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write("run\n")
                process.stdin.flush()
                result = json.loads(process.stdout.readline())
                if result["exit"] != 0:
                    print(f"{mode} suite failed: {result['summary'] or 'exit ' + str(result['exit'])}")
                    return 1
                summary[mode] = result["summary"]
                if round_:
                    times[mode].append(result["seconds"] * 1000)
    finally:
        for process in workers.values():
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=60)
    fake, mocks = statistics.median(times["fake"]), statistics.median(times["mocks"])
    ratio = fake / mocks
    print(f"People-style suite, run phase, CPU time, median of {ROUNDS} warm rounds (alternating):")
    print(f"  with responses mocks (benchmarks/people_mocks):  {mocks:8.1f} ms  {summary['mocks']}")
    print(f"  on the fake, People kit (examples/people_tests): {fake:8.1f} ms  {summary['fake']}")
    print(f"  fake / mocks: {ratio:.2f}x (goal <= {GOAL}x)")
    goals.record("People-style suite: fake / responses mocks", f"{ratio:.2f}x", f"≤ {GOAL}x", ratio <= GOAL)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(worker(Path(sys.argv[2])))
    sys.exit(main())
