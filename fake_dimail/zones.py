"""The simulated DNS that the domain checks read instead of the Internet.

Records are written per zone in the very shape `GET /domains/{d}/spec`
returns (`target` relative to the zone, `""` for its apex, or an absolute
name ending with a dot), so publishing what dimail asks for is one call. Host
names in values are absolute, with or without the final dot (guess G-zone-names).

Lookups see every zone at once: a record published in one zone for an
absolute name elsewhere (a custom IMAP host, say) answers for that name, as
the customer's other zone would. A zone with no record does not exist; a zone
with at least one is taken to have its own name servers; no lookup ever goes
unanswered (guess G-no-dns: dimail's 5.5 s wait is not simulated).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .store import ADDED, CHANGED, CLEARED, REMOVED, Watcher

RecordType = Literal["mx", "cname", "txt", "ns"]
RECORD_TYPES: tuple[str, ...] = ("mx", "cname", "txt", "ns")
# The longest CNAME chain followed before giving up, like a resolver would.
MAX_CNAME_CHAIN = 8


@dataclass(frozen=True)
class Record:
    target: str
    type: str
    value: str


def normalise(name: str) -> str:
    """DNS names compare without case and without the final dot."""
    return name.rstrip(".").lower()


def absolute(name: str) -> str:
    """The name as dimail writes it in its messages: with the final dot."""
    return name if name.endswith(".") else name + "."


def owner(zone: str, target: str) -> str:
    if target.endswith("."):
        return normalise(target)
    return normalise(f"{target}.{zone}" if target else zone)


def mx_host(value: str) -> tuple[int, str]:
    """`"10 mx.example.net."` or `"mx.example.net."` (the form /spec gives, preference 0)."""
    preference, _, host = value.strip().partition(" ")
    if host and preference.isdigit():
        return int(preference), absolute(host.strip())
    return 0, absolute(value.strip())


class Resolver:
    """What the checks look names up in: every zone at once, kept up to date as zones change.

    Updated per zone (a change costs the records of the zones it touches, not of every
    zone), and read under the backend's lock like the rest of the state.
    """

    def __init__(self, zones: dict[str, list[Record]] | None = None) -> None:
        # owner name -> {zone: its records for that name}; a name a record or a zone makes exist -> how many
        self._by_name: dict[str, dict[str, list[Record]]] = {}
        self._names: dict[str, int] = {}
        self._order: dict[str, int] = {}  # zone -> when it was created: lookups list records in zone order
        self._created = 0
        for zone, records in (zones or {}).items():
            self.set_zone(zone, [], records)

    def set_zone(self, zone: str, old: list[Record], new: list[Record]) -> None:
        """Replace what `zone` contributed (`old`, as last given) by `new`."""
        if zone not in self._order:
            self._order[zone] = self._created
            self._created += 1
        for delta, records in ((-1, old), (1, new)):
            if not records:
                continue
            self._count(zone, delta)
            for record in records:
                self._count(owner(zone, record.target), delta)
        touched: dict[str, list[Record]] = {}
        for record in old:
            touched.setdefault(owner(zone, record.target), [])
        for record in new:
            touched.setdefault(owner(zone, record.target), []).append(record)
        for name, records in touched.items():
            by_zone = self._by_name.setdefault(name, {})
            if records:
                by_zone[zone] = records
            else:
                by_zone.pop(zone, None)
                if not by_zone:
                    del self._by_name[name]

    def forget(self, zone: str) -> None:
        """`zone` was removed: a later zone of that name comes after every other one."""
        self._order.pop(zone, None)

    def _count(self, name: str, delta: int) -> None:
        # A name with records makes its parents within reach exist too (empty non-terminals).
        labels = name.split(".")
        names = self._names
        for i in range(len(labels) - 1):
            suffix = ".".join(labels[i:])
            count = names.get(suffix, 0) + delta
            if count:
                names[suffix] = count
            else:
                del names[suffix]

    def exists(self, name: str) -> bool:
        return normalise(name) in self._names

    def values(self, name: str, rtype: str) -> list[str]:
        by_zone = self._by_name.get(normalise(name))
        if not by_zone:
            return []
        zones = sorted(by_zone, key=self._order.__getitem__) if len(by_zone) > 1 else by_zone
        return [r.value for zone in zones for r in by_zone[zone] if r.type == rtype]

    def cname(self, name: str) -> str | None:
        found = self.values(name, "cname")
        return absolute(found[0].strip()) if found else None

    def mx(self, name: str) -> list[str] | None:
        """MX hosts by preference (ties: publication order), following CNAMEs; None: the name does not exist."""
        for _ in range(MAX_CNAME_CHAIN):
            if not self.exists(name):
                return None
            hosts = self.values(name, "mx")
            if hosts:
                return [host for _, host in sorted((mx_host(v) for v in hosts), key=lambda pair: pair[0])]
            target = self.cname(name)
            if target is None:
                return []
            name = target
        return []


class SimulatedDNS:
    """Every zone the fake knows, by zone name. Not dimail's: deleting a domain leaves its zone."""

    def __init__(self) -> None:
        self._zones: dict[str, list[Record]] = {}
        self._resolver = Resolver()  # kept up to date zone by zone
        self._watcher: Watcher | None = None

    def watch(self, watcher: Watcher | None) -> None:
        """Tell `watcher(zone, event)` of every later change, as a watched `Store` does."""
        self._watcher = watcher

    def reset(self) -> None:
        self._zones.clear()
        self._resolver = Resolver()
        if self._watcher is not None:
            self._watcher(None, CLEARED)

    def zone(self, name: str) -> list[Record]:
        return list(self._zones.get(normalise(name), []))

    def set_zone(self, name: str, records: Iterable[Record]) -> list[Record]:
        key = normalise(name)
        event = CHANGED if key in self._zones else ADDED
        old = self._zones.get(key, [])
        self._zones[key] = list(records)
        self._resolver.set_zone(key, old, self._zones[key])
        if self._watcher is not None:
            self._watcher(key, event)
        return self.zone(name)

    def clear(self, name: str) -> None:
        key = normalise(name)
        old = self._zones.pop(key, None)
        if old is None:
            return
        self._resolver.set_zone(key, old, [])
        self._resolver.forget(key)
        if self._watcher is not None:
            self._watcher(key, REMOVED)

    def records(self, zone: str) -> list[Record] | None:
        """A zone's records as kept, empty or not; None: no such zone (what `--state` writes)."""
        return self._zones.get(zone)

    def all_zones(self) -> dict[str, list[Record]]:
        """Every zone as kept, empty ones included, in their order."""
        return dict(self._zones)

    def zones(self) -> dict[str, list[Record]]:
        return {name: list(records) for name, records in self._zones.items() if records}

    def resolver(self) -> Resolver:
        return self._resolver
