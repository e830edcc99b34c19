"""The fake's whole state: its stores, their indexes, the lock, and the context helpers.

Every store is a `Store` keyed by the row's natural key; its indexes are
declared here, once, so the rules never maintain one by hand. A row whose
indexed field changes goes through `Store.modify` or one of the helpers below.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

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
from ..store import KeyFunction, Store
from ..zones import SimulatedDNS

# The IMAP store of a mailbox created without `store`: the platform's own.
DEFAULT_STORE = "default"

# name -> (ordered, indexes); `ordered` where a listing gathers rows from several buckets.
SPECS: dict[str, tuple[bool, dict[str, KeyFunction]]] = {
    "users": (True, {
        "manager": lambda _, user: () if user.manager is None else (user.manager,),
        "identity": lambda _, user: user.identities,
    }),
    "allows": (True, {  # (user, domain) -> None
        "user": lambda key, _: (key[0],),
        "domain": lambda key, _: (key[1],),
    }),
    "domains": (True, {  # name -> domain; found too when it takes public aliases
        "public_alias": lambda _, domain: (True,) if domain.public_alias else (),
        "schema": lambda _, domain: () if domain.schema_name is None else (domain.schema_name,),
    }),
    "contexts": (False, {  # OX contexts by id
        "name": lambda _, context: (context.name,),
        "domain": lambda _, context: context.domains,
    }),
    "mailboxes": (False, {  # (domain, local part) -> Dovecot row
        "domain": lambda key, _: (key[0],),
        # Only the stores named: the default one's count is what the others leave (no bucket of every row).
        "store": lambda _, mailbox: () if mailbox.store is None else (mailbox.store,),
    }),
    "aliases": (False, {  # (domain, local part, destination)
        "domain": lambda key, _: (key[0],),
        "name": lambda key, _: (key[:2],),
        "destination": lambda key, _: (key[2],),
    }),
    "codes": (False, {  # login codes by code
        "mailbox": lambda _, code: ((code.domain, code.local),),
    }),
    "forwards": (False, {  # (domain, local part) -> Postfix forward
        "domain": lambda key, _: (key[0],),
    }),
    "public_aliases": (False, {  # (domain, local part) -> the one mailbox it delivers to
        "domain": lambda key, _: (key[0],),
        "destination": lambda _, alias: (alias.destination,),
    }),
    # system: rate-limit profiles by name, moves by domain, mailboxes still to move,
    # databases by name, queued mail by queue id.
    "rate_limits": (True, {}),
    "moves": (False, {}),
    "mailbox_moves": (False, {
        "domain": lambda key, _: (key[0],),
    }),
    "databases": (True, {
        "schema": lambda _, database: (database.schema_name,),
    }),
    "mailqueue": (True, {
        "address": lambda _, mail: ((mail.domain, mail.local),),
    }),
    # --- app passwords, secondary accounts, ProConnect identities
    "app_passwords": (False, {  # by uuid
        "mailbox": lambda _, app: ((app.domain, app.local),),
    }),
    "secondaries": (False, {  # (master domain, master local, secondary domain, secondary local)
        "master": lambda key, _: (key[:2],),
        "secondary": lambda key, _: (key[2:],),
    }),
    "identities": (False, {  # (proconnect, domain, local)
        "proconnect": lambda key, _: (key[0],),
        "mailbox": lambda key, _: (key[1:],),
    }),
    # --- logs: crash records by name, oldest first (no index: only read by name or listed whole)
    "crashes": (False, {}),
}
STORES = tuple(SPECS)


def new_store(name: str, rows: dict[Any, Any] | None = None) -> Store[Any, Any]:
    ordered, indexes = SPECS[name]
    return Store((rows or {}).items(), ordered=ordered, **indexes)


class State:
    """The stores of one fake dimail, and the lock every backend call holds."""

    users: Store[str, UserRecord]
    allows: Store[tuple[str, str], None]
    domains: Store[str, DomainRecord]
    contexts: Store[int, OxContext]
    mailboxes: Store[tuple[str, str], MailboxRecord]
    aliases: Store[tuple[str, str, str], AliasRecord]
    codes: Store[str, CodeRecord]
    forwards: Store[tuple[str, str], ForwardRecord]
    public_aliases: Store[tuple[str, str], PublicAliasRecord]
    rate_limits: Store[str, RateLimitRecord]
    moves: Store[str, MoveRecord]
    mailbox_moves: Store[tuple[str, str], MailboxMoveRecord]
    databases: Store[str, DatabaseRecord]
    mailqueue: Store[str, QueuedMail]
    app_passwords: Store[str, AppPasswordRecord]
    secondaries: Store[tuple[str, str, str, str], SecondaryRecord]
    identities: Store[tuple[str, str, str], IdentityRecord]
    crashes: Store[str, CrashRecord]

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.dns = SimulatedDNS()
        for name in STORES:
            setattr(self, name, new_store(name))
        # Told of every store put in place whole (`install`); set by `--state` (backend/persistence.py).
        self.on_install: Callable[[str], None] | None = None
        # Backend calls in progress in the lock holder's thread: changed rows are written when it drops to 0.
        self.depth = 0
        self.on_settle: Callable[[], None] | None = None
        # (the contexts store, its largest id, its size) when last seen: `_top_context_id`.
        self._top_context: tuple[Store[int, OxContext], int, int] | None = None

    def clear(self) -> None:
        for name in STORES:
            getattr(self, name).clear()
        self.dns.reset()

    def install(self, name: str, rows: dict[Any, Any]) -> None:
        """Put a whole store in place (tests restore deep copies of one)."""
        setattr(self, name, rows if isinstance(rows, Store) else new_store(name, rows))
        if self.on_install is not None:
            self.on_install(name)

    # --- OX contexts and the domains they map ----------------------------------

    def context_of(self, domain: str) -> OxContext | None:
        return self.contexts.first_by("domain", domain)

    def context_named(self, name: str | None) -> OxContext | None:
        return self.contexts.first_by("name", name)

    def new_context(self, name: str, admin_domain: str) -> OxContext:
        context = OxContext(id=self._top_context_id() + 1, name=name)
        # A new context comes with its administrator, who shows up in listings.
        context.users["oxadmin"] = OxUser("oxadmin", f"oxadmin@{admin_domain}", "Admin", "Context", "Context Admin")
        self.contexts[context.id] = context
        self._top_context = (self.contexts, context.id, len(self.contexts))
        return context

    def _top_context_id(self) -> int:
        """The largest context id (not the last one: a loaded state document may list contexts in any order),
        read from the store once, then kept while only `new_context` adds to it: no scan per new domain."""
        contexts, known = self.contexts, self._top_context
        if known is not None and known[0] is contexts and known[2] == len(contexts) and known[1] in contexts:
            return known[1]
        top = max(contexts, default=0)
        self._top_context = (contexts, top, len(contexts))
        return top

    def map_domain(self, domain: str, context: OxContext) -> None:
        self.contexts.modify(context.id, domains=[*context.domains, domain])

    def unmap_domain(self, domain: str, context: OxContext) -> None:
        domains = list(context.domains)
        domains.remove(domain)
        self.contexts.modify(context.id, domains=domains)

    def domain_ox_users(self, context: OxContext | None, domain: str) -> list[OxUser]:
        """A context's users with an address in `domain`, its administrator aside."""
        if context is None:
            return []
        return [u for u in context.users.rows_by("mail_domain", domain) if u.username != "oxadmin"]

    # --- rows that go together -------------------------------------------------

    def delete_mailbox(self, domain: str, local: str) -> None:
        """The Dovecot row and everything that hangs on the mailbox (its OX user is the caller's)."""
        mailbox = (domain, local)
        del self.mailboxes[mailbox]
        self.delete_by("codes", mailbox, "mailbox")
        self.delete_by("public_aliases", f"{local}@{domain}", "destination")
        self.delete_by("app_passwords", mailbox, "mailbox")
        self.delete_by("secondaries", mailbox, "master", "secondary")
        self.delete_by("identities", mailbox, "mailbox")
        self.mailbox_moves.pop(mailbox, None)

    def address_taken(self, domain: str, local: str) -> bool:
        """Something already receives mail for `local@domain`: a mailbox, an alias, a forward, a public alias
        (kept apart from the domain's aliases: guess G-public-aliases-apart)."""
        return (
            (domain, local) in self.mailboxes
            or self.aliases.count_by("name", (domain, local)) > 0
            or (domain, local) in self.forwards
            or (domain, local) in self.public_aliases
        )

    def delete_by(self, name: str, value: Any, *indexes: str) -> None:
        """Remove the rows of store `name` that any of `indexes` finds under `value` (what hangs on a deleted owner)."""
        store = getattr(self, name)
        for index in indexes:
            for key in store.keys_by(index, value):
                del store[key]

    def delete_user(self, name: str) -> None:
        self.delete_by("allows", name, "user")
        for managed in self.users.keys_by("manager", name):
            self.users.modify(managed, manager=None)
        del self.users[name]

    def all_indexes(self) -> dict[str, Any]:
        """Every index as kept, and as rebuilt from the rows: the two must be equal (tests)."""
        kept: dict[str, Any] = {}
        rebuilt: dict[str, Any] = {}
        for name in STORES:
            store = getattr(self, name)
            kept[name], rebuilt[name] = store.indexes(), store.rebuilt_indexes()
        for context in self.contexts.values():
            kept[f"context {context.id}"] = context.users.indexes()
            rebuilt[f"context {context.id}"] = context.users.rebuilt_indexes()
        return {"kept": kept, "rebuilt": rebuilt}


__all__ = ["DEFAULT_STORE", "STORES", "State", "new_store", "ox_users"]
