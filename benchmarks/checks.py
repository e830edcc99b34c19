"""How fast a domain check answers, in-process and over HTTP.

    .venv/bin/python benchmarks/checks.py [--domains N] [--checks N]

The real /check resolves DNS and stalls for seconds when DNS is unreachable;
the fake's is a pure function of the simulated zones and must answer in
milliseconds even with many zones published. Prints latency percentiles.
"""

from __future__ import annotations

import argparse
import statistics
import time

from fake_dimail import FakeDimail, Settings

PEOPLE_DOMAIN = {"features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]  # noqa: E731
    return (f"median {statistics.median(samples) * 1000:.2f} ms, p95 {pick(0.95) * 1000:.2f} ms, "
            f"max {samples[-1] * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=300, help="domains (and published zones) in the fake")
    parser.add_argument("--checks", type=int, default=500, help="checks to time")
    args = parser.parse_args()

    # dns_auto publishes every zone; certs_on_check makes each check pass end to end.
    fake = FakeDimail(Settings(dns_auto=True, certs_on_check=True), seed="people-dev")
    regie = fake.client(auth=("la_regie", "password"))
    started = time.perf_counter()
    for i in range(args.domains):
        name = f"d{i}.example.fr"
        response = regie.post("/domains/?no_check=true", json={"name": name, "context_name": name, **PEOPLE_DOMAIN})
        assert response.status_code == 201, response.text
    setup = time.perf_counter() - started
    print(f"{args.domains} domains created with their zones in {setup:.1f} s (a 2048-bit DKIM key each)")

    names = [f"d{i % args.domains}.example.fr" for i in range(args.checks)]
    samples = []
    for name in names:
        t = time.perf_counter()
        fake.check(name)
        samples.append(time.perf_counter() - t)
    print(f"backend check, {args.checks}x: {percentiles(samples)}")

    samples = []
    for name in names:
        t = time.perf_counter()
        response = regie.get(f"/domains/{name}/check")
        samples.append(time.perf_counter() - t)
        assert response.json()["state"] == "ok", response.text
    print(f"GET /domains/{{d}}/check through the in-process client (auth, routing, JSON), {args.checks}x: "
          f"{percentiles(samples)}")


if __name__ == "__main__":
    main()
