"""What one operation costs as the fake fills up: 1k, 10k and 100k mailboxes (and as many aliases).

    .venv/bin/python benchmarks/scale.py [--sizes 1000,10000,100000] [--repeat N]

Three shapes: one webmail domain (every mailbox is also an OX user of its
context), one mailbox-only domain, and 1,000 webmail domains each with its
own context. Operations go through the backend's public methods, as the routes
call them; the webmail listing of 10,000 mailboxes is timed through the
in-process client too. Each figure is printed beside its goal: an operation
at 100k costs at most 1.2x what it costs at 1k; a listing costs what it lists,
so listing a 100-mailbox domain costs the same whatever else the fake holds.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable

from fake_dimail import FakeDimail, models
from fake_dimail.backend import Backend
from fake_dimail.records import Caller
import goals

ADMIN = Caller("admin", True)
SHAPES = ("one webmail domain", "one mailbox-only domain", "1,000 webmail domains")
DOMAIN_COUNT = 1000
FLAT_RATIO = 1.2
LISTING_GOAL_MS = 150.0
MEMORY_GOAL = 1024


def domain_names(shape: str) -> list[str]:
    return [f"d{i}.example.fr" for i in range(DOMAIN_COUNT)] if shape == SHAPES[2] else ["example.fr"]


PROBE, PROBE_SIZE = "probe.example.fr", 100


def fill(backend: Backend, shape: str, size: int) -> list[str]:
    """`size` mailboxes, each with an alias, spread over the shape's domains; and a probe domain of
    100 mailboxes whose listing must not cost more when the rest of the fake grows."""
    names = domain_names(shape)
    features = ["mailbox", "alias"] if shape == SHAPES[1] else ["webmail", "mailbox", "alias"]
    for name in [*names, PROBE]:
        body = models.CreateDomain.model_validate(
            {"name": name, "features": features, "context_name": name, "delivery": "virtual"}
        )
        backend.create_domain(ADMIN, body, check=False)
    for i in range(size):
        domain = names[i % len(names)]
        backend.create_mailbox(ADMIN, domain, f"m{i}", models.CreateMailbox(givenName="Given", surName=f"Sur{i}"))
        backend.create_alias(ADMIN, domain, models.CreateAlias(user_name=f"a{i}", destination=f"m{i}@{domain}"))
    for i in range(PROBE_SIZE):
        backend.create_mailbox(ADMIN, PROBE, f"p{i}", models.CreateMailbox(givenName="Probe", surName=f"Sur{i}"))
    return names


def timed(action: Callable[[int], object], repeat: int) -> float:
    """Median seconds of `action(i)` over `repeat` distinct i."""
    samples = []
    for i in range(repeat):
        started = time.perf_counter()
        action(i)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def operations(backend: Backend, names: list[str], repeat: int) -> dict[str, float]:
    domain = names[-1]  # in the 1,000-domain shape, one domain among many
    figures: dict[str, float] = {}
    new = lambda i: models.CreateMailbox(givenName="New", surName=f"Person{i}")  # noqa: E731
    figures["mailbox create"] = timed(lambda i: backend.create_mailbox(ADMIN, domain, f"new{i}", new(i)), repeat)
    figures["mailbox get"] = timed(lambda i: backend.get_mailbox(ADMIN, domain, f"new{i}"), repeat)
    figures["mailbox patch"] = timed(
        lambda i: backend.update_mailbox(ADMIN, domain, f"new{i}", models.UpdateMailbox(displayName=f"Renamed {i}")),
        repeat,
    )
    figures["mailbox delete"] = timed(lambda i: backend.delete_mailbox(ADMIN, domain, f"new{i}"), repeat)
    alias = lambda i: models.CreateAlias(user_name=f"new{i}", destination="x@elsewhere.fr")  # noqa: E731
    figures["alias create"] = timed(lambda i: backend.create_alias(ADMIN, domain, alias(i)), repeat)
    figures["alias get"] = timed(lambda i: backend.list_aliases(ADMIN, domain, f"new{i}", "x@elsewhere.fr"), repeat)
    figures["alias patch"] = timed(
        lambda i: backend.update_alias(ADMIN, domain, f"new{i}", "x@elsewhere.fr", models.UpdateAlias(allow_to_send=True)),
        repeat,
    )
    figures["alias delete"] = timed(lambda i: backend.delete_alias(ADMIN, domain, f"new{i}", "x@elsewhere.fr"), repeat)
    figures["address"] = timed(lambda i: backend.address(ADMIN, domain, f"m{i}"), repeat)
    for i in range(repeat):
        backend.create_user(ADMIN, models.CreateUser(name=f"u{i}", password="no", is_admin=False, perms=[]))
    figures["allow create"] = timed(
        lambda i: backend.create_allow(ADMIN, models.Allowed(user=f"u{i}", domain=domain)), repeat
    )
    figures["allow delete"] = timed(lambda i: backend.delete_allow(ADMIN, domain, f"u{i}"), repeat)
    figures["list 100"] = timed(lambda i: backend.list_mailboxes(ADMIN, PROBE), max(3, repeat // 20))
    return figures


def listing(backend: Backend, names: list[str]) -> tuple[int, float]:
    """A whole domain's v1 listing (the last domain's, in the 1,000-domain shape): count and median of 3."""
    samples, count = [], 0
    for _ in range(3):
        started = time.perf_counter()
        count = len(backend.list_mailboxes(ADMIN, names[-1]))
        samples.append(time.perf_counter() - started)
    return count, statistics.median(samples)


def perms_patch(items: int) -> float:
    """`PATCH /users/{u}` with `items` distinct `+perm` items (dimail's list edit), median of 3."""
    body = models.UpdateUser(perms=[f"+p{i}" for i in range(items)])
    samples = []
    for _ in range(3):
        backend = Backend()
        backend.create_user(ADMIN, models.CreateUser(name="u", password="no", is_admin=False, perms=[]))
        started = time.perf_counter()
        backend.update_user(ADMIN, "u", body)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def memory_per_mailbox(shape: str, count: int) -> float:
    backend = Backend()
    names = domain_names(shape)[:1]
    features = ["mailbox"] if shape == SHAPES[1] else ["webmail", "mailbox"]
    body = models.CreateDomain.model_validate(
        {"name": names[0], "features": features, "context_name": names[0], "delivery": "virtual"}
    )
    backend.create_domain(ADMIN, body, check=False)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(count):
        backend.create_mailbox(ADMIN, names[0], f"m{i}", models.CreateMailbox(givenName="Given", surName=f"Sur{i}"))
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return used / count


def client_listing(size: int) -> float:
    """The webmail listing through the in-process HTTP client (auth, routing, JSON), median of 3."""
    fake = FakeDimail(seed="people-dev")
    names = fill(fake.backend, SHAPES[0], size)
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"})
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        response = api.get(f"/domains/{names[0]}/mailboxes/")
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200 and len(response.json()) == size + 1, response.status_code
    return statistics.median(samples)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="mailbox counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per operation and size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.perf_counter()

    for shape in SHAPES:
        table: dict[str, list[float]] = {}
        listings: list[tuple[int, float]] = []
        for size in sizes:
            backend = Backend()
            names = fill(backend, shape, size)
            for name, seconds in operations(backend, names, args.repeat).items():
                table.setdefault(name, []).append(seconds)
            listings.append(listing(backend, names))
            del backend
            gc.collect()
        print(f"\n{shape}: median µs per call at " + " / ".join(f"{s:,}" for s in sizes) + " mailboxes")
        for name, figures in table.items():
            ratio = figures[-1] / figures[0]
            cells = " / ".join(f"{f * 1e6:7.1f}" for f in figures)
            print(f"  {name:15} {cells}   {ratio:4.2f}x  (goal ≤ {FLAT_RATIO}x) {verdict(ratio <= FLAT_RATIO)}")
            goals.record(f"{name} at {sizes[-1]:,} ÷ at {sizes[0]:,} ({shape})", f"{ratio:.2f}×", f"≤ {FLAT_RATIO}×",
                         ratio <= FLAT_RATIO)
        # No goal: its length grows with the store; "list 100" above is the cost-per-listed-item test.
        cells = " / ".join(f"{count:,} in {seconds * 1000:.1f} ms ({seconds / count * 1e6:.1f} µs each)"
                           for count, seconds in listings)
        print(f"  {'whole listing':15} {cells}")

    print("\nuser PATCH with +perm items (linear: time per item flat)")
    patches = [(n, perms_patch(n)) for n in (4_000, 40_000)]
    for n, seconds in patches:
        print(f"  {n:6,} items: {seconds * 1000:7.1f} ms")
    ratio = (patches[-1][1] / patches[-1][0]) / (patches[0][1] / patches[0][0])
    print(f"  per item at 40k vs 4k: {ratio:.2f}x (goal ≤ 1.5x) {verdict(ratio <= 1.5)}")
    goals.record("user PATCH +perm: per item at 40k ÷ at 4k", f"{ratio:.2f}×", "≤ 1.5× (linear)", ratio <= 1.5)

    print("\nwebmail domain listing of 10,000 mailboxes")
    seconds = client_listing(10_000)
    print(f"  GET /domains/{{d}}/mailboxes/ in-process: {seconds * 1000:.0f} ms "
          f"(goal ≤ {LISTING_GOAL_MS:.0f} ms) {verdict(seconds * 1000 <= LISTING_GOAL_MS)}")
    goals.record("webmail listing of 10,000 mailboxes, in-process", f"{seconds * 1000:.0f} ms",
                 f"≤ {LISTING_GOAL_MS:.0f} ms", seconds * 1000 <= LISTING_GOAL_MS)

    print("\nmemory per mailbox (tracemalloc, 10,000 mailboxes)")
    for shape in SHAPES[:2]:
        used = memory_per_mailbox(shape, 10_000)
        print(f"  {shape}: {used:.0f} bytes (goal ≤ {MEMORY_GOAL}) {verdict(used <= MEMORY_GOAL)}")
        goals.record(f"memory per mailbox ({shape})", f"{used:.0f} B", f"≤ {MEMORY_GOAL} B", used <= MEMORY_GOAL)
    print(f"\nran in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
