"""The rows the backend stores: plain mutable records, no behaviour.

They mirror dimail's own stores (API database, Dovecot, Postfix, OX) so that
the rules in `backend/` can be read against CONTRACT.md §5.
"""

from __future__ import annotations

from uuid import UUID, uuid4
from dataclasses import dataclass, field

from .errors import NOT_CHECKED
from .store import Store

EXTERNAL_CHECKS = ("domain_exist", "mx", "cname_imap", "cname_smtp", "cname_webmail", "spf", "dkim")
INTERNAL_CHECKS = ("webmail_ok", "postfix", "ox", "cert")
CHECK_NAMES = EXTERNAL_CHECKS + INTERNAL_CHECKS


@dataclass(frozen=True)
class Caller:
    """Who a request acts as, once authenticated."""

    name: str
    is_admin: bool
    perms: frozenset[str] = frozenset()


@dataclass(slots=True)
class UserRecord:
    name: str
    password_hash: str | None  # None: created with the password "no", cannot log in
    is_admin: bool
    perms: list[str]
    acls: list[str] = field(default_factory=list)
    identities: list[str] = field(default_factory=list)
    manager: str | None = None
    uuid: UUID = field(default_factory=uuid4)


@dataclass(slots=True)
class CheckResult:
    ok: bool
    internal: bool
    errors: list[tuple[str, str]] = field(default_factory=list)


def unchecked_results() -> dict[str, CheckResult]:
    return {name: CheckResult(False, name in INTERNAL_CHECKS, [NOT_CHECKED]) for name in CHECK_NAMES}


@dataclass(slots=True)
class Platform:
    """dimail's own side of a domain, as the internal checks see it (CHECKS.md §4).

    Steered by tests through `/_fake/`: nothing in the real API shows or sets it.
    """

    broken: set[str] = field(default_factory=set)  # of webmail_ok, postfix, ox
    unfixable: set[str] = field(default_factory=set)  # internal checks /fix leaves as they are
    certificate: frozenset[str] | None = None  # the host names it covers; None: no certificate yet
    certs_on_check: bool = False  # issue the certificate during /check too, not only /fix


@dataclass(slots=True)
class DomainRecord:
    name: str
    features: list[str]
    delivery: str = "virtual"
    webmail_domain: str = ""
    imap_domain: str = ""
    smtp_domain: str = ""
    mx_name: str = "internal"
    context_name: str | None = None
    transport: str | None = None
    schema_name: str | None = None
    public_alias: bool = False
    public_alias_rules: list[str] = field(default_factory=list)
    webmail: str | None = None
    store_name: str | None = None
    state: str = "new"
    active: bool = False
    moving: bool = False
    checks: dict[str, CheckResult] = field(default_factory=unchecked_results)
    checked_at: float | None = None  # stored, never shown, as dimail does
    # Given the first time something needs it (from dkim.py's set, no generation), then kept for
    # the domain's life: nobody can tell it from a key made at creation.
    dkim_public: str | None = None
    platform: Platform = field(default_factory=Platform)


@dataclass(slots=True)
class OxUser:
    username: str
    email: str
    given_name: str
    sur_name: str
    display_name: str
    senders: list[str] = field(default_factory=list)


def ox_users(rows: dict[str, OxUser] | None = None) -> Store[str, OxUser]:
    """A context's users by OX username, found too by e-mail, by e-mail domain and by display name
    (casefolded: People finds display names unique case aside)."""
    return Store(
        (rows or {}).items(),
        email=lambda _, user: (user.email,),
        mail_domain=lambda _, user: (user.email.rpartition("@")[2],),
        display_name=lambda _, user: (user.display_name.casefold(),),
    )


@dataclass(slots=True)
class OxContext:
    id: int
    name: str
    domains: list[str] = field(default_factory=list)  # changed only through State.map_domain/unmap_domain
    users: Store[str, OxUser] = field(default_factory=ox_users)  # by OX username

    def user_by_email(self, email: str) -> OxUser | None:
        return self.users.first_by("email", email)


@dataclass(slots=True)
class MailboxRecord:
    """A Dovecot row (the OX side, when there is one, lives in its context)."""

    domain: str
    local: str
    password_hash: str
    imap_active: str = "yes"
    smtp_active: str = "yes"
    saved_hash: str | None = None
    schedule_max: int | None = None  # set when the `schedule` feature is on
    additional_senders: list[str] = field(default_factory=list)
    rate_limit: str | None = None
    store: str | None = None
    quota: str | None = None

    @property
    def email(self) -> str:
        return f"{self.local}@{self.domain}"


@dataclass(slots=True)
class AliasRecord:
    domain: str
    local: str
    destination: str
    allow_to_send: bool = False
    description: str | None = None


@dataclass(slots=True)
class CodeRecord:
    code: str
    domain: str
    local: str
    expires_at: int | None
    maxuse: int | None
    nbuse: int = 0


# --- forwards and public aliases ---------------------------------------------------


@dataclass(slots=True)
class ForwardRecord:
    """A Postfix forward: mail for `local@domain` is relayed to `nexthop`."""

    domain: str
    local: str
    nexthop: str


@dataclass(slots=True)
class PublicAliasRecord:
    """A random alias on a public-alias domain that delivers to one mailbox."""

    domain: str
    local: str
    destination: str
    description: str
# --- system: rate-limit profiles, platform moves, mail queue ------------------------------


@dataclass(slots=True)
class RateLimitRecord:
    name: str
    limits: list[tuple[int, int]] = field(default_factory=list)  # (seconds, emails)


@dataclass(slots=True)
class MoveRecord:
    """A domain between two platforms: coming here (`moving_from`) or leaving (`moving_to`)."""

    domain: str
    moving_from: str | None = None
    moving_to: str | None = None


@dataclass(slots=True)
class MailboxMoveRecord:
    """A mailbox of a domain moving here whose IMAP data is still on the other platform."""

    domain: str
    local: str


@dataclass(slots=True)
class DatabaseRecord:
    name: str
    schema_name: str


@dataclass(slots=True)
class QueuedMail:
    queue_id: str
    domain: str
    local: str


# --- app passwords, secondary accounts, ProConnect identities -----------------


@dataclass(slots=True)
class AppPasswordRecord:
    """An app password of an OX mailbox: only its hash is kept, the secret is shown once."""

    uuid: str  # canonical text form: the path's `{uuid}` is a plain string
    domain: str
    local: str
    name: str
    type: str
    password_hash: str
    last_use: str | None = None
    client: str | None = None
    user_agent: str | None = None
    ip_address: str | None = None


@dataclass(slots=True)
class SecondaryRecord:
    """`<local>@<domain>` (the master) may open `<secondary_local>@<secondary_domain>`, in IMAP and OX."""

    domain: str
    local: str
    secondary_domain: str
    secondary_local: str
    display_name: str | None = None

    @property
    def secondary(self) -> str:
        return f"{self.secondary_local}@{self.secondary_domain}"


@dataclass(slots=True)
class IdentityRecord:
    """A ProConnect identity allowed to open the mailbox `<local>@<domain>`."""

    proconnect: str
    domain: str
    local: str

    @property
    def email(self) -> str:
        return f"{self.local}@{self.domain}"


# --- logs -------------------------------------------------------------------------


@dataclass(slots=True)
class CrashRecord:
    """One deliberate 500, as dimail would have written its crash log file."""

    name: str
    time: float
    method: str
    path: str
    user: str | None
    reason: str
