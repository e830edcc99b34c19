"""Seeding from Python: what a test factory creates, mirrored in the fake in one line.

Each function goes through the backend's own operations, as an admin's
request would (so the state is one the HTTP API could have produced), but
without HTTP and without a journal entry. Each is idempotent: a second
identical call changes nothing, and a `remove_*` of something absent does
nothing; a call the API would refuse, or one that contradicts what exists,
raises `SeedError` naming the value and the rule, and changes nothing.

Domains are seeded in dimail's states (`status=`: ok, broken, new) or in
People's (`people_status=`: the dimail state and check results that make
People's own status logic land there, CHECKS.md §8).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from . import checks as engine
from . import models
from . import people_status as people
from .backend.base import BOOTSTRAP_USER, hash_password, settled
from .errors import ApiError, ServerCrash
from .records import EXTERNAL_CHECKS, INTERNAL_CHECKS, Caller, DomainRecord
from .seeds import UserSeed
from .zones import Record

if TYPE_CHECKING:
    from .backend import Backend

# Who seeding (and the control plane's check and fix) acts as: an administrator.
ADMIN = Caller(BOOTSTRAP_USER, is_admin=True)

STATUSES = ("ok", "broken", "new")
PEOPLE_STATUSES = people.PEOPLE_STATUSES
DEFAULT_FEATURES = ("webmail", "mailbox", "alias")

_LOCAL_PART: TypeAdapter[str] = TypeAdapter(models.UserName)
_DOMAIN_NAME: TypeAdapter[str] = TypeAdapter(models.DomainName)


class SeedError(ValueError):
    """What was asked cannot be seeded: the API would refuse it, or it contradicts what exists."""


def _refused(what: str, exc: ApiError) -> SeedError:
    return SeedError(f"{what}: dimail would refuse it: {exc.status} {exc.detail}")


def _invalid(what: str, exc: ValidationError, field: str | None = None) -> SeedError:
    """One line naming each refused value and the rule it breaks (dimail's 422)."""
    problems = []
    for error in exc.errors():
        name = field or ".".join(str(part) for part in error["loc"]) or "value"
        problems.append(f"{name} {error['input']!r}: {error['msg']}")
    return SeedError(f"{what}: dimail would refuse it (422): {'; '.join(problems)}")


def _validated(adapter: TypeAdapter[str], value: str, field: str, what: str) -> str:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise _invalid(what, exc, field) from None


# A record of the published /spec that, once removed, makes this external check fail alone.
def _without(check: str, records: list[Record]) -> list[Record]:
    if check == "domain_exist":
        return []
    drop = {
        "mx": lambda r: r.type == "mx",
        "cname_imap": lambda r: r.type == "cname" and r.target == "imap",
        "cname_smtp": lambda r: r.type == "cname" and r.target == "smtp",
        "cname_webmail": lambda r: r.type == "cname" and r.target == "webmail",
        "spf": lambda r: r.type == "txt" and r.value.startswith("v=spf1"),
        "dkim": lambda r: r.type == "txt" and r.target.endswith("_domainkey"),
    }[check]
    return [r for r in records if not drop(r)]


def people_target(people_status: str, failing: Iterable[str] | None,
                  fixable: bool | None) -> tuple[str, list[str], bool]:
    """The dimail (status, failing, fixable) that People's status logic turns into `people_status`.

    enabled, disabled: `ok` (guess G-people-disabled: People alone disables a domain, dimail's stays valid);
    pending: `new` (never checked); action_required: `broken` with an external check failing (default:
    nothing published, so `domain_exist`); failed: `broken` with internal checks People's `/fix/` cannot
    repair (default: `cert`).
    """
    if people_status not in PEOPLE_STATUSES:
        raise SeedError(f"people_status {people_status!r}: choose one of {', '.join(PEOPLE_STATUSES)}")
    failing = list(failing) if failing is not None else None
    if people_status in ("enabled", "disabled", "pending"):
        if failing:
            raise SeedError(f"failing={failing!r}: nothing fails on a domain People shows {people_status}; "
                            "use people_status='action_required' or 'failed'")
        return ("new" if people_status == "pending" else "ok"), [], True
    if people_status == "action_required":
        failing = failing or []
        if failing and not any(c in EXTERNAL_CHECKS for c in failing):
            raise SeedError(f"failing={failing!r}: People shows action_required when an external check fails "
                            f"({', '.join(EXTERNAL_CHECKS)}); internal ones alone make it failed")
        return "broken", failing, True if fixable is None else fixable
    failing = failing or ["cert"]
    if any(c not in INTERNAL_CHECKS for c in failing):
        raise SeedError(f"failing={failing!r}: People shows failed when only internal checks fail "
                        f"({', '.join(INTERNAL_CHECKS)}) and /fix/ cannot repair them")
    if fixable:
        raise SeedError("fixable=True with people_status='failed': People's /fix/ would repair it (enabled); "
                        "leave fixable out")
    return "broken", failing, False


def _same_people_status(current: str, wanted: str) -> bool:
    ok = ("enabled", "disabled")
    return current == wanted or (current in ok and wanted in ok)


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

    @_whole
    def seed(self, users: Iterable[UserSeed]) -> None:
        for user in users:
            self._user(user.name, user.password, user.is_admin, user.perms)

    # --- users and allows ---------------------------------------------------------

    @_whole
    def add_user(self, name: str, password: str = "password", is_admin: bool = False,
                 perms: Iterable[str] = ()) -> models.User:
        """An API user, as an admin's `POST /users/` would create it."""
        self._user(name, password, is_admin, perms)
        return self.backend.get_user(self._root, name)

    def _user(self, name: str, password: str, is_admin: bool, perms: Iterable[str]) -> None:
        backend, perms = self.backend, list(dict.fromkeys(perms))
        existing = backend.users.get(name)
        if existing is not None:
            if existing.is_admin != is_admin or existing.perms != perms or not self._password_ok(name, password):
                raise SeedError(f"user {name} exists with other settings; delete it first to seed it otherwise")
            return
        try:
            body = models.CreateUser(name=name, password=password, is_admin=is_admin, perms=perms)
            backend.new_user(self._root, body)
        except ApiError as exc:
            raise _refused(f"user {name}", exc) from None
        except ValidationError as exc:
            raise _invalid(f"user {name}", exc) from None

    def _password_ok(self, name: str, password: str) -> bool:
        try:
            self.backend.authenticate_basic(name, password)
        except ApiError:
            return False
        return True

    @_whole
    def remove_user(self, name: str) -> None:
        """As an admin's `DELETE /users/{name}`: its allows go with it. Absent: nothing to do."""
        if name in self.backend.users:
            self.backend.delete_user(self._root, name)

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
    def remove_allow(self, user: str, domain: str) -> None:
        """As `DELETE /allows/{domain}/{user}`. Absent: nothing to do."""
        if (user, domain) in self.backend.allows:
            self.backend.delete_allow(self._root, domain, user)

    # --- domains --------------------------------------------------------------------

    @_whole
    def add_domain(
        self,
        name: str,
        *,
        features: Iterable[str] = DEFAULT_FEATURES,
        context_name: str | None = None,
        allowed: Iterable[str] = (),
        status: str | None = None,
        people_status: str | None = None,
        delivery: str = "virtual",
        failing: Iterable[str] | None = None,
        fixable: bool | None = None,
    ) -> models.Domain:
        """A domain as People creates it (OX context named after it), in the state asked.

        In dimail's terms (`status=`): `ok` (default), valid and active, its zone published, its
        certificate issued; `broken`, checked with `failing` checks failing (default: nothing
        published, so `domain_exist` alone), internal ones staying broken after /fix with
        `fixable=False`; `new`, created, never checked.
        In People's terms (`people_status=`): pending, enabled, action_required, failed, disabled
        (see `people_target`). An existing domain is left as it is; asking it in another status
        is a SeedError (`set_domain_status` moves it).
        """
        backend = self.backend
        wanted, allowed = list(dict.fromkeys(features)), list(allowed)
        target = self._target(status, people_status, failing, fixable)
        _validated(_DOMAIN_NAME, name, "name", f"domain {name}")
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
            self._refuse_other_status(existing, status, people_status, failing)
        else:
            try:
                body = models.CreateDomain(name=name, features=wanted, delivery=delivery, context_name=context_name)
                backend.create_domain(self._root, body, check=False, answer=False)
            except ApiError as exc:
                raise _refused(f"domain {name}", exc) from None
            except ValidationError as exc:
                raise _invalid(f"domain {name}", exc) from None
            self._set_status(name, *target)
        for user in allowed:
            self.allow(user, name)
        return backend.get_domain(self._root, name)

    @staticmethod
    def _target(status: str | None, people_status: str | None, failing: Iterable[str] | None,
                fixable: bool | None) -> tuple[str, list[str], bool]:
        if status is not None and people_status is not None:
            raise SeedError(f"status={status!r} and people_status={people_status!r}: give one of them")
        if people_status is not None:
            return people_target(people_status, failing, fixable)
        status = status or "ok"
        failing = list(failing or ())
        if status not in STATUSES:
            raise SeedError(f"status {status!r}: choose one of {', '.join(STATUSES)} "
                            f"(People's statuses go in people_status=)")
        if any(c not in EXTERNAL_CHECKS + INTERNAL_CHECKS for c in failing) or (failing and status != "broken"):
            raise SeedError(f"failing={failing!r}: only with status='broken', among "
                            f"{', '.join(EXTERNAL_CHECKS + INTERNAL_CHECKS)}")
        return status, failing, True if fixable is None else fixable

    def _refuse_other_status(self, domain: DomainRecord, status: str | None, people_status: str | None,
                             failing: Iterable[str] | None) -> None:
        if people_status is not None:
            current = self.backend.people_fetch(domain.name, last=True).status
            if _same_people_status(current, people_status):
                return
            shown = f"People shows it {current}"
        elif status is not None:
            fails = sorted(c for c, r in domain.checks.items() if not r.ok) if domain.state == "broken" else []
            if domain.state == status and (failing is None or sorted(failing) == fails):
                return
            shown = f"it is {domain.state}" + (f" failing {fails}" if fails else "")
        else:
            return
        raise SeedError(f"domain {domain.name} exists and {shown}; set_domain_status() moves it")

    @_whole
    def set_domain_status(self, name: str, *, people_status: str | None = None, status: str | None = None,
                          failing: Iterable[str] | None = None, fixable: bool | None = None) -> models.Domain:
        """Move an existing domain to another status, in People's terms or dimail's (as `add_domain`).

        Its check results, dimail's side (certificate, broken items) and its zone are set again as a
        new domain in that status would have them; its mailboxes, aliases, allows and DKIM key stay.
        A domain People already shows in `people_status` is left as it is.
        """
        backend = self.backend
        target = self._target(status, people_status, failing, fixable)
        domain = backend.domains.get(name)
        if domain is None:
            raise SeedError(f"domain {name}: no such domain; add_domain() it first")
        if people_status is not None and failing is None and _same_people_status(
                backend.people_fetch(name, last=True).status, people_status):
            return backend.get_domain(self._root, name)
        backend.forget_checks(name)
        self._set_status(name, *target)
        return backend.get_domain(self._root, name)

    def _set_status(self, name: str, status: str, failing: list[str], fixable: bool) -> None:
        """Publish, repair and check as the domain's owner and People's /fix/ would have: one check, no answer
        built in between (a seeded domain costs what its records cost)."""
        backend = self.backend
        domain = backend.domains[name]
        if status == "new":
            return
        external = [c for c in failing if c in EXTERNAL_CHECKS]
        internal = [c for c in failing if c in INTERNAL_CHECKS]
        if status == "broken" and not failing:
            backend.state.dns.clear(name)  # nobody set the zone up: `domain_exist` alone, as a new domain
        else:
            records = engine.spec(domain, backend._dkim(domain))
            for check in external:
                records = _without(check, records)
            backend.state.dns.set_zone(name, records)
            if backend._may_issue_certificate(domain):  # what People's /fix/ does
                backend._issue_certificate(domain)
        if internal:
            backend.set_platform(name, models.PlatformChange(
                broken=[c for c in internal if c != "cert"] or None,
                certificate=False if "cert" in internal else None,
                unfixable=None if fixable else internal,
            ))
        backend._check(domain)

    @_whole
    def remove_domain(self, name: str) -> None:
        """As an admin's `DELETE /domains/{name}`: refused (SeedError) while mailboxes, aliases or forwards
        remain, as dimail refuses it. Absent: nothing to do."""
        if name not in self.backend.domains:
            return
        try:
            self.backend.delete_domain(self._root, name)
        except ApiError as exc:
            raise SeedError(f"domain {name}: dimail would refuse it: {exc.status} {exc.detail} "
                            "(remove its mailboxes, aliases and forwards first)") from None

    # --- mailboxes --------------------------------------------------------------------

    @_whole
    def add_mailbox(self, domain: str, local: str, *, given_name: str = "Jean", sur_name: str = "Dupont",
                    display_name: str | None = None, active: bool = True, password: str | None = None,
                    v2: bool = False, features: Iterable[str] | None = None,
                    people_status: str | None = None) -> str | None:
        """A mailbox as People's v1 call creates it (`v2=True`: as the v2 call, with `features`; `[]` is a
        functional mailbox, no OX user). Returns its password: the one given, else dimail's generated one
        (None on a repeated call, which sets nothing). `active=False` is People's disabled mailbox;
        `people_status` says it in People's terms: enabled, disabled, or pending (not in dimail yet:
        nothing is created, None is returned)."""
        if people_status is not None:
            if people_status not in ("enabled", "disabled", "pending"):
                raise SeedError(f"mailbox people_status {people_status!r}: choose one of enabled, disabled, pending")
            if people_status == "pending":
                return None
            active = people_status == "enabled"
        backend, root = self.backend, self._root
        what = f"mailbox {local}@{domain}"
        _validated(_LOCAL_PART, local, "local part", what)
        wanted_features = list(features) if features is not None else (["ox"] if v2 else None)
        if features is not None and not v2:
            raise SeedError(f"{what}: features= is the v2 call's; add v2=True")
        display_name = display_name if display_name is not None else f"{given_name} {sur_name}"
        if (domain, local) in backend.mailboxes:
            # The v1 call's displayName is not what OX keeps: "given sur" is (CONTRACT.md §6 #7).
            shown = display_name if v2 else f"{given_name} {sur_name}".strip() or local
            self._same_mailbox(what, domain, local, (given_name, sur_name, shown), active, password,
                               wanted_features)
            return password
        try:
            if v2:
                created = self._create_v2(domain, local, wanted_features or [], given_name, sur_name, display_name)
            else:
                body = models.CreateMailbox(givenName=given_name, surName=sur_name, displayName=display_name)
                created = backend.create_mailbox(root, domain, local, body)
        except ApiError as exc:
            raise _refused(what, exc) from None
        except ServerCrash:
            raise SeedError(f"{what}: user name {local!r} or display name {display_name!r} is already used in "
                            "the domain's OX context (dimail answers 500); choose another display_name") from None
        except ValidationError as exc:
            raise _invalid(what, exc) from None
        if password is not None:
            backend.force_password(root, domain, local, models.MailboxForcePassword(password=password))
        if not active:
            backend.update_mailbox(root, domain, local, models.UpdateMailbox(active=models.MailboxActive.no))
        return password if password is not None else created.password

    def _create_v2(self, domain: str, local: str, features: list[str], given: str, sur: str,
                   display: str) -> models.NewMailbox:
        extras = {"ox": {"given_name": given, "sur_name": sur, "display_name": display}} if "ox" in features else None
        body = models.CreateMailbox2.model_validate({"features": features, "extras": extras})
        return self.backend.create_mailbox_v2(self._root, domain, local, body)

    def _same_mailbox(self, what: str, domain: str, local: str, names: tuple[str, str, str], active: bool,
                      password: str | None, features: list[str] | None) -> None:
        backend, root = self.backend, self._root
        current = backend.get_mailbox_v2(root, domain, local, True)
        ox = current.extras.ox if current.extras else None
        shown = (ox.given_name, ox.sur_name, ox.display_name) if ox else None
        has_ox = "webmail" in backend.domains[domain].features
        expected = names if (features is None and has_ox) or (features is not None and "ox" in features) else None
        is_active = current.imap_active == "yes"
        if shown != expected or is_active != active or (features is not None and sorted(current.features)
                                                         != sorted(features)):
            raise SeedError(f"{what} exists with other names, features or activity; remove_mailbox() it first to "
                            "seed it otherwise")
        if password is not None and not backend.check_password(root, domain, local, password):
            raise SeedError(f"{what} exists with another password; remove_mailbox() it first to seed it otherwise")

    @_whole
    def remove_mailbox(self, domain: str, local: str) -> None:
        """As `DELETE /domains/{d}/mailboxes/{u}`: its OX user, codes, app passwords, identities, secondaries
        and public aliases go with it. Absent: nothing to do."""
        if (domain, local) in self.backend.mailboxes:
            self.backend.delete_mailbox(self._root, domain, local)

    # --- aliases, forwards, public aliases -------------------------------------------------

    @_whole
    def add_alias(self, domain: str, local: str, destination: str) -> models.Alias:
        """`local@domain` delivered to `destination`, as `POST /domains/{d}/aliases/` would."""
        backend, root = self.backend, self._root
        what = f"alias {local}@{domain} to {destination}"
        if domain not in backend.domains:
            raise SeedError(f"{what}: no such domain; add_domain() it first")
        try:
            body = models.CreateAlias(user_name=local, destination=destination)
            if (domain, local, destination) in backend.aliases:
                return backend.list_aliases(root, domain, local, destination)[0]
            return backend.create_alias(root, domain, body)
        except ApiError as exc:
            raise _refused(what, exc) from None
        except ValidationError as exc:
            raise _invalid(what, exc) from None

    @_whole
    def remove_alias(self, domain: str, local: str, destination: str | None = None) -> None:
        """As `DELETE /domains/{d}/aliases/{local}/{destination}`; without `destination`, every alias of
        `local` (the `all` form). Absent: nothing to do."""
        aliases = self.backend.aliases
        if destination is None:
            if aliases.count_by("name", (domain, local)):
                self.backend.delete_alias(self._root, domain, local, "all")
        elif (domain, local, destination) in aliases:
            self.backend.delete_alias(self._root, domain, local, destination)

    @_whole
    def add_forward(self, domain: str, local: str, nexthop: str) -> models.Forward:
        """Mail for `local@domain` relayed to `nexthop` (`smtp:relay.example.org`), as
        `POST /domains/{d}/forwards/{u}` would."""
        backend, root = self.backend, self._root
        what = f"forward {local}@{domain}"
        if domain not in backend.domains:
            raise SeedError(f"{what}: no such domain; add_domain() it first")
        _validated(_LOCAL_PART, local, "local part", what)
        try:
            body = models.CreateForward(nexthop=nexthop)
            existing = backend.state.forwards.get((domain, local))
            if existing is not None:
                if existing.nexthop != nexthop:
                    raise SeedError(f"{what} exists to {existing.nexthop}; it cannot also go to {nexthop}")
                return backend.get_forward(root, domain, local)
            return backend.create_forward(root, domain, local, body)
        except ApiError as exc:
            raise _refused(what, exc) from None
        except ValidationError as exc:
            raise _invalid(what, exc) from None

    @_whole
    def add_public_alias(self, domain: str, destination: str, description: str = "") -> models.PubAlias:
        """A public alias on `domain` (its `public_alias` setting on, its rules accepting `destination`) delivering
        to `destination`, as `POST /public_aliases/` would; its address is random, as dimail makes it. An
        alias with the same destination and description on the domain is the same one."""
        backend, root = self.backend, self._root
        what = f"public alias on {domain} to {destination}"
        for alias in backend.state.public_aliases.rows_by("destination", destination):
            if alias.domain == domain and alias.description == description:
                return backend._public_alias_view(alias)
        try:
            body = models.CreatePubAlias(domain=domain, destination=destination, description=description)
            return backend.create_public_alias(root, body)
        except ApiError as exc:
            raise _refused(what, exc) from None
        except ValidationError as exc:
            raise _invalid(what, exc) from None

    # --- what hangs on a mailbox --------------------------------------------------------

    @_whole
    def add_app_password(self, domain: str, local: str, name: str, type: str = "imap",  # noqa: A002 - dimail's field
                         password: str | None = None) -> str | None:
        """An app password of an OX mailbox, as `POST …/app_passwords/` would. Returns its secret (the one
        given, else the generated one; None on a repeated call: one of that name and type exists)."""
        backend, root = self.backend, self._root
        what = f"app password {name!r} of {local}@{domain}"
        try:
            body = models.CreateAppPassword.model_validate({"name": name, "type": type})
            apps = backend.list_app_passwords(root, domain, local)
            if any(a.name == name and a.type.value == type for a in apps):
                return None
            created = backend.create_app_password(root, domain, local, body)
        except ApiError as exc:
            raise _refused(what, exc) from None
        except ValidationError as exc:
            raise _invalid(what, exc) from None
        if password is None:
            return created.password
        backend.state.app_passwords.modify(str(created.uuid), password_hash=hash_password(password))
        return password

    @_whole
    def add_secondary(self, domain: str, local: str, email: str, display_name: str | None = None) -> models.Secondary:
        """Let the mailbox `local@domain` open the mailbox `email`, as `POST …/{u}/master_of/{email}` would."""
        backend, root = self.backend, self._root
        what = f"secondary {email} of {local}@{domain}"
        secondary_local, _, secondary_domain = email.rpartition("@")
        link = backend.state.secondaries.get((domain, local, secondary_domain, secondary_local))
        if link is not None:
            if link.display_name != display_name:
                raise SeedError(f"{what} exists with displayName {link.display_name!r}")
            return backend.get_secondary(root, domain, local, email)
        try:
            return backend.create_secondary(root, domain, local, email, models.CreateSecondary(displayName=display_name))
        except ApiError as exc:
            raise _refused(what, exc) from None

    @_whole
    def add_identity(self, domain: str, local: str, proconnect: str) -> None:
        """Let the ProConnect identity `proconnect` open `local@domain`, as `POST …/{u}/identities/{sub}` would."""
        try:
            self.backend.add_mailbox_identity(self._root, domain, local, proconnect)
        except ApiError as exc:
            raise _refused(f"identity {proconnect} of {local}@{domain}", exc) from None


class Seeder(Seeding):
    """Seeding over a bare backend: what `POST /_fake/reset` seeds an app with."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
