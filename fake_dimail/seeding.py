"""Seeding from Python: what a test factory creates, mirrored in the fake in one line.

Each function goes through the backend's own operations, as an admin's
request would (so the state is one the HTTP API could have produced), but
without HTTP and without a journal entry. Each is idempotent: a second
identical call changes nothing; a call the API would refuse, or one that
contradicts what exists, raises `SeedError` and changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from . import models
from .backend.base import BOOTSTRAP_USER, settled
from .errors import ApiError, ServerCrash
from .records import EXTERNAL_CHECKS, INTERNAL_CHECKS, Caller
from .seeds import UserSeed

if TYPE_CHECKING:
    from .backend import Backend

# Who seeding (and the control plane's check and fix) acts as: an administrator.
ADMIN = Caller(BOOTSTRAP_USER, is_admin=True)

STATUSES = ("ok", "broken", "new")
DEFAULT_FEATURES = ("webmail", "mailbox", "alias")


class SeedError(ValueError):
    """What was asked cannot be seeded: the API would refuse it, or it contradicts what exists."""


def _refused(what: str, exc: ApiError) -> SeedError:
    return SeedError(f"{what}: dimail would refuse it: {exc.status} {exc.detail}")


# A record of the published /spec that, once removed, makes this external check fail alone.
def _without(check: str, records: list[models.DnsRecord]) -> list[models.DnsRecord]:
    if check == "domain_exist":
        return []
    drop = {
        "mx": lambda r: r.type.value == "mx",
        "cname_imap": lambda r: r.type.value == "cname" and r.target == "imap",
        "cname_smtp": lambda r: r.type.value == "cname" and r.target == "smtp",
        "cname_webmail": lambda r: r.type.value == "cname" and r.target == "webmail",
        "spf": lambda r: r.type.value == "txt" and r.value.startswith("v=spf1"),
        "dkim": lambda r: r.type.value == "txt" and r.target.endswith("_domainkey"),
    }[check]
    return [r for r in records if not drop(r)]


T = TypeVar("T")


def _whole(method: Callable[..., T]) -> Callable[..., T]:
    """A seeding call of several backend calls is one write of a `state_file`: never half of it."""

    @functools.wraps(method)
    def settling(self: Seeding, *args: Any, **kwargs: Any) -> T:
        with settled(self.backend.state):
            return method(self, *args, **kwargs)

    return settling


class Seeding:
    """`FakeDimail`'s seeding methods, each acting as an admin's request would."""

    backend: Backend
    _root: Caller = ADMIN

    def seed(self, users: Iterable[UserSeed]) -> None:
        for user in users:
            self.add_user(user.name, user.password, user.is_admin, user.perms)

    @_whole
    def add_user(self, name: str, password: str = "password", is_admin: bool = False,
                 perms: Iterable[str] = ()) -> models.User:
        """An API user, as an admin's `POST /users/` would create it."""
        backend, perms = self.backend, list(dict.fromkeys(perms))
        existing = backend.users.get(name)
        if existing is not None:
            if existing.is_admin != is_admin or existing.perms != perms or not self._password_ok(name, password):
                raise SeedError(f"user {name} exists with other settings; delete it first to seed it otherwise")
            return backend.get_user(self._root, name)
        try:
            body = models.CreateUser(name=name, password=password, is_admin=is_admin, perms=perms)
            return backend.create_user(self._root, body)
        except ApiError as exc:
            raise _refused(f"user {name}", exc) from None
        except ValueError as exc:  # pydantic's: what dimail would answer 422 to
            raise SeedError(f"user {name}: {exc}") from None

    def _password_ok(self, name: str, password: str) -> bool:
        try:
            self.backend.authenticate_basic(name, password)
        except ApiError:
            return False
        return True

    @_whole
    def add_domain(
        self,
        name: str,
        *,
        features: Iterable[str] = DEFAULT_FEATURES,
        context_name: str | None = None,
        allowed: Iterable[str] = (),
        status: str = "ok",
        delivery: str = "virtual",
        failing: Iterable[str] | None = None,
        fixable: bool = True,
    ) -> models.Domain:
        """A domain as People creates it (OX context named after it), in the state asked:

        `ok`: valid and active, its zone published, its certificate issued (People: enabled);
        `broken`: checked, with `failing` checks failing (default: nothing published, so
        `must_exist` alone); internal ones stay broken after /fix with `fixable=False`;
        `new`: created, never checked (People: pending).
        """
        backend = self.backend
        wanted, failing, allowed = list(dict.fromkeys(features)), list(failing or ()), list(allowed)
        if status not in STATUSES:
            raise SeedError(f"status {status!r}: choose one of {', '.join(STATUSES)}")
        if any(c not in EXTERNAL_CHECKS + INTERNAL_CHECKS for c in failing) or (failing and status != "broken"):
            raise SeedError(f"failing={failing!r}: only with status='broken', among "
                            f"{', '.join(EXTERNAL_CHECKS + INTERNAL_CHECKS)}")
        missing = [u for u in allowed if u not in backend.users]
        if missing:
            raise SeedError(f"allowed={missing!r}: no such dimail user; add_user() it first")
        if "webmail" in wanted and context_name is None:
            context_name = name  # what People sends
        existing = backend.domains.get(name)
        if existing is not None:
            if existing.features != wanted or existing.delivery != delivery:
                raise SeedError(f"domain {name} exists with features {existing.features} and delivery "
                                f"{existing.delivery!r}; delete it first to seed it otherwise")
        else:
            try:
                body = models.CreateDomain(name=name, features=wanted, delivery=delivery, context_name=context_name)
                backend.create_domain(self._root, body, check=False)
            except ApiError as exc:
                raise _refused(f"domain {name}", exc) from None
            except ValueError as exc:
                raise SeedError(f"domain {name}: {exc}") from None
            self._set_status(name, status, failing, fixable)
        for user in allowed:
            self.allow(user, name)
        return backend.get_domain(self._root, name)

    def _set_status(self, name: str, status: str, failing: list[str], fixable: bool) -> None:
        backend, root = self.backend, self._root
        if status == "new":
            return
        records = backend.publish(name)
        external = [c for c in failing if c in EXTERNAL_CHECKS]
        for check in external:
            records = _without(check, records)
        if external:
            backend.set_dns_zone(name, records)
        backend.fix_domain(root, name)  # issues the certificate, as People's /fix/ would
        internal = [c for c in failing if c in INTERNAL_CHECKS]
        if internal:
            backend.set_platform(name, models.PlatformChange(
                broken=[c for c in internal if c != "cert"] or None,
                certificate=False if "cert" in internal else None,
                unfixable=None if fixable else internal,
            ))
        if status == "broken" and not failing:
            backend.clear_dns_zone(name)  # nobody set the zone up: `must_exist` alone, as a new domain
        backend.check_domain(root, name)

    @_whole
    def allow(self, user: str, domain: str) -> None:
        """Let `user` manage `domain`, as `POST /allows/` would."""
        if (user, domain) in self.backend.allows:
            return
        try:
            self.backend.create_allow(self._root, models.Allowed(user=user, domain=domain))
        except ApiError as exc:
            raise _refused(f"allow {user} on {domain}", exc) from None

    @_whole
    def add_mailbox(self, domain: str, local: str, *, given_name: str = "Jean", sur_name: str = "Dupont",
                    display_name: str | None = None, active: bool = True, password: str | None = None) -> str | None:
        """A mailbox as People's v1 call creates it. Returns its password: the one given, else
        dimail's generated one (None on a repeated call, which sets nothing)."""
        backend, root = self.backend, self._root
        display_name = display_name if display_name is not None else f"{given_name} {sur_name}"
        what = f"mailbox {local}@{domain}"
        if (domain, local) in backend.mailboxes:
            current = backend.get_mailbox(root, domain, local)
            names = (current.givenName, current.surName, current.displayName)
            if names not in ((given_name, sur_name, display_name), (None, None, None)) or (
                    current.active.value != ("yes" if active else "no")):
                raise SeedError(f"{what} exists with other names or activity; delete it first to seed it otherwise")
            if password is not None and not backend.check_password(root, domain, local, password):
                raise SeedError(f"{what} exists with another password; delete it first to seed it otherwise")
            return password
        try:
            body = models.CreateMailbox(givenName=given_name, surName=sur_name, displayName=display_name)
            created = backend.create_mailbox(root, domain, local, body)
        except ApiError as exc:
            raise _refused(what, exc) from None
        except ServerCrash:
            raise SeedError(f"{what}: user name {local!r} or display name {display_name!r} is already used in "
                            "the domain's OX context (dimail answers 500); choose another display_name") from None
        except ValueError as exc:
            raise SeedError(f"{what}: {exc}") from None
        if password is not None:
            backend.force_password(root, domain, local, models.MailboxForcePassword(password=password))
        if not active:
            backend.update_mailbox(root, domain, local, models.UpdateMailbox(active=models.MailboxActive.no))
        return password if password is not None else created.password

    @_whole
    def add_alias(self, domain: str, local: str, destination: str) -> models.Alias:
        """`local@domain` delivered to `destination`, as `POST /domains/{d}/aliases/` would."""
        backend, root = self.backend, self._root
        if domain not in backend.domains:
            raise SeedError(f"alias {local}@{domain}: no such domain; add_domain() it first")
        try:
            if (domain, local, destination) in backend.aliases:
                return backend.list_aliases(root, domain, local, destination)[0]
            return backend.create_alias(root, domain, models.CreateAlias(user_name=local, destination=destination))
        except ApiError as exc:
            raise _refused(f"alias {local}@{domain} to {destination}", exc) from None
        except ValueError as exc:
            raise SeedError(f"alias {local}@{domain}: {exc}") from None


class Seeder(Seeding):
    """Seeding over a bare backend: what `POST /_fake/reset` seeds an app with."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
