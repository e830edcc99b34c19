"""The fake dimail's state and every rule that decides an answer.

Routes parse and format; everything else is here: who may do what, in which
order the checks run (the order decides which error a client sees first),
and what each operation changes. Each public method either raises before it
changes anything or completes its whole change, so a refused request never
leaves half-written state.

Facts come from ../shared/dimail/CONTRACT.md; the section is named where a
rule is not obvious, and choices the sources leave open are marked "guess".
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from . import checks, errors, models
from .errors import ApiError, ServerCrash
from .records import (
    AliasRecord,
    Caller,
    CheckResult,
    CodeRecord,
    DomainRecord,
    MailboxRecord,
    OxContext,
    OxUser,
    UserRecord,
)
from .zones import Record, SimulatedDNS

BOOTSTRAP_USER = "FAKE"
NEW_DOMAIN, CREATE_USERS, MANAGE_USERS = "new_domain", "create_users", "manage_users"
NO_PASSWORD = "no"

T = TypeVar("T")


def _atomic(method: Callable[..., T]) -> Callable[..., T]:
    """Serialise backend calls: the in-process client and steering may run in other threads."""

    @functools.wraps(method)
    def locked(self: Backend, *args: Any, **kwargs: Any) -> T:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


def _hash(password: str) -> str:
    salt = secrets.token_hex(8)
    return salt + "$" + hashlib.sha256((salt + password).encode()).hexdigest()


def _verify(password: str, stored: str | None) -> bool:
    if stored is None:
        return False
    salt, _, digest = stored.partition("$")
    return secrets.compare_digest(hashlib.sha256((salt + password).encode()).hexdigest(), digest)


def new_password() -> str:
    # 12 random bytes give 16 URL-safe characters, the shape dimail generates.
    return secrets.token_urlsafe(12)


def apply_list_change(current: list[str], change: list[str]) -> list[str]:
    """dimail's list update rule: all items `+x`/`-x` edit, none of them set (guess: a mix is 422)."""
    signed = [item[:1] in ("+", "-") for item in change]
    if change and all(signed):
        result = list(current)
        for item in change:
            value = item[1:]
            if item[0] == "+" and value not in result:
                result.append(value)
            elif item[0] == "-" and value in result:
                result.remove(value)
        return result
    if any(signed):
        raise errors.unprocessable(errors.CANNOT_MIX_SET_AND_CHANGE)
    return list(dict.fromkeys(change))


# What `/_fake/dns/{d}/publish` can put in a zone.
PRESETS: dict[str, Callable[[], list[Record]]] = {
    "wrong": checks.wrong_records,
    "exists": checks.existing_records,
}


class Backend:
    def __init__(
        self, clock: Callable[[], float] = time.time, dns_auto: bool = False, certs_on_check: bool = False
    ) -> None:
        self._lock = threading.RLock()
        self.clock = clock
        # Configuration, kept across reset(): publish every new domain's /spec in the simulated
        # DNS at creation; let new domains get their certificate during /check, not only /fix.
        self.dns_auto = dns_auto
        self.certs_on_check = certs_on_check
        self.reset()

    @_atomic
    def reset(self) -> None:
        """Back to an empty dimail: no user at all, so bootstrap mode (CONTRACT.md §2.5)."""
        self.users: dict[str, UserRecord] = {}
        self.allows: dict[tuple[str, str], None] = {}  # (user, domain), insertion-ordered
        self.domains: dict[str, DomainRecord] = {}
        self.contexts: dict[int, OxContext] = {}
        self.mailboxes: dict[tuple[str, str], MailboxRecord] = {}  # (domain, local part)
        self.aliases: dict[tuple[str, str, str], AliasRecord] = {}  # (domain, local, destination)
        self.codes: dict[str, CodeRecord] = {}
        self.dns = SimulatedDNS()

    # --- authentication (CONTRACT.md §2) ----------------------------------

    @_atomic
    def authenticate_basic(self, name: str, password: str) -> Caller:
        if not self.users:
            return Caller(BOOTSTRAP_USER, is_admin=True)
        user = self.users.get(name)
        if user is None or not _verify(password, user.password_hash):
            raise errors.forbidden()
        return self._caller(user)

    @_atomic
    def caller_for_token(self, subject: str) -> Caller:
        """Tokens carry only a name: rights are read again at every request."""
        user = self.users.get(subject)
        if user is None:
            raise errors.forbidden()
        return self._caller(user)

    @_atomic
    def token_subject(self, caller: Caller, username: str | None) -> str:
        """Whose token `GET /token/` may issue (CONTRACT.md §4.1)."""
        if not username or username == caller.name:
            return caller.name
        target = self.users.get(username)
        if target is None:
            raise errors.not_found(errors.USER_NOT_FOUND)
        if not (caller.is_admin or self._manages(caller, target)):
            raise errors.forbidden()
        return username

    @staticmethod
    def _caller(user: UserRecord) -> Caller:
        return Caller(user.name, user.is_admin, frozenset(user.perms))

    # --- rights (CONTRACT.md §3) -------------------------------------------

    def _is_allowed(self, caller: Caller, domain: str) -> bool:
        return caller.is_admin or (caller.name, domain) in self.allows

    @staticmethod
    def _has(caller: Caller, perm: str) -> bool:
        return caller.is_admin or perm in caller.perms

    def _manages(self, caller: Caller, user: UserRecord) -> bool:
        return user.manager == caller.name and MANAGE_USERS in caller.perms

    def _require_allowed(self, caller: Caller, domain: str, detail: str = errors.PERMISSION_DENIED) -> None:
        if not self._is_allowed(caller, domain):
            raise errors.forbidden(detail)

    def _domain(self, name: str) -> DomainRecord:
        domain = self.domains.get(name)
        if domain is None:
            raise errors.not_found(errors.DOMAIN_NOT_FOUND)
        return domain

    # --- users (CONTRACT.md §4.2) ------------------------------------------

    @_atomic
    def list_users(self, caller: Caller) -> list[models.User]:
        if caller.is_admin:
            return [self._user_view(u) for u in self.users.values()]
        if not self._has(caller, MANAGE_USERS):
            raise errors.forbidden()
        return [
            self._user_view(u)
            for u in self.users.values()
            if u.name == caller.name or self._manages(caller, u)
        ]

    @_atomic
    def create_user(self, caller: Caller, body: models.CreateUser) -> models.User:
        if not caller.is_admin:
            may = (
                CREATE_USERS in caller.perms
                and not body.is_admin
                and set(body.perms) <= caller.perms
            )
            if not may:
                raise errors.forbidden()
        if body.name in self.users:
            raise errors.conflict(errors.USER_EXISTS)
        user = UserRecord(
            name=body.name,
            password_hash=None if body.password == NO_PASSWORD else _hash(body.password),
            is_admin=body.is_admin,
            perms=list(dict.fromkeys(body.perms)),
            acls=list(body.acls),
            identities=list(body.identities),
            manager=None if caller.is_admin else caller.name,
        )
        self.users[user.name] = user
        return self._user_view(user)

    @_atomic
    def get_user(self, caller: Caller, name: str) -> models.User:
        user = self.users.get(name)
        if user is None:
            raise errors.not_found(errors.USER_NOT_FOUND)
        self._require_may_read(caller, user)
        return self._user_view(user)

    @_atomic
    def get_user_by_identity(self, caller: Caller, identity: str) -> models.User:
        # guess: an explicit identity wins, then People's convention (name = ProConnect sub).
        user = next((u for u in self.users.values() if identity in u.identities), None)
        user = user or self.users.get(identity)
        if user is None:
            raise errors.not_found(errors.USER_NOT_FOUND)
        self._require_may_read(caller, user)
        return self._user_view(user)

    def _require_may_read(self, caller: Caller, user: UserRecord) -> None:
        if not (caller.is_admin or caller.name == user.name or self._manages(caller, user)):
            raise errors.forbidden()

    @_atomic
    def update_user(self, caller: Caller, name: str, body: models.UpdateUser) -> models.User:
        user = self.users.get(name)
        if user is None:
            raise errors.not_found(errors.NOT_FOUND)
        if not (caller.is_admin or self._manages(caller, user)):
            raise errors.forbidden()
        perms = user.perms if body.perms is None else apply_list_change(user.perms, body.perms)
        acls = user.acls if body.acls is None else apply_list_change(user.acls, body.acls)
        identities = (
            user.identities if body.identities is None else apply_list_change(user.identities, body.identities)
        )
        if not caller.is_admin and (body.is_admin or not set(perms) - set(user.perms) <= caller.perms):
            raise errors.forbidden()
        if body.password is not None:
            user.password_hash = None if body.password == NO_PASSWORD else _hash(body.password)
        if body.is_admin is not None:
            user.is_admin = body.is_admin
        user.perms, user.acls, user.identities = perms, acls, identities
        return self._user_view(user)

    @_atomic
    def delete_user(self, caller: Caller, name: str) -> None:
        user = self.users.get(name)
        if user is None:
            raise errors.not_found(errors.NOT_FOUND)
        if not (caller.is_admin or self._manages(caller, user)):
            raise errors.forbidden()
        for key in [k for k in self.allows if k[0] == name]:
            del self.allows[key]
        for other in self.users.values():
            if other.manager == name:
                other.manager = None
        del self.users[name]

    @staticmethod
    def _user_view(user: UserRecord) -> models.User:
        return models.User(
            name=user.name,
            is_admin=user.is_admin,
            uuid=user.uuid,
            perms=list(user.perms),
            acls=list(user.acls),
            identities=list(user.identities),
        )

    # --- allows (CONTRACT.md §4.3) -----------------------------------------

    @_atomic
    def list_allows(self, caller: Caller, username: str, domain: str) -> list[models.Allowed]:
        if not self._has(caller, MANAGE_USERS):
            raise errors.forbidden()
        return [
            models.Allowed(user=u, domain=d)
            for (u, d) in self.allows
            if (not username or u == username)
            and (not domain or d == domain)
            and self._is_allowed(caller, d)
        ]

    def _require_may_grant(self, caller: Caller, domain: str) -> None:
        if not (caller.is_admin or (MANAGE_USERS in caller.perms and self._is_allowed(caller, domain))):
            raise errors.forbidden()

    @_atomic
    def create_allow(self, caller: Caller, body: models.Allowed) -> models.Allowed:
        self._require_may_grant(caller, body.domain)
        if body.user not in self.users:
            raise errors.not_found(errors.USER_NOT_FOUND)
        self._domain(body.domain)
        if (body.user, body.domain) in self.allows:
            raise errors.conflict(errors.ALLOW_EXISTS)
        self.allows[(body.user, body.domain)] = None
        return models.Allowed(user=body.user, domain=body.domain)

    @_atomic
    def delete_allow(self, caller: Caller, domain: str, user: str) -> None:
        self._require_may_grant(caller, domain)
        if user not in self.users:
            raise errors.not_found(errors.USER_NOT_FOUND)
        self._domain(domain)
        if (user, domain) not in self.allows:
            raise errors.not_found(errors.ALLOW_NOT_FOUND)
        del self.allows[(user, domain)]

    # --- domains (CONTRACT.md §4.4) ----------------------------------------

    @_atomic
    def list_domains(self, caller: Caller) -> list[models.Domain]:
        if not (caller.is_admin or caller.perms):
            raise errors.forbidden()
        return [self._domain_view(d) for d in self.domains.values() if self._is_allowed(caller, d.name)]

    @_atomic
    def create_domain(self, caller: Caller, body: models.CreateDomain, check: bool = True) -> models.Domain:
        if not self._has(caller, NEW_DOMAIN):
            raise errors.forbidden()
        features = list(dict.fromkeys(f.value for f in body.features))
        wants_webmail = "webmail" in features
        named_context = self._context_by_id(body.context_id)
        if wants_webmail and body.context_name is None and named_context is None:
            raise errors.conflict(errors.CONTEXT_NAME_MANDATORY)
        if body.name in self.domains:
            raise errors.conflict(errors.DOMAIN_EXISTS)
        context = None
        if wants_webmail:
            context = self._context_mapping(body.name)
            wanted = named_context.name if named_context else body.context_name
            if context is not None and context.name != wanted:
                raise errors.conflict(errors.mapped_to_context(context.name))
        domain = DomainRecord(
            name=body.name,
            features=features,
            delivery=body.delivery.value,
            webmail_domain=body.webmail_domain,
            imap_domain=body.imap_domain,
            smtp_domain=body.smtp_domain,
            mx_name=body.mx_name,
            context_name=(named_context.name if named_context else body.context_name) if wants_webmail else None,
            transport=body.transport,
            schema_name=body.schema_name,
            public_alias=bool(body.public_alias),
            public_alias_rules=list(body.public_alias_rules or []),
            webmail=body.webmail,
            store_name=body.store_name,
        )
        if wants_webmail and context is None:
            assert domain.context_name is not None
            self._map_to_context(domain.name, domain.context_name, named_context or self._context_by_name(domain.context_name))
        self.domains[domain.name] = domain
        if not caller.is_admin:
            self.allows[(caller.name, domain.name)] = None
        domain.platform.certs_on_check = self.certs_on_check
        if self.dns_auto:
            self.dns.set_zone(domain.name, checks.spec(domain, self._dkim(domain)))
        # The 201 echoes the OX context name; no later answer does (CONTRACT.md §6 #8).
        created = self._domain_view(domain, echo_context=True)
        if check:
            # dimail checks once the answer is built (it shows `new`); a crashing check leaves `new`.
            try:
                self._check(domain)
            except ServerCrash:
                pass
        return created

    @_atomic
    def get_domain(self, caller: Caller, name: str) -> models.Domain:
        domain = self._domain(name)
        if not self._is_allowed(caller, name):
            raise ApiError(401, errors.NOT_AUTHORIZED)
        return self._domain_view(domain)

    def _require_domain_manager(self, caller: Caller, name: str) -> DomainRecord:
        domain = self._domain(name)
        if not (caller.is_admin or (NEW_DOMAIN in caller.perms and self._is_allowed(caller, name))):
            raise errors.forbidden()
        return domain

    @_atomic
    def update_domain(self, caller: Caller, name: str, body: models.UpdateDomain) -> models.Domain:
        domain = self._require_domain_manager(caller, name)
        changes = body.model_dump(exclude_none=True)
        features = domain.features
        if "features" in changes:
            features = apply_list_change(domain.features, changes.pop("features"))
            unknown = [f for f in features if f not in models.DomainFeature.__members__]
            if unknown:
                raise errors.unprocessable(errors.unknown_feature(unknown[0]))
        has_mailboxes = any(key[0] == name for key in self.mailboxes)
        for feature in ("mailbox", "webmail"):
            if feature in domain.features and feature not in features and has_mailboxes:
                raise ApiError(418, errors.DOMAIN_HAS_MAILBOXES.format(feature=feature))
        context_name = changes.pop("context_name", domain.context_name)
        current = self._context_mapping(name)
        if current is not None and context_name != current.name and any(
            u.email.endswith("@" + name) and u.username != "oxadmin" for u in current.users.values()
        ):
            raise ApiError(418, errors.DOMAIN_CONTEXT_IN_USE)
        if "webmail" in features and context_name is None:
            raise errors.conflict(errors.CONTEXT_NAME_MANDATORY)
        # Every refusal is behind us: apply.
        if "webmail" in features and (current is None or current.name != context_name):
            if current is not None:
                current.domains.remove(name)
            self._map_to_context(name, context_name, self._context_by_name(context_name))
        domain.features = features
        domain.context_name = context_name
        for key, value in changes.items():
            setattr(domain, key, value.value if hasattr(value, "value") else value)
        return self._domain_view(domain)

    @_atomic
    def delete_domain(self, caller: Caller, name: str) -> None:
        self._require_domain_manager(caller, name)
        context = self._context_mapping(name)
        ox_users = [
            u for u in (context.users.values() if context else [])
            if u.email.endswith("@" + name) and u.username != "oxadmin"
        ]
        if ox_users or any(k[0] == name for k in itertools.chain(self.mailboxes, self.aliases)):
            raise errors.conflict(errors.DOMAIN_NOT_EMPTY)
        for key in [k for k in self.allows if k[1] == name]:
            del self.allows[key]
        # The OX context stays, still mapping the name (guess: dimail does not clean OX up).
        del self.domains[name]

    # --- domain checks (CHECKS.md) -------------------------------------------

    def _dkim(self, domain: DomainRecord) -> str:
        if domain.dkim_public is None:
            domain.dkim_public = checks.new_dkim_value()
        return domain.dkim_public

    def _evaluate(self, domain: DomainRecord) -> dict[str, CheckResult]:
        mapped = self._context_mapping(domain.name) is not None
        return checks.evaluate(domain, self.dns.resolver(), mapped, lambda: self._dkim(domain))

    def _may_issue_certificate(self, domain: DomainRecord) -> bool:
        return "cert" not in domain.platform.unfixable and checks.cnames_pass(domain, self.dns.resolver())

    def _check(self, domain: DomainRecord) -> None:
        results = self._evaluate(domain)  # a crash (500) happens here, before anything changes
        if domain.platform.certs_on_check and not results["cert"].ok and self._may_issue_certificate(domain):
            domain.platform.certificate = checks.certificate_hosts(domain)
            results = self._evaluate(domain)
        domain.checks = results
        domain.state = "ok" if all(r.ok for r in results.values()) else "broken"
        domain.active = domain.active or domain.state == "ok"  # never reset by a later failure
        domain.checked_at = self.clock()

    def _require_checker(self, caller: Caller, name: str) -> DomainRecord:
        domain = self._domain(name)
        self._require_allowed(caller, name)
        return domain

    @_atomic
    def check_domain(self, caller: Caller, name: str) -> models.Domain:
        domain = self._require_checker(caller, name)
        self._check(domain)
        return self._domain_view(domain)

    @_atomic
    def fix_domain(self, caller: Caller, name: str) -> models.Domain:
        """Repair dimail's side only (never the DNS), then check again (CHECKS.md §7)."""
        domain = self._require_checker(caller, name)
        self._evaluate(domain)  # a crashing check crashes /fix before any repair
        platform = domain.platform
        platform.broken &= platform.unfixable
        if self._may_issue_certificate(domain):
            platform.certificate = checks.certificate_hosts(domain)
        self._check(domain)
        return self._domain_view(domain)

    @_atomic
    def domain_spec(self, name: str) -> list[models.DomainSpec]:
        domain = self._domain(name)
        return [models.DomainSpec(target=r.target, type=r.type, value=r.value)
                for r in checks.spec(domain, self._dkim(domain))]

    # --- steering the simulated world (the /_fake/ control plane) -------------

    @staticmethod
    def _zone_view(records: Iterable[Record]) -> list[models.DnsRecord]:
        return [models.DnsRecord(target=r.target, type=models.DnsRecordType(r.type), value=r.value) for r in records]

    @_atomic
    def dns_zone(self, name: str) -> list[models.DnsRecord]:
        return self._zone_view(self.dns.zone(name))

    @_atomic
    def set_dns_zone(self, name: str, records: Iterable[models.DnsRecord]) -> list[models.DnsRecord]:
        return self._zone_view(self.dns.set_zone(name, [Record(r.target, r.type.value, r.value) for r in records]))

    @_atomic
    def clear_dns_zone(self, name: str) -> None:
        self.dns.clear(name)

    @_atomic
    def publish(self, name: str, preset: models.DnsPreset = models.DnsPreset.spec) -> list[models.DnsRecord]:
        """Fill a zone: what dimail asks for (`spec`), another provider's records (`wrong`), or NS only (`exists`)."""
        if preset is models.DnsPreset.spec:
            domain = self._domain(name)
            return self._zone_view(self.dns.set_zone(name, checks.spec(domain, self._dkim(domain))))
        return self._zone_view(self.dns.set_zone(name, PRESETS[preset.value]()))

    @staticmethod
    def _platform_view(domain: DomainRecord) -> models.PlatformState:
        platform = domain.platform
        covered = platform.certificate is not None and checks.certificate_hosts(domain) <= platform.certificate
        return models.PlatformState(
            broken=sorted(platform.broken),
            unfixable=sorted(platform.unfixable),
            certificate=covered,
            certificate_hosts=sorted(platform.certificate or ()),
            certs_on_check=platform.certs_on_check,
        )

    @_atomic
    def platform(self, name: str) -> models.PlatformState:
        return self._platform_view(self._domain(name))

    @_atomic
    def set_platform(self, name: str, change: models.PlatformChange) -> models.PlatformState:
        """Change dimail's side of a domain; what the change leaves out stays as it is."""
        domain = self._domain(name)
        platform = domain.platform
        if change.broken is not None:
            platform.broken = {c.value for c in change.broken}
        if change.unfixable is not None:
            platform.unfixable = {c.value for c in change.unfixable}
        if change.certificate is not None:
            platform.certificate = checks.certificate_hosts(domain) if change.certificate else None
        if change.certs_on_check is not None:
            platform.certs_on_check = change.certs_on_check
        return self._platform_view(domain)

    def _domain_view(self, domain: DomainRecord, echo_context: bool = False) -> models.Domain:
        checks = {
            name: models.TestResult(
                ok=r.ok, internal=r.internal, errors=[models.TestErr(code=c, detail=d) for c, d in r.errors]
            )
            for name, r in domain.checks.items()
        }
        return models.Domain(
            name=domain.name,
            state=domain.state,
            valid=domain.state == "ok",
            active=domain.active,
            delivery=domain.delivery,
            features=domain.features,
            webmail=domain.webmail,
            webmail_domain=domain.webmail_domain or None,
            imap_domain=domain.imap_domain or None,
            smtp_domain=domain.smtp_domain or None,
            mx_name=domain.mx_name or "internal",
            context_name=domain.context_name if echo_context else None,
            transport=domain.transport or None,
            public_alias=domain.public_alias,
            public_alias_rules=list(domain.public_alias_rules),
            store_name=domain.store_name,
            **checks,
        )

    # --- OX contexts ---------------------------------------------------------

    def _context_mapping(self, domain: str) -> OxContext | None:
        return next((c for c in self.contexts.values() if domain in c.domains), None)

    def _context_by_id(self, context_id: int | None) -> OxContext | None:
        return self.contexts.get(context_id) if context_id is not None else None

    def _context_by_name(self, name: str | None) -> OxContext | None:
        return next((c for c in self.contexts.values() if c.name == name), None)

    def _map_to_context(self, domain: str, context_name: str, context: OxContext | None) -> None:
        if context is None:
            # A new context comes with its administrator, who shows up in listings.
            context = OxContext(id=max(self.contexts, default=0) + 1, name=context_name)
            context.users["oxadmin"] = OxUser(
                "oxadmin", f"oxadmin@{domain}", "Admin", "Context", "Context Admin"
            )
            self.contexts[context.id] = context
        context.domains.append(domain)

    # --- mailboxes (CONTRACT.md §4.5 to §4.8) ------------------------------

    def _ox_context_of(self, domain: DomainRecord) -> OxContext | None:
        return self._context_mapping(domain.name) if "webmail" in domain.features else None

    def _ox_user(self, domain: DomainRecord, local: str) -> OxUser | None:
        context = self._ox_context_of(domain)
        return context.user_by_email(f"{local}@{domain.name}") if context else None

    def _refuse_duplicate(self, domain: DomainRecord, local: str, display_name: str) -> None:
        """A duplicate crashes the real server: People relies on that bare 500 (§6 #3)."""
        if (domain.name, local) in self.mailboxes:
            raise ServerCrash("dovecot mailbox already exists")
        self._refuse_duplicate_ox(domain, local, display_name)

    def _add_mailbox(
        self, domain: DomainRecord, local: str, names: tuple[str, str, str] | None, **dovecot: Any
    ) -> models.NewMailbox:
        password = new_password()
        if names is not None:
            context = self._ox_context_of(domain)
            assert context is not None
            given, sur, display = names
            context.users[local] = OxUser(local, f"{local}@{domain.name}", given, sur, display)
        self.mailboxes[(domain.name, local)] = MailboxRecord(domain.name, local, _hash(password), **dovecot)
        return models.NewMailbox(email=f"{local}@{domain.name}", password=password)

    @_atomic
    def create_mailbox(self, caller: Caller, domain_name: str, local: str, body: models.CreateMailbox) -> models.NewMailbox:
        self._require_allowed(caller, domain_name, errors.PERMISSION_DENIED_TYPO)
        domain = self._domain(domain_name)
        given, sur = body.givenName or "", body.surName or ""
        # The display name sent is ignored: OX gets "given sur" (§6 #7); guess: blank falls back to the local part.
        display = f"{given} {sur}".strip() or local
        self._refuse_duplicate(domain, local, display)
        names = (given, sur, display) if self._ox_context_of(domain) else None
        return self._add_mailbox(
            domain,
            local,
            names,
            additional_senders=list(body.additionalSenders or []),
            rate_limit=body.rate_limit,
            store=body.store,
        )

    def _mailbox_scope(self, caller: Caller, domain_name: str) -> DomainRecord:
        self._require_allowed(caller, domain_name)
        return self._domain(domain_name)

    def _listing_emails(self, domain: DomainRecord) -> list[str]:
        emails = {m.email for m in self.mailboxes.values() if m.domain == domain.name}
        context = self._ox_context_of(domain)
        if context is not None:
            emails.update(u.email for u in context.users.values())
        return sorted(emails)

    def _entry(self, domain: DomainRecord, email: str) -> tuple[MailboxRecord | None, OxUser | None]:
        local, _, host = email.rpartition("@")
        row = self.mailboxes.get((domain.name, local)) if host == domain.name else None
        context = self._ox_context_of(domain)
        return row, context.user_by_email(email) if context else None

    def _status(self, domain: DomainRecord, row: MailboxRecord | None, ox: OxUser | None) -> str:
        if "webmail" in domain.features:
            return "ok" if row and ox else "broken"
        return "ok" if row and not ox else "broken"

    @staticmethod
    def _v1_active(row: MailboxRecord | None) -> str:
        if row is None:
            return "unknown"
        flags = {row.imap_active, row.smtp_active}
        if "wait" in flags:
            return "wait"
        return "yes" if flags == {"yes"} else "no"

    def _mailbox_view(self, domain: DomainRecord, email: str) -> models.Mailbox:
        row, ox = self._entry(domain, email)
        return models.Mailbox(
            type="mailbox",
            status=self._status(domain, row, ox),
            active=self._v1_active(row),
            email=email,
            givenName=ox.given_name if ox else None,
            surName=ox.sur_name if ox else None,
            displayName=ox.display_name if ox else None,
            additionalSenders=list(row.additional_senders) if row else [],
            rate_limit=row.rate_limit if row else None,
        )

    def _mailbox2_view(self, domain: DomainRecord, email: str, with_extras: bool) -> models.Mailbox2:
        row, ox = self._entry(domain, email)
        features = (["ox"] if ox else []) + (["schedule"] if row and row.schedule_max is not None else [])
        extras = None
        if with_extras:
            extras = models.MailboxExtra(
                ox=models.MailboxExtraOx(given_name=ox.given_name, sur_name=ox.sur_name, display_name=ox.display_name)
                if ox else None,
                schedule=models.MailboxExtraSchedule(max=row.schedule_max)
                if row and row.schedule_max is not None else None,
            )
        return models.Mailbox2(
            type="mailbox",
            imap_active=row.imap_active if row else "unknown",
            smtp_active=row.smtp_active if row else "unknown",
            email=email,
            features=features,
            extras=extras,
            dirty_quirks={"ox-config": {}} if ox else None,
            additionalSenders=list(row.additional_senders) if row else [],
            rate_limit=row.rate_limit if row else None,
            quota=row.quota if row else None,
        )

    @_atomic
    def list_mailboxes(self, caller: Caller, domain_name: str) -> list[models.Mailbox]:
        domain = self._mailbox_scope(caller, domain_name)
        return [self._mailbox_view(domain, e) for e in self._listing_emails(domain)]

    @_atomic
    def list_mailboxes_v2(self, caller: Caller, domain_name: str, with_extras: bool) -> list[models.Mailbox2]:
        domain = self._mailbox_scope(caller, domain_name)
        return [self._mailbox2_view(domain, e, with_extras) for e in self._listing_emails(domain)]

    def _existing_email(self, domain: DomainRecord, local: str) -> str:
        email = f"{local}@{domain.name}"
        row, ox = self._entry(domain, email)
        if row is None and ox is None:
            raise errors.not_found(errors.MAILBOX_NOT_FOUND)
        return email

    @_atomic
    def get_mailbox(self, caller: Caller, domain_name: str, local: str) -> models.Mailbox:
        domain = self._mailbox_scope(caller, domain_name)
        return self._mailbox_view(domain, self._existing_email(domain, local))

    @_atomic
    def get_mailbox_v2(self, caller: Caller, domain_name: str, local: str, with_extras: bool) -> models.Mailbox2:
        domain = self._mailbox_scope(caller, domain_name)
        return self._mailbox2_view(domain, self._existing_email(domain, local), with_extras)

    def _editable_mailbox(
        self, caller: Caller, domain_name: str, local: str, target_domain: str | None, user_name: str | None
    ) -> tuple[DomainRecord, MailboxRecord, OxUser | None]:
        """The checks PATCH v1 and v2 share, in the real server's order (§4.5)."""
        domain = self._mailbox_scope(caller, domain_name)
        if target_domain is not None:
            self._require_allowed(caller, target_domain)
            if target_domain not in self.domains:
                raise errors.not_found(errors.TARGET_DOMAIN_NOT_FOUND)
            raise errors.unprocessable(errors.NOT_YET_IMPLEMENTED)
        if "mailbox" not in domain.features:
            raise errors.unprocessable(errors.feature_not_available("mailbox"))
        row = self.mailboxes.get((domain_name, local))
        if row is None:
            raise errors.not_found(errors.MAILBOX_NOT_FOUND)
        if user_name is not None:
            raise errors.unprocessable(errors.NOT_YET_IMPLEMENTED)
        ox = None
        if "webmail" in domain.features:
            context = self._context_mapping(domain_name)
            if context is None:
                raise errors.not_found(errors.OX_DOMAIN_NOT_FOUND)
            ox = context.user_by_email(row.email)
            if ox is None:
                raise errors.not_found(errors.OX_MAILBOX_NOT_FOUND)
        return domain, row, ox

    @staticmethod
    def _activity(caller: Caller, current: str, wanted: models.MailboxActive | None) -> str:
        if wanted is None or wanted is models.MailboxActive.unknown:
            return current
        if models.MailboxActive.wait in (wanted, current) and wanted.value != current and not caller.is_admin:
            raise errors.forbidden()  # only admins set or clear "wait" [spec]
        return wanted.value

    @_atomic
    def update_mailbox(self, caller: Caller, domain_name: str, local: str, body: models.UpdateMailbox) -> models.Mailbox:
        domain, row, ox = self._editable_mailbox(caller, domain_name, local, body.domain, body.user_name)
        active = self._activity(caller, self._v1_active(row), body.active)
        if ox is not None:
            # Names are written as sent; the display name is not recomputed (§6 #7).
            ox.given_name = body.givenName if body.givenName is not None else ox.given_name
            ox.sur_name = body.surName if body.surName is not None else ox.sur_name
            ox.display_name = body.displayName if body.displayName is not None else ox.display_name
        if body.active not in (None, models.MailboxActive.unknown):
            row.imap_active = row.smtp_active = active
        self._update_dovecot(row, body.additionalSenders, body.rate_limit, body.store)
        return self._mailbox_view(domain, row.email)

    @staticmethod
    def _update_dovecot(row: MailboxRecord, senders: list[str] | None, rate_limit: str | None, store: str | None) -> None:
        if senders is not None:
            row.additional_senders = list(senders)
        if rate_limit is not None:
            row.rate_limit = rate_limit
        if store is not None:
            row.store = store

    @_atomic
    def delete_mailbox(self, caller: Caller, domain_name: str, local: str) -> None:
        domain, row, ox = self._editable_mailbox(caller, domain_name, local, None, None)
        del self.mailboxes[(domain_name, local)]
        if ox is not None:
            context = self._context_mapping(domain_name)
            assert context is not None
            del context.users[ox.username]
        for code in [c for c, r in self.codes.items() if (r.domain, r.local) == (domain_name, local)]:
            del self.codes[code]

    @_atomic
    def create_mailbox_v2(
        self, caller: Caller, domain_name: str, local: str, body: models.CreateMailbox2
    ) -> models.NewMailbox:
        domain = self._mailbox_scope(caller, domain_name)
        features = {f.value for f in body.features}
        names = None
        if "ox" in features:
            if "webmail" not in domain.features:
                raise errors.unprocessable(errors.feature_not_available("webmail"))
            if body.extras is None or body.extras.ox is None:
                raise errors.unprocessable(errors.MISSING_OX_EXTRAS)
            ox = body.extras.ox
            names = (ox.given_name, ox.sur_name, ox.display_name)
        self._refuse_duplicate(domain, local, names[2] if names else "\0")
        schedule = None
        if "schedule" in features:
            schedule = body.extras.schedule.max if body.extras and body.extras.schedule else 12
        return self._add_mailbox(
            domain,
            local,
            names,
            schedule_max=schedule,
            additional_senders=list(body.additionalSenders or []),
            rate_limit=body.rate_limit,
            store=body.store,
            quota=body.quota,
        )

    @_atomic
    def update_mailbox_v2(
        self, caller: Caller, domain_name: str, local: str, body: models.UpdateMailbox2
    ) -> models.Mailbox2:
        domain, row, ox = self._v2_editable(caller, domain_name, local, body)
        current = (["ox"] if ox else []) + (["schedule"] if row.schedule_max is not None else [])
        features = current if body.features is None else apply_list_change(current, body.features)
        unknown = [f for f in features if f not in models.MailboxFeature.__members__]
        if unknown:
            raise errors.unprocessable(errors.unknown_feature(unknown[0]))
        extras = body.extras
        new_ox = None
        if "ox" in features and ox is None:
            if "webmail" not in domain.features:
                raise errors.unprocessable(errors.feature_not_available("webmail"))
            names = extras.ox if extras else None
            if names is None or None in (names.given_name, names.sur_name, names.display_name):
                raise errors.unprocessable(errors.MISSING_OX_EXTRAS)
            self._refuse_duplicate_ox(domain, local, names.display_name or "")
            new_ox = OxUser(local, row.email, names.given_name or "", names.sur_name or "", names.display_name or "")
        imap = self._activity(caller, row.imap_active, body.imap_active)
        smtp = self._activity(caller, row.smtp_active, body.smtp_active)
        # Every refusal is behind us: apply.
        context = self._context_mapping(domain_name)
        if new_ox is not None and context is not None:
            context.users[local] = new_ox
        elif "ox" not in features and ox is not None and context is not None:
            del context.users[ox.username]
        elif ox is not None and extras is not None and extras.ox is not None:
            ox.given_name = extras.ox.given_name if extras.ox.given_name is not None else ox.given_name
            ox.sur_name = extras.ox.sur_name if extras.ox.sur_name is not None else ox.sur_name
            ox.display_name = extras.ox.display_name if extras.ox.display_name is not None else ox.display_name
        if "schedule" in features:
            schedule = extras.schedule.max if extras and extras.schedule else None
            row.schedule_max = schedule if schedule is not None else (row.schedule_max or 12)
        else:
            row.schedule_max = None
        row.imap_active, row.smtp_active = imap, smtp
        self._update_dovecot(row, body.additionalSenders, body.rate_limit, body.store)
        if body.quota is not None:
            row.quota = body.quota or None
        return self._mailbox2_view(domain, row.email, True)

    def _v2_editable(
        self, caller: Caller, domain_name: str, local: str, body: models.UpdateMailbox2
    ) -> tuple[DomainRecord, MailboxRecord, OxUser | None]:
        domain = self._mailbox_scope(caller, domain_name)
        if body.domain is not None or body.user_name is not None:
            return self._editable_mailbox(caller, domain_name, local, body.domain, body.user_name)
        if "mailbox" not in domain.features:
            raise errors.unprocessable(errors.feature_not_available("mailbox"))
        row = self.mailboxes.get((domain_name, local))
        if row is None:
            raise errors.not_found(errors.MAILBOX_NOT_FOUND)
        return domain, row, self._ox_user(domain, local)

    def _refuse_duplicate_ox(self, domain: DomainRecord, local: str, display_name: str) -> None:
        """OX usernames are unique per context; People found display names are too, case aside."""
        context = self._ox_context_of(domain)
        if context is None:
            return
        if local in context.users:
            raise ServerCrash("OX username already used in the context")
        wanted = display_name.casefold()
        if any(u.display_name.casefold() == wanted for u in context.users.values()):
            raise ServerCrash("OX display name already used in the context")

    def _dovecot_row(self, caller: Caller, domain_name: str, local: str) -> MailboxRecord:
        self._mailbox_scope(caller, domain_name)
        row = self.mailboxes.get((domain_name, local))
        if row is None:
            raise errors.not_found(errors.MAILBOX_NOT_FOUND)
        return row

    @_atomic
    def reset_password(self, caller: Caller, domain_name: str, local: str) -> models.NewMailbox:
        row = self._dovecot_row(caller, domain_name, local)
        password = new_password()
        row.password_hash = _hash(password)
        return models.NewMailbox(email=row.email, password=password)

    @_atomic
    def force_password(
        self, caller: Caller, domain_name: str, local: str, body: models.MailboxForcePassword
    ) -> models.NewMailbox:
        row = self._dovecot_row(caller, domain_name, local)
        if body.restore_password:
            if row.saved_hash is None:
                raise errors.not_found(errors.NO_SAVED_PASSWORD)
            # Only a hash was kept: the clear password cannot be shown (guess: "").
            row.password_hash, row.saved_hash = row.saved_hash, None
            return models.NewMailbox(email=row.email, password="")
        password = body.password if body.password is not None else new_password()  # guess: null generates
        if body.save_password:
            row.saved_hash = row.password_hash
        row.password_hash = _hash(password)
        return models.NewMailbox(email=row.email, password=password)

    @_atomic
    def check_password(self, caller: Caller, domain_name: str, local: str, password: str) -> bool:
        return _verify(password, self._dovecot_row(caller, domain_name, local).password_hash)

    # --- login codes (CONTRACT.md §4.7) ------------------------------------

    @_atomic
    def create_code(
        self, caller: Caller, domain_name: str, local: str, body: models.CreateMailboxCode
    ) -> models.MailboxCode:
        row = self._dovecot_row(caller, domain_name, local)
        now = int(self.clock())
        expires_at = None if body.expires_in is None else now + body.expires_in
        record = CodeRecord(secrets.token_urlsafe(24), row.domain, row.local, expires_at, body.maxuse)
        self.codes[record.code] = record
        return self._code_view(record)

    @_atomic
    def use_code(self, caller: Caller, code: str) -> models.MailboxCode:
        record = self.codes.get(code)
        now = self.clock()
        usable = record is not None and (
            (record.expires_at is None or now < record.expires_at)
            and (record.maxuse is None or record.nbuse < record.maxuse)
            and (record.domain, record.local) in self.mailboxes
        )
        if not usable:
            raise errors.not_found(errors.CODE_NOT_FOUND)
        assert record is not None
        record.nbuse += 1
        return self._code_view(record)

    def _code_view(self, record: CodeRecord) -> models.MailboxCode:
        # "time left" is computed as the answer is built: 3600 reads 3599 (People's fixture).
        left = None if record.expires_at is None else max(0, int(record.expires_at - self.clock() - 1e-9))
        return models.MailboxCode(
            email=f"{record.local}@{record.domain}",
            code=record.code,
            expires_at=record.expires_at,
            expires_in=left,
            maxuse=record.maxuse,
            nbuse=record.nbuse,
        )

    # --- address (CONTRACT.md §4.10) ---------------------------------------

    @_atomic
    def address(self, caller: Caller, domain_name: str, local: str) -> models.Address:
        domain = self._mailbox_scope(caller, domain_name)
        context = self._ox_context_of(domain)
        ox = None
        if context is not None:
            ox = context.users.get(local) or context.user_by_email(f"{local}@{domain_name}")
        return models.Address.model_construct(
            domain_name=domain_name,
            user_name=local,
            is_alias=any(k[:2] == (domain_name, local) for k in self.aliases),
            is_mailbox=(domain_name, local) in self.mailboxes,
            is_forward=False,
            is_ox=ox is not None,
            ox_primary_email=ox.email if ox else None,
            ox_senders=list(ox.senders) if ox else None,
        )

    # --- aliases (CONTRACT.md §4.11) ---------------------------------------

    @staticmethod
    def _alias_view(alias: AliasRecord) -> models.Alias:
        return models.Alias(
            username=alias.local, domain=alias.domain, destination=alias.destination, allow_to_send=alias.allow_to_send
        )

    @_atomic
    def list_aliases(self, caller: Caller, domain: str, user_name: str, destination: str) -> list[models.Alias]:
        self._require_allowed(caller, domain)
        if destination and not user_name:
            raise ApiError(412, errors.ONLY_DESTINATION)
        found = [
            self._alias_view(a)
            for a in self.aliases.values()
            if a.domain == domain
            and (not user_name or a.local == user_name)
            and (not destination or a.destination == destination)
        ]
        if user_name and destination and not found:
            raise errors.not_found(errors.ALIAS_NOT_FOUND)
        return found

    @_atomic
    def create_alias(self, caller: Caller, domain: str, body: models.CreateAlias) -> models.Alias:
        # Neither the domain's existence nor its `alias` feature is checked (§6 #15).
        self._require_allowed(caller, domain)
        key = (domain, body.user_name, body.destination)
        if key in self.aliases:
            raise errors.conflict(errors.ALIAS_EXISTS)
        alias = AliasRecord(domain, body.user_name, body.destination, bool(body.allow_to_send), body.description)
        self.aliases[key] = alias
        return self._alias_view(alias)

    @_atomic
    def update_alias(
        self, caller: Caller, domain: str, local: str, destination: str, body: models.UpdateAlias
    ) -> models.Alias:
        self._require_allowed(caller, domain)
        alias = self.aliases.get((domain, local, destination))
        if alias is None:
            raise errors.not_found(errors.ALIAS_NOT_FOUND)
        if body.allow_to_send is not None:
            alias.allow_to_send = body.allow_to_send
        if body.description is not None:
            alias.description = body.description
        return self._alias_view(alias)

    @_atomic
    def delete_alias(self, caller: Caller, domain: str, local: str, destination: str) -> None:
        self._require_allowed(caller, domain)
        keys: Iterable[tuple[str, str, str]]
        if destination == "all":
            keys = [k for k in self.aliases if k[:2] == (domain, local)]
        else:
            keys = [k for k in [(domain, local, destination)] if k in self.aliases]
        if not keys:
            raise errors.not_found(errors.NOT_FOUND)
        for key in keys:
            del self.aliases[key]
