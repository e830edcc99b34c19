"""The contract suite's usage errors are answered while pytest loads its plugins, before any app or
schemathesis is imported: one line, pytest's usage status (4), no traceback.

pytest loads installed plugins in the order their distributions are found; here the order is fixed
(`-p`, autoloading off) with schemathesis' plugin after the suite's, as it comes on a machine where
fake-dimail's distribution is found first. tests/test_contracts.py checks the same lines with every
plugin autoloaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, sys, pytest
out = []
for args in json.loads(sys.argv[1]):
    status = pytest.main(["-p", "contracts.plugin", "-p", "schemathesis.pytest.plugin", "--pyargs", "contracts",
                          "-p", "no:cacheprovider", *args])
    out.append([int(status), sorted(m for m in ("schemathesis", "hypothesis", "fake_dimail.app", "tests.mutants")
                                    if m in sys.modules)])
print(json.dumps(out))
"""
EARLY = [
    (("--dimail-url", "localhost:8001"),
     "ERROR: --dimail-url 'localhost:8001' has no scheme: add http:// (http://localhost:8001)"),
    (("--dimail-app", "nosuch:thing"),
     "ERROR: --dimail-app nosuch:thing: cannot import nosuch (No module named 'nosuch'); is it importable from the "
     "current directory?"),
    (("--dimail-app", "tests.mutants"),
     "ERROR: --dimail-app tests.mutants: expected MODULE:CALLABLE, e.g. tests.mutants:renamed_field"),
    (("--dimail-compare-url", "fake", "--dimail-reference", "nowhere.json"),
     "ERROR: --dimail-reference nowhere.json: no such file"),
    (("--dimail-sequences", "3"),
     "ERROR: --dimail-sequences is for a differential run: add --dimail-compare-url URL (or `fake`)"),
    (("--dimail-url=http://127.0.0.1:9", "--dimail-compare-url", "http://127.0.0.1:9/"),
     "ERROR: --dimail-compare-url http://127.0.0.1:9/ is --dimail-url: compare two different dimails"),
]
# A module that exists but lacks the callable can only be told by importing it: after the plugins load.
LATE = (("--dimail-app", "tests.mutants:nosuch"),
        "ERROR: --dimail-app tests.mutants:nosuch: tests.mutants has no callable 'nosuch'")


def test_usage_errors_come_before_schemathesis_and_the_app_are_imported() -> None:
    """One process, one `pytest.main` per case: the early cases first, then one only a full check can tell."""
    run = subprocess.run([sys.executable, "-c", PROBE, json.dumps([args for args, _ in [*EARLY, LATE]])], cwd=ROOT,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    results = json.loads(run.stdout.strip().splitlines()[-1])
    assert [line for line in run.stderr.splitlines() if line.strip()] == [line for _, line in [*EARLY, LATE]]
    assert [status for status, _ in results] == [4] * (len(EARLY) + 1)
    # none of the app's modules, nor schemathesis or hypothesis, before the last case
    assert results[len(EARLY) - 1][1] == [], results
    assert {"tests.mutants", "schemathesis"} <= set(results[-1][1]), results
