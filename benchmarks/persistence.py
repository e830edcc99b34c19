"""What `--state FILE` adds to a write: requests at 10k objects, with and without the file.

    .venv/bin/python benchmarks/persistence.py [--size 10000] [--repeat 300]

A fake holding `size` mailboxes of one webmail domain (each also an OX user of
its context) and as many aliases, filled through the backend, then write
requests through the in-process client (routing, auth, validation, JSON: a
request without the network, the strictest ratio, since a socket adds the same
cost to both): median per request without a state file, with one
(`synchronous=NORMAL`, the default: a commit survives kill -9, not a power
cut), and with `synchronous=FULL` (an fsync per commit) for comparison. Goal:
with the file, a write costs at most 2x what it costs without. Also: the size
of the file and the time a restart takes to load it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from fake_dimail import FakeDimail, Settings, models
from fake_dimail.backend import persistence
from fake_dimail.backend.base import settled
from fake_dimail.records import Caller

ADMIN = Caller("admin", True)
DOMAIN = "example.fr"
GOAL = 2.0


def filled(size: int, state_file: Path | None) -> FakeDimail:
    fake = FakeDimail(Settings(state_file=None if state_file is None else str(state_file)), seed="people-dev")
    backend = fake.backend
    body = models.CreateDomain.model_validate(
        {"name": DOMAIN, "features": ["webmail", "mailbox", "alias"], "context_name": DOMAIN, "delivery": "virtual"})
    with settled(backend.state):  # the filling in one transaction: the figures are the requests' below
        backend.create_domain(ADMIN, body, check=False)
        for i in range(size):
            backend.create_mailbox(ADMIN, DOMAIN, f"m{i}", models.CreateMailbox(givenName="Given", surName=f"Sur{i}"))
            backend.create_alias(ADMIN, DOMAIN, models.CreateAlias(user_name=f"a{i}", destination=f"m{i}@{DOMAIN}"))
    return fake


def timed(action: Callable[[int], httpx.Response], repeat: int) -> float:
    samples = []
    for i in range(repeat):
        started = time.perf_counter()
        response = action(i)
        samples.append(time.perf_counter() - started)
        assert response.is_success, (response.status_code, response.text)
    return statistics.median(samples)


def writes(fake: FakeDimail, repeat: int) -> dict[str, float]:
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"})
    base = f"/domains/{DOMAIN}"
    return {
        "mailbox create": timed(lambda i: api.post(f"{base}/mailboxes/new{i}",
                                                   json={"givenName": "New", "surName": f"P{i}"}), repeat),
        "mailbox patch": timed(lambda i: api.patch(f"{base}/mailboxes/new{i}",
                                                   json={"displayName": f"Renamed {i}"}), repeat),
        "alias create": timed(lambda i: api.post(f"{base}/aliases/",
                                                 json={"user_name": f"n{i}", "destination": "x@elsewhere.fr"}), repeat),
        "alias delete": timed(lambda i: api.delete(f"{base}/aliases/n{i}/x@elsewhere.fr"), repeat),
        "mailbox delete": timed(lambda i: api.delete(f"{base}/mailboxes/new{i}"), repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="mailboxes (and as many aliases) held")
    parser.add_argument("--repeat", type=int, default=300, help="timed requests per operation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        columns: dict[str, dict[str, float]] = {"memory only": writes(filled(args.size, None), args.repeat)}
        for policy in ("NORMAL", "FULL"):
            persistence.SYNCHRONOUS = policy
            path = Path(directory) / f"{policy}.db"
            fake = filled(args.size, path)
            columns[f"--state ({policy})"] = writes(fake, args.repeat)
            fake.close()
        persistence.SYNCHRONOUS = "NORMAL"
        started = time.perf_counter()
        restarted = FakeDimail(Settings(state_file=str(path)))
        load = time.perf_counter() - started
        objects = len(restarted.backend.mailboxes) + len(restarted.backend.aliases)
        restarted.close()
        size_mb = path.stat().st_size / 1e6

    print(f"write requests at {args.size:,} mailboxes and {args.size:,} aliases (one webmail domain), "
          "median µs per in-process request")
    names = list(columns)
    print(f"  {'':15} " + "  ".join(f"{n:>18}" for n in names) + "   --state NORMAL / memory")
    for operation in columns[names[0]]:
        figures = [columns[n][operation] for n in names]
        ratio = figures[1] / figures[0]
        print(f"  {operation:15} " + "  ".join(f"{f * 1e6:18.0f}" for f in figures)
              + f"   {ratio:4.2f}x (goal ≤ {GOAL}x) {'ok' if ratio <= GOAL else 'MISSED'}")
    print(f"  a restart loads {objects:,} mailboxes and aliases from the file ({size_mb:.1f} MB) in {load:.2f} s")


if __name__ == "__main__":
    main()
