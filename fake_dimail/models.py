"""Request and response bodies, as the v0.8.2 OpenAPI document declares them.

Request models are what FastAPI validates, so their field order, types and
constraints decide the exact 422 bodies; response models fix the field order
of every answer. Names follow the document's component schemas.

No `from __future__ import annotations` here: pydantic would then evaluate each field's annotation
from its text, a third of what this module cost to import. A field naming a class defined further
down quotes it.
"""

import enum
import functools
import os
import uuid as uuid_module
from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated, Any, Literal, TypeVar, overload

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, field_validator
from typing_extensions import TypeAliasType

from .errors import BREAKABLE_CHECKS

_LABEL = r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?"
_DOMAIN = rf"{_LABEL}(\.{_LABEL}){{0,10}}\.[a-z]{{2,}}"
_LOCAL = r"[a-z0-9_-]+(\.[a-z0-9_-]+)*"

DOMAIN_NAME_PATTERN = rf"^{_DOMAIN}$"
USER_NAME_PATTERN = rf"^{_LOCAL}$"


def _constrained(name: str, min_length: int, max_length: int, pattern: str) -> Any:
    return TypeAliasType(
        name,
        Annotated[str, StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern)],
    )


DomainName = _constrained("DomainName", 3, 120, DOMAIN_NAME_PATTERN)
OptionalDomainName = _constrained("OptionalDomainName", 0, 120, rf"^({_DOMAIN}|)$")
UserName = _constrained("UserName", 1, 50, USER_NAME_PATTERN)
AliasDest = _constrained("AliasDest", 5, 200, rf"^{_LOCAL}@({_DOMAIN}|(devnull))$")
MXName = _constrained("MXName", 3, 120, rf"^({_DOMAIN}|internal)$")
OptionalMXName = _constrained("OptionalMXName", 0, 120, rf"^({_DOMAIN}|internal|)$")
Transport = _constrained("Transport", 5, 200, rf"^smtp:\[{_DOMAIN}\]$")
OptionalTransport = _constrained("OptionalTransport", 0, 200, rf"^(smtp:\[{_DOMAIN}\]|)$")
QuotaValue = _constrained("QuotaValue", 2, 8, r"^[1-9][0-9]*[bkMGT]$")
OptionalQuotaValue = _constrained("OptionalQuotaValue", 0, 8, r"^([1-9][0-9]*[bkMGT]|)$")

# Path parameters that the real server validates (CONTRACT.md §1.7).
PathUserName = Annotated[str, Field(min_length=1, max_length=50, pattern=USER_NAME_PATTERN)]
PathDomainName = Annotated[str, Field(min_length=3, max_length=120, pattern=DOMAIN_NAME_PATTERN)]


class DomainFeature(str, enum.Enum):
    webmail = "webmail"
    mailbox = "mailbox"
    alias = "alias"
    mx = "mx"
    relay = "relay"


class Delivery(str, enum.Enum):
    virtual = "virtual"
    alias = "alias"
    relay = "relay"


class MailboxActive(str, enum.Enum):
    yes = "yes"
    no = "no"
    wait = "wait"
    unknown = "unknown"


class MailboxFeature(str, enum.Enum):
    ox = "ox"
    schedule = "schedule"


class MailboxStatus(str, enum.Enum):
    ok = "ok"
    broken = "broken"
    unknown = "unknown"


class MailboxType(str, enum.Enum):
    alias = "alias"
    mailbox = "mailbox"


class Body(BaseModel):
    """Every body: its validator and serialiser are made when first needed, not at import (a route is
    built, a body validated): a fifth of what importing the fake cost."""

    model_config = ConfigDict(defer_build=True)


def stop_deferring() -> None:
    """From now on, an adapter of a body is built when made, not at its first use.

    Called before the first route is built (`strict_json.LazyRoute`): FastAPI makes its adapters of
    the route's bodies inside a filter of pydantic's UnsupportedFieldAttributeWarning (about the
    parameter's alias), and an adapter still deferred then would be built, and warn, outside of it,
    in a user's test run.
    """
    bodies = [Body]
    while bodies:
        body = bodies.pop()
        body.model_config["defer_build"] = False
        bodies.extend(body.__subclasses__())


# --- listings: rows sent as JSON, models for Python callers ------------------------

M = TypeVar("M", bound=BaseModel)
Row = dict[str, Any]

# Set by the test suite (tests/conftest.py; the servers it starts inherit it): every row of a `Listing`
# is then validated too, and must serialise exactly as its model does.
CHECK_ROWS = os.environ.get("FAKE_DIMAIL_CHECK_ROWS") == "1"


class Listing(Sequence[M]):
    """A listing as the backend builds it: rows, one JSON-ready dict per item, holding the model's fields
    in the model's order as validation then serialisation would give them (enum values, not members;
    tuples for lists; nested bodies as dicts).

    The rows are turned into the JSON answer as they come, a few hundred at a time, and dropped: no
    model is built and validated per item, and nothing the listing builds lives long enough for the
    garbage collector to walk it (a listing of 10,000 spent most of its time on both). The routes send
    `json()` as it is (`strict_json.DimailRoute`); Python callers (FakeDimail, tests) see a sequence
    of models, validated from that JSON on first use.
    """

    __slots__ = ("model", "_json", "_count", "_models")

    def __init__(self, model: type[M], rows: Iterable[Row]) -> None:
        self.model = model
        self._json, self._count = _json_array(model, rows)
        self._models: list[M] | None = None

    def json(self) -> bytes:
        """The JSON body, byte for byte what FastAPI sends for `list[model]`."""
        return self._json

    def _items(self) -> list[M]:
        if self._models is None:
            self._models = _list_adapter(self.model).validate_json(self._json)
        return self._models

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> M: ...
    @overload
    def __getitem__(self, index: slice) -> list[M]: ...
    def __getitem__(self, index: int | slice) -> M | list[M]:
        return self._items()[index]

    def __iter__(self) -> Iterator[M]:
        return iter(self._items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Listing):
            return self.model is other.model and self._json == other._json
        return self._items() == other if isinstance(other, list) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._items())


_CHUNK = 256


def _json_array(model: type[BaseModel], rows: Iterable[Row]) -> tuple[bytes, int]:
    """`rows` as one JSON array, serialised `_CHUNK` rows at a time; and how many there were."""
    arrays: list[bytes] = []
    chunk: list[Row] = []
    count = 0
    for row in rows:
        if CHECK_ROWS:
            check_row(model, row)
        chunk.append(row)
        if len(chunk) == _CHUNK:
            arrays.append(pydantic_core.to_json(chunk))
            count += _CHUNK
            chunk.clear()
    if chunk or not arrays:
        arrays.append(pydantic_core.to_json(chunk))
        count += len(chunk)
    if len(arrays) == 1:
        return arrays[0], count
    # One copy: the chunks' arrays joined, the first keeping its "[", the last its "]".
    views = [memoryview(array)[1:-1] for array in arrays]
    views[0], views[-1] = memoryview(arrays[0])[:-1], memoryview(arrays[-1])[1:]
    return b",".join(views), count


@functools.cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def check_row(model: type[BaseModel], row: Row) -> None:
    """A row must be what validating it and serialising the model gives, byte for byte and key for key."""
    body = model.model_validate(row)
    assert list(row) == list(model.model_fields), f"{model.__name__}: keys {list(row)}"
    assert pydantic_core.to_json(row) == body.model_dump_json().encode(), (row, body)


# --- errors ----------------------------------------------------------------


class Detail(Body):
    detail: str


class NotFound(Detail):
    pass


class PermissionDenied(Detail):
    pass


class Conflict(Detail):
    pass


class PreconditionFailed(Detail):
    pass


class Moving(Detail):
    pass


# --- token, users, allows --------------------------------------------------


class Token(Body):
    access_token: str
    token_type: str


class CreateUser(Body):
    name: str
    password: str
    is_admin: bool
    perms: list[str]
    acls: list[str] = []
    identities: list[str] = []


class UpdateUser(Body):
    password: str | None = None
    is_admin: bool | None = None
    perms: list[str] | None = None
    acls: list[str] | None = None
    identities: list[str] | None = None


class User(Body):
    name: str
    is_admin: bool
    uuid: uuid_module.UUID
    perms: list[str]
    acls: list[str]
    identities: list[str]


class Allowed(Body):
    user: str
    domain: str


# --- domains ---------------------------------------------------------------


class TestErr(Body):
    code: str
    detail: str


class TestResult(Body):
    __test__ = False  # not a pytest class, whatever its name says
    ok: bool = True
    internal: bool = False
    errors: list[TestErr] = []


class CreateDomain(Body):
    name: DomainName
    delivery: Delivery = Delivery.virtual
    features: list[DomainFeature]
    webmail_domain: str = ""
    imap_domain: str = ""
    smtp_domain: str = ""
    mx_name: MXName = "internal"
    context_id: int | None = None
    context_name: str | None = None
    transport: Transport | None = None
    schema_name: str | None = None
    public_alias: bool | None = None
    public_alias_rules: list[str] | None = None
    webmail: str | None = None
    store_name: str | None = None


class UpdateDomain(Body):
    delivery: Delivery | None = None
    transport: OptionalTransport | None = None
    features: list[str] | None = None
    active: bool | None = None
    webmail_domain: OptionalDomainName | None = None
    imap_domain: OptionalDomainName | None = None
    smtp_domain: OptionalDomainName | None = None
    mx_name: OptionalMXName | None = None
    context_name: str | None = None
    schema_name: str | None = None
    public_alias: bool | None = None
    public_alias_rules: list[str] | None = None
    webmail: str | None = None
    store_name: str | None = None


_EXTERNAL = {"ok": True, "internal": False, "errors": []}
_INTERNAL = {"ok": True, "internal": True, "errors": []}


class Domain(Body):
    name: str
    state: str
    valid: bool = True
    active: bool = False
    delivery: Delivery | str
    features: list[DomainFeature]
    webmail: str | None = None
    webmail_domain: str | None = None
    imap_domain: str | None = None
    smtp_domain: str | None = None
    mx_name: str
    context_name: str | None = None
    transport: str | None = None
    public_alias: bool = False
    public_alias_rules: list[str] = []
    store_name: str | None = None
    domain_exist: TestResult = TestResult.model_validate(_EXTERNAL)
    mx: TestResult = TestResult.model_validate(_EXTERNAL)
    cname_imap: TestResult = TestResult.model_validate(_EXTERNAL)
    cname_smtp: TestResult = TestResult.model_validate(_EXTERNAL)
    cname_webmail: TestResult = TestResult.model_validate(_EXTERNAL)
    spf: TestResult = TestResult.model_validate(_EXTERNAL)
    dkim: TestResult = TestResult.model_validate(_EXTERNAL)
    webmail_ok: TestResult = TestResult.model_validate(_INTERNAL)
    postfix: TestResult = TestResult.model_validate(_INTERNAL)
    ox: TestResult = TestResult.model_validate(_INTERNAL)
    cert: TestResult = TestResult.model_validate(_INTERNAL)


class DomainSpec(Body):
    target: str
    type: str
    value: str


# --- mailboxes -------------------------------------------------------------


class CreateMailbox(Body):
    givenName: str | None = None
    surName: str | None = None
    displayName: str | None = None
    additionalSenders: list[str] | None = None
    rate_limit: str | None = None
    store: str | None = None


class UpdateMailbox(Body):
    domain: DomainName | None = None
    user_name: UserName | None = None
    givenName: str | None = None
    surName: str | None = None
    displayName: str | None = None
    active: MailboxActive | None = None
    additionalSenders: list[str] | None = None
    rate_limit: str | None = None
    store: str | None = None


class Mailbox(Body):
    type: MailboxType
    status: MailboxStatus
    active: MailboxActive
    email: str
    givenName: str | None = None
    surName: str | None = None
    displayName: str | None = None
    additionalSenders: list[str]
    rate_limit: str | None = None


class NewMailbox(Body):
    email: str
    password: str


class MailboxExtraOx(Body):
    model_config = ConfigDict(extra="allow")
    given_name: str
    sur_name: str
    display_name: str


class MailboxExtraSchedule(Body):
    max: int = 12


class MailboxExtra(Body):
    ox: MailboxExtraOx | None = None
    schedule: MailboxExtraSchedule | None = None


class UpdateMailboxExtraOx(Body):
    model_config = ConfigDict(extra="allow")
    given_name: str | None = None
    sur_name: str | None = None
    display_name: str | None = None


class UpdateMailboxExtraSchedule(Body):
    max: int = 12


class UpdateMailboxExtra(Body):
    ox: UpdateMailboxExtraOx | None = None
    schedule: UpdateMailboxExtraSchedule | None = None


class CreateMailbox2(Body):
    features: list[MailboxFeature]
    extras: MailboxExtra | None = None
    additionalSenders: list[str] | None = None
    rate_limit: str | None = None
    store: str | None = None
    quota: QuotaValue | None = None


class UpdateMailbox2(Body):
    domain: DomainName | None = None
    user_name: UserName | None = None
    features: list[str] | None = None
    extras: UpdateMailboxExtra | None = None
    imap_active: MailboxActive | None = None
    smtp_active: MailboxActive | None = None
    additionalSenders: list[str] | None = None
    rate_limit: str | None = None
    store: str | None = None
    quota: OptionalQuotaValue | None = None


class Mailbox2(Body):
    type: MailboxType
    imap_active: MailboxActive
    smtp_active: MailboxActive
    email: str
    features: list[MailboxFeature] | None = None
    extras: MailboxExtra | None = None
    dirty_quirks: dict[str, Any] | None = None
    additionalSenders: list[str]
    rate_limit: str | None = None
    quota: QuotaValue | None = None


class CreateMailboxCode(Body):
    expires_in: int | None = 3600
    maxuse: int | None = 1


class MailboxCode(Body):
    email: str
    code: str
    expires_at: int | None
    expires_in: int | None
    maxuse: int | None
    nbuse: int


class MailboxForcePassword(Body):
    password: str | None
    save_password: bool = True
    restore_password: bool = False


class MailboxPassword(Body):
    password: str


class Address(Body):
    domain_name: DomainName
    user_name: UserName
    is_alias: bool = False
    is_mailbox: bool = False
    is_forward: bool = False
    is_ox: bool = False
    ox_primary_email: str | None = None
    ox_senders: list[str] | None = None


# --- aliases ---------------------------------------------------------------


class CreateAlias(Body):
    user_name: UserName
    destination: AliasDest
    allow_to_send: bool | None = None
    description: str | None = None


class UpdateAlias(Body):
    allow_to_send: bool | None = None
    description: str | None = None


class Alias(Body):
    username: str
    domain: str
    destination: str
    allow_to_send: bool | None = None


# --- the fake's own control plane (/_fake/): not part of dimail ----------------

_HOST = r"[A-Za-z0-9_*-]+(\.[A-Za-z0-9_-]+)*\.?"
DNS_NAME_PATTERN = rf"^{_HOST}$"
DnsName = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_NAME_PATTERN)]


class DnsRecordType(str, enum.Enum):
    mx = "mx"
    cname = "cname"
    txt = "txt"
    ns = "ns"


class DnsRecord(Body):
    """One record of a simulated zone, in the shape /spec returns."""

    model_config = ConfigDict(extra="forbid")

    target: Annotated[str, Field(max_length=253, pattern=rf"^({_HOST})?$")] = Field(
        description='relative to the zone ("" = its apex, "imap", "dimail._domainkey"), or absolute with a final dot'
    )
    type: DnsRecordType
    value: Annotated[str, Field(min_length=1, max_length=4096)] = Field(
        description='mx: "[preference ]host"; cname/ns: a host; txt: the text'
    )


class DnsPreset(str, enum.Enum):
    spec = "spec"
    wrong = "wrong"
    exists = "exists"


class InternalCheck(str, enum.Enum):
    webmail_ok = "webmail_ok"
    postfix = "postfix"
    ox = "ox"
    cert = "cert"


class PlatformState(Body):
    """dimail's side of a domain, as its internal checks see it."""

    broken: list[InternalCheck] = Field(description="internal items a test has broken (not cert)")
    unfixable: list[InternalCheck] = Field(description="internal checks /fix cannot repair")
    certificate: bool = Field(description="a certificate covers the domain's current host names (what `cert` checks)")
    certificate_hosts: list[str] = Field(description="the names the certificate covers, if any")
    certs_on_check: bool = Field(description="/check issues the certificate too (not only /fix)")


class PlatformChange(Body):
    model_config = ConfigDict(extra="forbid")

    broken: list[InternalCheck] | None = None
    unfixable: list[InternalCheck] | None = None
    certificate: bool | None = None
    certs_on_check: bool | None = None

    @field_validator("broken")
    @classmethod
    def _breakable(cls, value: list[InternalCheck] | None) -> list[InternalCheck] | None:
        if value is not None and InternalCheck.cert in value:
            raise ValueError(BREAKABLE_CHECKS)
        return value


class PeopleStatus(str, enum.Enum):
    pending = "pending"
    enabled = "enabled"
    action_required = "action_required"
    failed = "failed"
    disabled = "disabled"


class SeedStatus(str, enum.Enum):
    ok = "ok"
    broken = "broken"
    new = "new"


CheckName = Literal["domain_exist", "mx", "cname_imap", "cname_smtp", "cname_webmail", "spf", "dkim",
                    "webmail_ok", "postfix", "ox", "cert"]


class StatusChange(BaseModel):
    """A domain's status in People's terms or in dimail's (one of the two)."""

    model_config = ConfigDict(extra="forbid")

    people_status: PeopleStatus | None = Field(default=None, description="where People's status logic must land: "
                                                                          "the dimail state and checks that make it")
    status: SeedStatus | None = Field(default=None, description="dimail's state: ok, broken (with `failing`), new")
    failing: list[CheckName] | None = Field(default=None, description="the checks that fail (broken, "
                                                                        "action_required, failed)")
    fixable: bool | None = Field(default=None, description="false: /fix leaves the failing internal checks broken")


class PeopleFailing(BaseModel):
    """A check failing in the answer People reads."""

    check: str
    internal: bool
    fixable: bool = Field(description="/fix would repair it (predicted on a copy: external checks never are)")
    code: str | None = Field(description="its first error's code")
    detail: str | None = Field(description="its first error's text (what People's domain page shows)")


class PeopleView(BaseModel):
    """What People would show for a domain after its next status fetch (`fake_dimail.people_status`)."""

    domain: str
    status: PeopleStatus = Field(description="People's status after the fetch")
    changed: bool = Field(description="false: People keeps the status it showed (`before`)")
    before: PeopleStatus = Field(description="the status People is assumed to show before (query `before`)")
    branch: str = Field(description="the rule's branch: ok, external, fixed, unfixed, nothing, other, error")
    why: str = Field(description="the reason, in one line")
    calls: list[str] = Field(description="the calls People sends, in order")
    pending_mailboxes: str = Field(description="what People does with its pending mailboxes (not in dimail yet)")
    state: str | None = Field(description="the `state` /check would answer now; null: it would crash (500)")
    failing: list[PeopleFailing] = Field(description="the checks failing in that answer")
    fix_state: str | None = Field(description="the `state` /fix would answer, predicted on a copy; null: "
                                              "People would not call it")
    last_status: PeopleStatus = Field(description="People's status from dimail's last answer (the stored checks)")
    stale: bool = Field(description="the stored checks differ from what /check would answer now")


class Operation(BaseModel):
    """One of dimail's operations: what a fault can match."""

    method: str
    path: str = Field(description="its path template")
    operation_id: str
    summary: str


class FaultMethod(str, enum.Enum):
    ANY = "*"
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    HEAD = "HEAD"


class FaultKind(str, enum.Enum):
    connection_error = "connection-error"
    timeout = "timeout"


class NewFault(Body):
    """What to inject, and into which requests."""

    model_config = ConfigDict(extra="forbid")

    method: FaultMethod = Field(description="`*`: every method")
    path: str = Field(description="an operation's path template (`/domains/{domain_name}/mailboxes/{user_name}`) "
                                  "or a concrete path; `*`: every path but `/_fake/` (with method `*`, "
                                  "answer `connection-error` and times null: dimail down)")
    answer: Annotated[int, Field(ge=200, le=599)] | FaultKind | None = Field(
        default=503, description="an HTTP status; `connection-error` (the server closes the connection); "
                                 "`timeout` (it stalls delay_ms, default 10 s, then closes); null: only delay")
    times: Annotated[int, Field(ge=1)] | None = Field(default=1, description="requests answered, as the server sees "
                                                                          "them (each retry of a client counts); "
                                                                          "null: every one")
    after: Annotated[int, Field(ge=0)] = Field(default=0, description="matching requests let through first")
    delay_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    body: Any = Field(default=None, description="the answer's body: JSON, or a string sent as text/plain; "
                                                "null: the status' reason phrase")


class Fault(NewFault):
    id: int
    seen: int = Field(description="matching requests so far")
    hits: int = Field(description="of them, answered by this fault")


# --- control plane: index, reset, journal (issue 15) --------------------------------------


class SeedName(str, enum.Enum):
    people_dev = "people-dev"
    empty = "empty"


class FakeIndex(Body):
    fake: str = Field(description="always `fake-dimail`: what answers here is not dimail")
    version: str = Field(description="the fake's version")
    imitates: str = Field(description="the dimail version whose API it answers as")
    settings: dict[str, Any] = Field(description="how it was started (secrets left out)")
    counts: dict[str, int] = Field(description="rows per store")
    links: dict[str, str] = Field(description="every control operation's path, by name")
    dashboard: str


class JournalBody(BaseModel):
    content_type: str | None = Field(description="the Content-Type header sent with it")
    size: int = Field(description="bytes, as sent")
    body: Any = Field(description="the JSON value when the body is JSON, else its text; null when empty. "
                                  "Secrets are redacted: `password`, `access_token` and a login code's `code` "
                                  "read `<redacted>`")


class JournalEntry(Body):
    id: int = Field(description="increasing over the server's life: `since=<id>` gives what came after")
    time: float = Field(description="when the request arrived, epoch seconds")
    method: str
    path: str = Field(description="with its query string")
    user: str | None = Field(description="who it acted as, once authenticated")
    status: int | None = Field(description="null: no answer (an injected connection error or timeout)")
    duration_ms: float
    fault: str | None = Field(description="what was injected instead of dimail's answer")
    # With `?bodies=1` only (absent otherwise):
    query: str | None = Field(default=None, description="`bodies=1`: the query string alone")
    auth: str | None = Field(default=None, description="`bodies=1`: how `user` authenticated, `basic` or "
                                                       "`bearer` (never the credentials)")
    operation: str | None = Field(default=None, description="`bodies=1`: the path template of the operation "
                                                            "that answered; null for a redirect, a 404, a fault")
    request: JournalBody | None = Field(default=None, description="`bodies=1`: what was sent")
    response: JournalBody | None = Field(default=None, description="`bodies=1`: what was answered (size 0 "
                                                                   "when nothing was)")
# --- forwards and public aliases -------------------------------------------------

_IPV4 = r"\d+\.\d+\.\d+\.\d+"
NextHop = _constrained(
    "NextHop", 3, 100, rf"^(smtp:{_DOMAIN}|smtp:\[{_DOMAIN}\]|mx:{_DOMAIN}|lmtp:inet:{_IPV4}(:\d+)?)$"
)
# The document's AddressName (public aliases, identities).
AddressName = _constrained("AddressName", 5, 200, rf"^{_LOCAL}@{_DOMAIN}$")


class Forward(Body):
    domain: DomainName
    username: UserName
    nexthop: str


class CreateForward(Body):
    nexthop: NextHop


class UpdateForward(Body):
    nexthop: NextHop


class PubAlias(Body):
    alias: str
    description: str


class CreatePubAlias(Body):
    domain: DomainName
    destination: AddressName
    description: str


class UpdatePubAlias(Body):
    description: str
# --- system (/system/…) -------------------------------------------------------


class ModuleStatus(Body):
    status: bool = True
    detail: list[str] = []


class ServerStatus(Body):
    remote_module: ModuleStatus
    certbot_module: ModuleStatus
    opendkim_module: ModuleStatus
    openxchange_module: ModuleStatus
    sql_api_module: ModuleStatus
    sql_dkim_module: ModuleStatus
    sql_imap_module: ModuleStatus
    sql_postfix_module: ModuleStatus
    business_module: ModuleStatus
    status: bool


class ApiVersion(Body):
    version: str
    changelog: list[str]


class TechDomain(Body):
    tech_name: str
    host_name: str


class Limit(Body):
    seconds: int
    emails: int


class RateLimit(Body):
    name: str
    limits: list[Limit]


class StoreInfo(Body):
    name: str
    host: str
    transport: str
    nb_mailboxes: int = 0
    used_inodes: int | None = None
    total_inodes: int = 0
    available_inodes: int = 0
    used_space: int | None = None
    total_space: int = 0
    available_space: int = 0


class MailboxStorage(str, enum.Enum):
    local = "local"
    proxy = "proxy"
    unknown = "unknown"


class MailboxInfo(Body):
    email: str
    storage: MailboxStorage = MailboxStorage.unknown
    store: str | None = None
    imap_dir: bool = False
    sieve_dir: bool = False
    need_moving: bool = False
    moving_away: bool = False


class CheckContext(Body):
    cid: int
    name: str
    schema_name: str
    domains: list[str]


class CheckContexts(Body):
    contexts: list[CheckContext]


class ContextStatus(str, enum.Enum):
    available = "available"
    differ = "differ"
    partial = "partial"
    same = "same"


class CheckedContext(Body):
    cid: int
    name: str
    schema_name: str
    domains: list[str]
    status: ContextStatus
    comment: list[str]


class CheckedContexts(Body):
    contexts: list[CheckedContext]
    schemas: dict[str, str]


class MovingMailbox(Body):
    username: str
    password: str
    active: str | None = None
    imap_active: str | None = None
    smtp_active: str | None = None
    rate_limit: str | None


class MovingAlias(Body):
    alias: str
    destination: str


class MovingSender(Body):
    login: str
    sender: str


class MovingDkim(Body):
    selector: str | None
    private: str | None
    public: str | None


class ImportDomain(Body):
    moving_from: str
    moving_mailboxes: list[MovingMailbox]
    moving_aliases: list[MovingAlias]
    moving_senders: list[MovingSender]
    moving_dkim: MovingDkim | None


class UpdateDatabase(Body):
    move_to: str


class SchemaName(Body):
    name: str


class FailedMove(Detail):
    pass


# The fake's steering of moves and of the mail queue (`/_fake/`), not dimail's.


class MoveChange(Body):
    """Put a domain in "moving" state: coming from another platform, or leaving for one."""

    model_config = ConfigDict(extra="forbid")

    moving_from: str | None = Field(default=None, description="the platform it comes from: every mailbox of the "
                                                               "domain then needs moving (`move_mailbox`)")
    moving_to: str | None = Field(default=None, description="the platform it leaves for (its mailboxes are "
                                                             "`moving_away`)")


class MoveState(Body):
    domain: str
    moving_from: str | None
    moving_to: str | None
    pending: list[str] = Field(description="mailboxes still to be moved here, by e-mail")


class QueuedMailView(Body):
    queue_id: str
    email: str


# --- app passwords, secondary accounts, ProConnect identities ------------------



class AppPasswordType(str, enum.Enum):
    api = "api"
    imap = "imap"
    caldav = "caldav"
    carddav = "carddav"
    calcarddav = "calcarddav"


class CreateAppPassword(Body):
    name: str
    type: AppPasswordType


class NewAppPassword(Body):
    uuid: uuid_module.UUID
    password: str


class AppPassword(Body):
    uuid: uuid_module.UUID
    name: str
    type: AppPasswordType
    login: str
    last_use: str | None = None
    client: str | None = None
    user_agent: str | None = None
    ip_address: str | None = None


class CreateSecondary(Body):
    displayName: str | None = None


class Secondary(Body):
    domain_name: str
    user_name: str
    master_of: str
    displayName: str | None = None


class CreateIdentity(Body):
    proconnect: str
    email: AddressName
    password: str


# --- my/, public, webhook, logs ---------------------------------------------------


class VisibleResources(Body):
    aliases: list[str]
    domains: list[str]
    mailboxes: list[str]


class ServerLogs(Body):
    logs: list[str]


class CrashInfo(Body):
    name: str
    size: int
    date: str


class PasswordChange(Body):
    """What the fake reads from the webhook's undeclared body (guess G-webhook-body: dimail's own field names)."""

    email: str
    password: str
