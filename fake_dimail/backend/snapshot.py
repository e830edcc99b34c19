"""The whole state as one plain JSON-able document, and back.

`dump` is what `FakeDimail.state()` returns and what a `GET /_fake/state`
can serve; `load` puts such a document back (a `PUT /_fake/state`). Rows keep
their store order, which is the order every listing follows.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

from .. import errors
from ..records import (
    AliasRecord,
    AppPasswordRecord,
    CodeRecord,
    CrashRecord,
    DatabaseRecord,
    DomainRecord,
    ForwardRecord,
    MailboxMoveRecord,
    IdentityRecord,
    MailboxRecord,
    MoveRecord,
    OxContext,
    OxUser,
    PublicAliasRecord,
    QueuedMail,
    RateLimitRecord,
    SecondaryRecord,
    UserRecord,
    ox_users,
)
from ..models import DnsRecord
from ..zones import Record
from . import consistency
from .state import State, new_store

# store -> (row type, the row's natural key)
ROWS: dict[str, tuple[type, Callable[[Any], Any]]] = {
    "users": (UserRecord, lambda row: row.name),
    "domains": (DomainRecord, lambda row: row.name),
    "mailboxes": (MailboxRecord, lambda row: (row.domain, row.local)),
    "aliases": (AliasRecord, lambda row: (row.domain, row.local, row.destination)),
    "codes": (CodeRecord, lambda row: row.code),
    "forwards": (ForwardRecord, lambda row: (row.domain, row.local)),
    "public_aliases": (PublicAliasRecord, lambda row: (row.domain, row.local)),
    "rate_limits": (RateLimitRecord, lambda row: row.name),
    "moves": (MoveRecord, lambda row: row.domain),
    "mailbox_moves": (MailboxMoveRecord, lambda row: (row.domain, row.local)),
    "databases": (DatabaseRecord, lambda row: row.name),
    "mailqueue": (QueuedMail, lambda row: row.queue_id),
    # --- app passwords, secondary accounts, ProConnect identities
    "app_passwords": (AppPasswordRecord, lambda row: row.uuid),
    "secondaries": (SecondaryRecord, lambda row: (row.domain, row.local, row.secondary_domain, row.secondary_local)),
    "identities": (IdentityRecord, lambda row: (row.proconnect, row.domain, row.local)),
    "crashes": (CrashRecord, lambda row: row.name),
}


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _whole(_: Any, row: Any) -> dict[str, Any]:
    return plain(row)  # type: ignore[no-any-return]


# store -> how one of its rows is written, in the document and in a `--state` file: (key, row) -> plain data.
# Document order is this order.
ENCODERS: dict[str, Callable[[Any, Any], dict[str, Any]]] = {
    **{name: _whole for name in ROWS},
    "allows": lambda key, _: {"user": key[0], "domain": key[1]},
    "contexts": lambda _, c: {"id": c.id, "name": c.name, "domains": list(c.domains)},
}
# store -> the fields of its rows that are stores of their own, written inside the row as lists of
# `plain` rows (a context's OX users); a `--state` file keeps them as rows of their own.
NESTED: dict[str, tuple[str, ...]] = {"contexts": ("users",)}


def encode(name: str, key: Any, row: Any) -> dict[str, Any]:
    """One row of store `name` as the document holds it, its nested stores included."""
    entry = ENCODERS[name](key, row)
    for field in NESTED.get(name, ()):
        entry[field] = [plain(child) for child in getattr(row, field).values()]
    return entry


def dump(state: State) -> dict[str, Any]:
    document: dict[str, Any] = {
        name: [encode(name, key, row) for key, row in getattr(state, name).items()] for name in ENCODERS
    }
    document["zones"] = plain(state.dns.zones())
    return document


@cache
def _adapter(row: type) -> Any:
    # pydantic (already the models' validator) rebuilds the rows: sets, UUIDs and tuples come back typed.
    from pydantic import TypeAdapter

    return TypeAdapter(list[row])  # type: ignore[valid-type]


@cache
def _parts() -> tuple[str, ...]:
    # What a document may hold: whatever `dump` writes, so a store added there is accepted here.
    return tuple(dump(State()))


def _validated(name: str, row_type: type, rows: Any) -> list[Any]:
    from pydantic import ValidationError

    try:
        return _adapter(row_type).validate_python(rows)
    except ValidationError as error:
        first = error.errors()[0]
        place = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"])
        raise ValueError(errors.state_problem(name + place, first["msg"])) from None


@dataclasses.dataclass
class _Allow:
    user: str
    domain: str


def _first_repeated(keys: Any) -> Any:
    seen: set[Any] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)


def load(state: State, document: dict[str, Any]) -> None:
    """Replace the whole state with a `dump`ed document; a bad document raises ValueError before anything changes."""
    unknown = [key for key in document if key not in _parts()]
    if unknown:
        raise ValueError(errors.state_problem(unknown[0], "no such part (expected: " + ", ".join(_parts()) + ")"))
    try:
        stores, zones = _parse(document)
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"not a fake-dimail state document: {error!r}") from None
    problem = consistency.first_problem(document, stores)
    if problem is not None:
        raise ValueError(problem)
    for name, store in stores.items():
        state.install(name, store)
    state.dns.reset()
    for zone, records in zones.items():
        state.dns.set_zone(zone, records)


def _parse(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[Record]]]:
    stores: dict[str, Any] = {}
    for name, (row_type, key) in ROWS.items():
        rows = _validated(name, row_type, document.get(name, []))
        keyed = {key(row): row for row in rows}
        if len(keyed) < len(rows):
            raise ValueError(errors.state_problem(name, f"two rows for {_first_repeated(map(key, rows))!r}"))
        stores[name] = new_store(name, keyed)
    allows = _validated("allows", _Allow, document.get("allows", []))
    stores["allows"] = new_store("allows", {(a.user, a.domain): None for a in allows})
    users = _adapter(OxUser)
    stores["contexts"] = new_store("contexts", {
        int(c["id"]): OxContext(
            int(c["id"]), str(c["name"]), [str(d) for d in c.get("domains", [])],
            ox_users({u.username: u for u in users.validate_python(c.get("users", []))}),
        )
        for c in document.get("contexts", [])
    })
    # Checked as `PUT /_fake/dns/{name}` checks them: a type the resolver does not know would crash later reads.
    zones = {
        str(zone): [Record(r.target, r.type.value, r.value) for r in _validated(f"zones.{zone}", DnsRecord, records)]
        for zone, records in document.get("zones", {}).items()
    }
    return stores, zones
