"""dimail's rule for list fields, as a model (no HTTP here): what `PATCH /users/{user}` makes of a user's
`perms`, `acls` and `identities` (CONTRACT.md §4.2).

- [spec] (UpdateUser): items that all begin with `+` or `-` add or remove, in order; items none of which
  does set the list;
- [inferred] a mix of both is refused: 422 `{"detail":"Cannot mix set and add/remove"}`, nothing changes,
  and an empty list sets the field empty;
- [inferred] (§3.6) a caller who is not an admin may not add a perm it does not hold: 403 `Permission
  denied`, nothing changes — judged after the lists (the 422 comes first);
- order and repetitions are not promised: lists compare as sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

FIELDS = ("perms", "acls", "identities")
MIXED = "Cannot mix set and add/remove"
DENIED = "Permission denied"

User = Mapping[str, frozenset[str]]


def signed(item: str) -> bool:
    return item[:1] in ("+", "-")


def edited(current: frozenset[str], change: Sequence[str]) -> tuple[frozenset[str] | None, str]:
    """The field after `change`, and the part of the rule that decided (None: refused as a mix)."""
    if change and all(signed(item) for item in change):
        result = set(current)
        for item in change:
            if item[0] == "+":
                result.add(item[1:])
            else:
                result.discard(item[1:])
        return frozenset(result), "every item signed: +x adds x, -x removes it, in order [spec]"
    if any(signed(item) for item in change):
        return None, f"signed and plain items mixed: 422 {MIXED!r} [inferred]"
    if not change:
        return frozenset(), "an empty list sets the field empty [inferred]"
    return frozenset(change), "no item signed: the list is set [spec]"


@dataclass(frozen=True)
class Outcome:
    status: int
    detail: str | None
    user: dict[str, frozenset[str]]
    why: dict[str, str]  # field -> the part of the rule that decided it ("" for the answer as a whole)


def patch(user: User, body: Mapping[str, Sequence[str]], caller_perms: frozenset[str] | None) -> Outcome:
    """What `PATCH /users/{user}` with `body` answers and leaves; `caller_perms` None for an admin."""
    after = dict(user)
    reasons = {name: "not sent: unchanged [spec]" for name in FIELDS}
    for name in FIELDS:
        if name not in body:
            continue
        value, why = edited(user[name], body[name])
        if value is None:
            return Outcome(422, MIXED, dict(user), {"": f"{name}: {why}"})
        after[name], reasons[name] = value, why
    gained = after["perms"] - user["perms"]
    if caller_perms is not None and gained - caller_perms:
        return Outcome(403, DENIED, dict(user), {"": f"perms: adds {sorted(gained - caller_perms)}, which the caller "
                                                     "does not hold: 403 [inferred, CONTRACT.md §3.6]"})
    return Outcome(200, None, after, {"": "the edits apply", **reasons})
