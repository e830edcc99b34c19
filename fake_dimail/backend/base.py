"""What every family's rules share: the state, the lock, rights, and a few pure helpers."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .. import errors
from ..records import Caller, DomainRecord, UserRecord
from ..zones import SimulatedDNS
from . import snapshot
from .state import State

if TYPE_CHECKING:
    from .persistence import StateFile

BOOTSTRAP_USER = "FAKE"
NEW_DOMAIN, CREATE_USERS, MANAGE_USERS = "new_domain", "create_users", "manage_users"
NO_PASSWORD = "no"

T = TypeVar("T")


@contextlib.contextmanager
def settled(state: State) -> Iterator[None]:
    """Hold the lock; when the outermost such block ends, what it changed is made durable (`--state`)
    before anyone else can read it, so nothing answered is ever missing from the file."""
    with state.lock:
        state.depth += 1
        try:
            yield
        finally:
            state.depth -= 1
            if state.depth == 0 and state.on_settle is not None:
                state.on_settle()


def atomic(method: Callable[..., T]) -> Callable[..., T]:
    """Serialise backend calls: the in-process client and steering may run in other threads."""

    @functools.wraps(method)
    def locked(self: Base, *args: Any, **kwargs: Any) -> T:
        state = self.state
        with state.lock:  # `settled`, inlined: a generator's cost would show on every call
            state.depth += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                state.depth -= 1
                if not state.depth and state.on_settle is not None:
                    state.on_settle()

    return locked


def hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    return salt + "$" + hashlib.sha256((salt + password).encode()).hexdigest()


def verify_password(password: str, stored: str | None) -> bool:
    if stored is None:
        return False
    salt, _, digest = stored.partition("$")
    return secrets.compare_digest(hashlib.sha256((salt + password).encode()).hexdigest(), digest)


def new_password() -> str:
    # 12 random bytes give 16 URL-safe characters, the shape dimail generates.
    return secrets.token_urlsafe(12)


def apply_list_change(current: list[str], change: list[str]) -> list[str]:
    """dimail's list update rule: all items `+x`/`-x` edit, none of them set (guess G-list-mix: a mix is 422).

    Editing behaves as list.append/list.remove would, in one pass.
    """
    signed = [item[:1] in ("+", "-") for item in change]
    if change and all(signed):
        if len(set(current)) < len(current):
            return _edit_with_duplicates(current, change)
        # Without duplicates, an insertion-ordered dict is the list, with O(1) membership.
        result = dict.fromkeys(current)
        for item in change:
            if item[0] == "+":
                result.setdefault(item[1:])
            else:
                result.pop(item[1:], None)
        return list(result)
    if any(signed):
        raise errors.unprocessable(errors.CANNOT_MIX_SET_AND_CHANGE)
    return list(dict.fromkeys(change))


def _edit_with_duplicates(current: list[str], change: list[str]) -> list[str]:
    """A `-x` takes out the first copy of x only: each value's places are kept, removed ones marked."""
    # guess G-list-repeats: the sources are silent on repetitions (only a loaded state holds any).
    items = list(current)
    alive = [True] * len(items)
    places: dict[str, deque[int]] = {}
    for place, value in enumerate(items):
        places.setdefault(value, deque()).append(place)
    for item in change:
        value = item[1:]
        found = places.get(value)
        if item[0] == "-":
            if found:
                alive[found.popleft()] = False
        elif not found:
            places[value] = deque([len(items)])
            items.append(value)
            alive.append(True)
    return [value for value, kept in zip(items, alive) if kept]


def _store(name: str) -> property:
    """`backend.<store>`: the state's store, readable (and replaceable) as before the package."""

    def get(self: Base) -> Any:
        return getattr(self.state, name)

    def put(self: Base, rows: Any) -> None:
        self.state.install(name, rows)

    return property(get, put, doc=f"The `{name}` store (a dict by natural key).")


class Base:
    def __init__(
        self, clock: Callable[[], float] = time.time, dns_auto: bool = False, certs_on_check: bool = False
    ) -> None:
        self.state = State()
        self.clock = clock
        # Configuration, kept across reset(): publish every new domain's /spec in the simulated
        # DNS at creation; let new domains get their certificate during /check, not only /fix.
        self.dns_auto = dns_auto
        self.certs_on_check = certs_on_check
        self.state_file: StateFile | None = None

    users = _store("users")
    allows = _store("allows")
    domains = _store("domains")
    contexts = _store("contexts")
    mailboxes = _store("mailboxes")
    aliases = _store("aliases")
    codes = _store("codes")
    forwards = _store("forwards")
    public_aliases = _store("public_aliases")
    rate_limits = _store("rate_limits")
    moves = _store("moves")
    mailbox_moves = _store("mailbox_moves")
    databases = _store("databases")
    mailqueue = _store("mailqueue")
    crashes = _store("crashes")

    @property
    def dns(self) -> SimulatedDNS:
        return self.state.dns

    @property
    def _lock(self) -> Any:
        return self.state.lock

    @atomic
    def reset(self) -> None:
        """Back to an empty dimail: no user at all, so bootstrap mode (CONTRACT.md §2.5)."""
        self.state.clear()

    @atomic
    def snapshot(self) -> dict[str, Any]:
        """Every store as plain JSON-able data, read under the lock (see `snapshot.dump`)."""
        return snapshot.dump(self.state)

    @atomic
    def load(self, document: dict[str, Any]) -> None:
        """Replace the whole state with a `snapshot()` document."""
        snapshot.load(self.state, document)

    def keep_in(self, path: str | Path) -> bool:
        """Keep the state in a SQLite file from now on (`--state`), loading what it holds first:
        True if it held a state. A file that cannot be used raises `StateFileError`, untouched."""
        from .persistence import StateFile

        with settled(self.state):
            if self.state_file is not None:
                self.state_file.close()
            self.state_file, loaded = StateFile.open(self.state, path)
        return loaded

    # --- rights (CONTRACT.md §3) -------------------------------------------

    def _is_allowed(self, caller: Caller, domain: str) -> bool:
        return caller.is_admin or (caller.name, domain) in self.state.allows

    @staticmethod
    def _has(caller: Caller, perm: str) -> bool:
        return caller.is_admin or perm in caller.perms

    @staticmethod
    def _manages(caller: Caller, user: UserRecord) -> bool:
        return user.manager == caller.name and MANAGE_USERS in caller.perms

    @staticmethod
    def _require_admin(caller: Caller) -> None:
        if not caller.is_admin:
            raise errors.forbidden()

    @atomic
    def require_admin(self, caller: Caller) -> None:
        """For what the app answers itself, not the state: `GET /logs/` (the request journal), `shutdown`."""
        self._require_admin(caller)

    def _require_allowed(self, caller: Caller, domain: str, detail: str = errors.PERMISSION_DENIED) -> None:
        if not self._is_allowed(caller, domain):
            raise errors.forbidden(detail)
        self._refuse_moving(domain)

    def _refuse_moving(self, domain: str) -> None:
        """410 for a moving domain, on the operations declaring it, right after the rights (CONTRACT.md §4;
        guess G-410)."""
        if domain in self.state.moves and errors.MOVING_DECLARED.get():
            raise errors.ApiError(410, errors.DOMAIN_MOVING)

    def _domain(self, name: str) -> DomainRecord:
        domain = self.state.domains.get(name)
        if domain is None:
            raise errors.not_found(errors.DOMAIN_NOT_FOUND)
        return domain
