"""What the fake costs a test suite that uses it in every test (issue targets beside each figure).

    python benchmarks/inprocess.py            # figures in a table
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import requests

import goals
from fake_dimail import FakeDimail, mock_dimail

URL = "http://dimail:8000"


def measure(action: Callable[[], object], runs: int) -> float:
    """Median milliseconds of `runs` calls, after one warm-up call."""
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    rows: list[tuple[str, float, float]] = []
    rows.append(("FakeDimail() construction (people-dev)", measure(lambda: FakeDimail(seed="people-dev"), 50), 5.0))
    rows.append(("FakeDimail() and its first request (GET /token/)",
                 measure(lambda: FakeDimail(seed="people-dev").client().get("/token/", auth=("admin", "admin")), 20),
                 float("nan")))
    fresh = iter([FakeDimail(seed="people-dev") for _ in range(101)])
    # Checked against the operations' paths and methods, which every route has unbuilt (strict_json.LazyRoute).
    rows.append(("a fresh fake's first faults.add (People's template)",
                 measure(lambda: next(fresh).faults.add("POST", "/domains/{domain_name}/mailboxes/{user_name}"), 100),
                 1.0))
    fake = FakeDimail(seed="people-dev")
    rows.append(("fake.reset() (reseeds people-dev)", measure(fake.reset, 200), 1.0))
    names = (f"seeded{n}.fr" for n in range(10_000))
    # A People factory's enabled domain: published, certified, checked. No key generation (dkim.py).
    rows.append(("fake.add_domain(d) (status ok: People's enabled)",
                 measure(lambda: fake.add_domain(next(names), allowed=["la_regie"]), 300), 1.0))
    fake.reset()
    with mock_dimail(URL, fake=fake):
        token = requests.get(f"{URL}/token/", auth=("la_regie", "password"), timeout=5).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        fake.add_domain("bench.fr", allowed=["la_regie"])
        session = requests.Session()
        rows.append(("requests.get through mock_dimail (Bearer GET /domains/{d})",
                     measure(lambda: requests.get(f"{URL}/domains/bench.fr", headers=bearer, timeout=5), 300), 1.5))
        rows.append(("Session.get through mock_dimail (same)",
                     measure(lambda: session.get(f"{URL}/domains/bench.fr", headers=bearer, timeout=5), 300), 1.5))
    client = fake.client(headers=bearer)
    rows.append(("fake.client().get (same)", measure(lambda: client.get("/domains/bench.fr"), 300), 1.5))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'operation':<{width}}  median ms  target ms  ok")
    for name, figure, target in rows:
        verdict = "-" if target != target else "yes" if figure <= target else "NO"  # nan: no target
        shown = "-" if verdict == "-" else f"{target:.1f}"
        print(f"{name:<{width}}  {figure:9.3f}  {shown:>9}  {verdict}")
        if verdict != "-":
            goals.record(name, f"{figure:.3f} ms", f"≤ {target} ms", figure <= target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
