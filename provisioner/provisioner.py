"""The People side of the conversation: People events in, dimail calls out.

Each event method sends the calls People sends (dimail's PEOPLE.md
§3–§7: same paths, slashes, bodies and credentials) and declares them in its
`steps`, from which the documentation's permission-sequence table is generated and
against which the tests compare the journal.

Where People is not idempotent, the provisioner is: a 409 on a create means
"already there", and a mailbox re-created answers dimail's duplicate 500,
which the address probe (M2) tells apart from names taken by someone else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fake_dimail import people_status as people

from .client import (
    Credentials,
    DimailClient,
    DimailConflict,
    DimailError,
    DimailNotFound,
    DimailRefused,
    DimailServerError,
)

F = TypeVar("F", bound=Callable[..., Any])

PEOPLE_FEATURES = ["webmail", "mailbox", "alias"]
PEOPLE_PERMS = ["new_domain", "create_users", "manage_users"]
MANAGING_ROLES = ("owner", "administrator")
# People statuses of a mail domain (PEOPLE.md §5), and People's rule for them (CHECKS.md §8).
PENDING, ENABLED, ACTION_REQUIRED, FAILED = people.PENDING, people.ENABLED, people.ACTION_REQUIRED, people.FAILED


class NotInitialised(DimailError):
    """People's user is missing on the dimail, or lacks one of its perms."""


@dataclass(frozen=True)
class Step:
    """One dimail call an event may send. `path` uses People's spelling, slashes included."""

    code: str  # PEOPLE.md's name for the call (D1, U2, M1...), "" when People has none
    method: str
    path: str  # placeholders: {d} domain, {sub} user, {local} local part, {destination}, {people}
    auth: str  # "Basic" (People's user), "Basic (admin)" or "Bearer"
    statuses: str  # what the provisioner accepts, e.g. "201 (409: already there)"
    when: str = ""  # the condition, empty when always


@dataclass(frozen=True)
class Also:
    """Another event's calls, sent as part of this one."""

    event: str  # the Provisioner method
    when: str = ""
    repeated: bool = False  # once per item (e.g. per pending mailbox)


TOKEN = Step("T", "GET", "/token/", "Basic", "200")


def steps(*declared: Step | Also) -> Callable[[F], F]:
    """Declare the calls an event makes, in order (the documentation's table is generated from these)."""

    def mark(method: F) -> F:
        method.steps = declared  # type: ignore[attr-defined]
        return method

    return mark


@dataclass
class DomainStatus:
    """What People concludes from a status fetch, with the body it read."""

    status: str
    check: dict[str, Any]
    fixed: bool = False  # whether /fix/ was called
    details: list[str] = field(default_factory=list)  # errors[0].detail of each failing external check
    sent: list[str] = field(default_factory=list)  # pending mailboxes sent on the way


@dataclass
class PendingMailbox:
    local_part: str
    first_name: str
    last_name: str


class Provisioner:
    """People's dimail calls for People's events, against one dimail (fake or real)."""

    def __init__(
        self,
        url: str = "http://dimail",
        user: str = "la_regie",
        password: str = "password",
        *,
        transport: Any = None,
        timeout: float = 20.0,
        cache_token: bool = False,
        revoke_allows: bool = True,
        retries: int = 4,
        sleep: Callable[[float], None] | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        extra = {"sleep": sleep} if sleep is not None else {}
        self.client = DimailClient(url, Credentials(user, password), transport=transport, timeout=timeout,
                                   cache_token=cache_token, retries=retries, on_retry=on_retry, **extra)
        # People never revokes an allow; the provisioner does unless told not to (docs/howto/provisioner.md).
        self.revoke_allows = revoke_allows
        self.statuses: dict[str, str] = {}  # People's view of each domain seen
        self.pending: dict[str, list[PendingMailbox]] = {}

    @classmethod
    def for_fake(cls, fake: Any, **kwargs: Any) -> Provisioner:
        """Bound in-process to a `fake_dimail.FakeDimail`, no socket."""
        from fake_dimail.transport import ASGISyncTransport

        return cls(fake.base_url, transport=ASGISyncTransport(fake.app), **kwargs)

    @property
    def journal(self) -> list[Any]:
        return self.client.journal

    @property
    def people_user(self) -> str:
        return self.client.credentials.user

    # --- dimail database initialisation (PEOPLE.md §3) ---------------------------

    @steps(
        Step("S1", "POST", "/users/", "Basic (admin)", "201 (409: already there)", "admin credentials given"),
        Step("S2", "POST", "/users/", "Basic (admin)", "201 (409: already there)", "admin credentials given"),
        Step("", "GET", "/users/{people}", "Basic (admin)", "200", "admin credentials given"),
        Step("", "PATCH", "/users/{people}", "Basic (admin)", "200", "admin credentials given, a perm missing"),
        TOKEN,
        Step("", "GET", "/users/{people}", "Basic", "200 (404: not initialised)", "no admin credentials"),
    )
    def initialise(self, admin: tuple[str, str] | None = None) -> None:
        """Make sure People's user exists with new_domain, create_users, manage_users.

        With admin credentials, the admin is created first: on an empty dimail any
        Basic credentials act as admin (bootstrap), so this works on a fresh one too.
        Without them, People's user is only verified: on an empty dimail the token
        call succeeds (bootstrap), so the user itself is read to tell.
        """
        people = self.people_user
        if admin is not None:
            admin_user, admin_password = admin
            as_admin = DimailClient(self.client.base_url, Credentials(admin_user, admin_password),
                                    transport=self.client.transport, timeout=self.client.timeout,
                                    retries=self.client.retries, backoff=self.client.backoff,
                                    sleep=self.client.sleep, journal=self.client.journal,
                                    on_retry=self.client.on_retry)
            try:
                as_admin.basic("POST", "/users/", body={"name": admin_user, "password": admin_password,
                                                        "is_admin": True, "perms": []}, expect=(201,), tolerate=(409,))
            except DimailRefused as refused:
                # An empty dimail takes any credentials as an admin's: refused, it already has users.
                raise DimailRefused(refused.call, refused.detail,
                                    f"dimail refused {admin_user!r} as an admin ({refused}): this dimail already has "
                                    "users, so the empty-database bootstrap is over: use an existing admin's "
                                    "USER:PASSWORD, or none if People's user is already set up") from refused
            as_admin.basic("POST", "/users/", body={"name": people, "password": self.client.credentials.password,
                                                    "is_admin": False, "perms": PEOPLE_PERMS},
                           expect=(201,), tolerate=(409,))
            me = as_admin.basic("GET", f"/users/{people}").json()
            missing = [p for p in PEOPLE_PERMS if p not in self._perms_of(me)]
            if missing:
                as_admin.basic("PATCH", f"/users/{people}", body={"perms": [f"+{p}" for p in missing]})
            self.client.token()  # proves People's credentials work
            return
        self.client.token()
        try:
            me = self.client.basic("GET", f"/users/{people}").json()
        except DimailNotFound as absent:
            raise NotInitialised(absent.call, absent.detail,
                                 f"People's user {people!r} does not exist on this dimail "
                                 "(an empty dimail accepts any credentials): run initialise with admin credentials") \
                from absent
        missing = [p for p in PEOPLE_PERMS if p not in self._perms_of(me)]
        if missing:
            raise NotInitialised(self.journal[-1], me, f"People's user {people!r} lacks the perms {missing}: "
                                                        "run initialise with admin credentials")

    def _perms_of(self, user: Any) -> list[str]:
        if not isinstance(user, dict) or not isinstance(user.get("perms"), list):
            # dimail's users had no perms before they could create domains (the 2024 server): People cannot work.
            raise NotInitialised(self.journal[-1], user, f"this dimail's users have no `perms` (an older dimail): "
                                                         f"People's user {self.people_user!r} cannot be given "
                                                         f"{', '.join(PEOPLE_PERMS)}")
        return user["perms"]

    # --- domains -----------------------------------------------------------------

    @steps(
        Step("D1", "POST", "/domains/", "Basic", "201 (409: already there)"),
        Step("", "POST", "/allows/", "Basic", "201 (409: already there)", "D1 answered 409: People's user on it"),
        Also("access_granted", "the owner"),
        Also("domain_status"),
        Step("D4", "GET", "/domains/{d}/spec/", "Basic", "200 (anything else: no records)"),
    )
    def domain_created(self, domain: str, owner_sub: str) -> DomainStatus:
        """Create the domain as People does, let People's user and the owner manage it, fetch its status."""
        created = self.client.basic(
            "POST", "/domains/",
            body={"name": domain, "context_name": domain, "features": PEOPLE_FEATURES, "delivery": "virtual"},
            expect=(201,), tolerate=(409,),
        )
        if created.status_code == 409:
            self.allow(self.people_user, domain)
        self.statuses.setdefault(domain, PENDING)
        self.access_granted(domain, owner_sub, "owner")
        status = self.domain_status(domain)
        self.spec(domain)
        return status

    def spec(self, domain: str) -> list[dict[str, str]]:
        """D4: the records to publish; like People, anything but 200 gives `[]`."""
        try:
            response = self.client.basic("GET", f"/domains/{domain}/spec/")
        except DimailError:
            return []
        return response.json()

    @steps(
        Step("D2", "GET", "/domains/{d}/check", "Basic", "200"),
        Also("mailbox_sent", "state ok and not yet enabled: per pending mailbox", repeated=True),
        Step("D3", "GET", "/domains/{d}/fix/", "Basic", "200", "state broken, only internal checks failing"),
    )
    def domain_status(self, domain: str) -> DomainStatus:
        """People's status fetch (CHECKS.md §8): check; ok → enabled (pending mailboxes sent first);
        an external failure → action required; internal failures only → fix → enabled or failed."""
        body = self.client.basic("GET", f"/domains/{domain}/check").json()
        outcome = people.fetch(body, lambda: self.client.basic("GET", f"/domains/{domain}/fix/").json(),
                               self.statuses.get(domain, PENDING))
        sent = self._send_pending(domain) if outcome.send_pending else []
        if outcome.changed:
            self.statuses[domain] = outcome.status
        return DomainStatus(outcome.status, dict(outcome.answer or body), fixed=outcome.fixed,
                            details=list(outcome.details), sent=sent)

    def _send_pending(self, domain: str) -> list[str]:
        """Send every pending mailbox; one that fails stays pending and the others still go.

        The first failure is raised after the loop, so the domain keeps its status and the
        next status fetch sends what is left (People would mark the domain enabled and
        leave those mailboxes to an admin action).
        """
        sent, kept, failure = [], [], None
        for mailbox in self.pending.pop(domain, []):
            try:
                self.mailbox_sent(domain, mailbox.local_part, mailbox.first_name, mailbox.last_name)
            except DimailError as error:
                kept.append(mailbox)
                failure = failure or error
            else:
                sent.append(mailbox.local_part)
        if kept:
            self.pending[domain] = kept
        if failure is not None:
            raise failure
        return sent

    # --- users and accesses (PEOPLE.md §7) ------------------------------------

    @steps(Step("U1", "POST", "/users/", "Basic", "201 (409: already there)"))
    def user_created(self, sub: str) -> None:
        """Create the dimail user named after the ProConnect `sub`: People's user then manages it."""
        # People's body, byte for byte: `is_admin` is the string "false".
        self.client.basic("POST", "/users/", body={"name": sub, "password": "no", "is_admin": "false", "perms": []},
                          expect=(201,), tolerate=(409,))

    @steps(Also("user_created", "role owner or administrator"), Also("allow", "role owner or administrator"))
    def access_granted(self, domain: str, sub: str, role: str) -> None:
        """Owners and administrators get a dimail user and an allow on the domain; viewers get nothing."""
        if role not in MANAGING_ROLES:
            return
        self.user_created(sub)
        self.allow(sub, domain)

    @steps(Step("U2", "POST", "/allows/", "Basic", "201 (409: already there)"))
    def allow(self, user: str, domain: str) -> None:
        """U2: let `user` manage `domain` (201, or 409 when it already may)."""
        self.client.basic("POST", "/allows/", body={"user": user, "domain": domain}, expect=(201,), tolerate=(409,))

    @steps(Step("", "DELETE", "/allows/{d}/{sub}", "Basic", "204 (404: already gone)",
                "no owner/administrator role left, revoke_allows on (People never revokes)"))
    def access_revoked(self, domain: str, sub: str, remaining_role: str | None = None) -> None:
        """Remove the allow once the user holds no owner/administrator access on the domain any more."""
        if not self.revoke_allows or remaining_role in MANAGING_ROLES:
            return
        self.client.basic("DELETE", f"/allows/{domain}/{sub}", expect=(204,), tolerate=(404,))

    # --- mailboxes (PEOPLE.md §4, M1-M7) -----------------------------------------

    @steps(
        Also("domain_status", "the domain's People status is not known yet"),
        Also("mailbox_sent", "the domain is enabled (else the mailbox stays pending)"),
    )
    def mailbox_created(self, domain: str, local_part: str, first_name: str, last_name: str) -> dict[str, Any] | None:
        """Send the mailbox if the domain is enabled (returns dimail's `{email, password}`); else keep it pending."""
        mailbox = PendingMailbox(local_part.lower(), first_name, last_name)
        if domain not in self.statuses:
            self.domain_status(domain)
        if self.statuses[domain] != ENABLED:
            queue = self.pending.setdefault(domain, [])
            if all(m.local_part != mailbox.local_part for m in queue):  # asked twice: still one mailbox
                queue.append(mailbox)
            return None
        return self.mailbox_sent(domain, mailbox.local_part, mailbox.first_name, mailbox.last_name)

    @steps(
        TOKEN,
        Step("M1", "POST", "/domains/{d}/mailboxes/{local}", "Bearer", "201 (500: M2)"),
        Step("M2", "GET", "/domains/{d}/address/{local}/", "Bearer", "200: already there, or the names are taken",
             "M1 answered 500 (dimail's duplicate)"),
    )
    def mailbox_sent(self, domain: str, local_part: str, first_name: str, last_name: str) -> dict[str, Any]:
        """Send one mailbox to dimail now, whatever the domain's People status (People's "send" step)."""
        mailbox = PendingMailbox(local_part.lower(), first_name, last_name)
        names = {"givenName": mailbox.first_name, "surName": mailbox.last_name,
                 "displayName": f"{mailbox.first_name} {mailbox.last_name}"}
        token = self.client.token()
        path = f"/domains/{domain}/mailboxes/{mailbox.local_part}"
        try:
            return self.client.bearer("POST", path, token=token, body=names, expect=(201,)).json()
        except DimailServerError as crash:
            if crash.status != 500:
                raise  # a proxy's 502 says nothing about the names
            # dimail's duplicate answer: the address probe says who holds the names (People's M2).
            probe = self.client.bearer("GET", f"/domains/{domain}/address/{mailbox.local_part}/", token=token,
                                       body=names).json()
            owner = probe.get("ox_primary_email")
            if owner == f"{mailbox.local_part}@{domain}" or (probe.get("is_mailbox") and owner is None):
                return {"email": f"{mailbox.local_part}@{domain}", "password": None}  # already there
            holder = f"by {owner}" if owner else "(the address probe names no holder: a display-name clash)"
            raise DimailConflict(crash.call, probe, f"{mailbox.local_part}@{domain}: the names "
                                                    f"{names['displayName']!r} are already used in the OX context "
                                                    f"{holder}") from crash

    @steps(TOKEN, Step("M5", "PATCH", "/domains/{d}/mailboxes/{local}", "Bearer", "200 (500/502 retried)"))
    def mailbox_disabled(self, domain: str, local_part: str) -> None:
        self.client.bearer("PATCH", f"/domains/{domain}/mailboxes/{local_part}", body={"active": "no"})

    @steps(TOKEN, Step("M6", "PATCH", "/domains/{d}/mailboxes/{local}", "Bearer", "200 (500/502 retried)"))
    def mailbox_enabled(self, domain: str, local_part: str, first_name: str, last_name: str) -> None:
        self.client.bearer("PATCH", f"/domains/{domain}/mailboxes/{local_part}", body={
            "active": "yes", "givenName": first_name, "surName": last_name, "displayName": f"{first_name} {last_name}"})

    @steps(TOKEN, Step("M3", "POST", "/domains/{d}/mailboxes/{local}/code", "Bearer", "2xx"))
    def login_code(self, domain: str, local_part: str) -> dict[str, Any]:
        return self.client.bearer("POST", f"/domains/{domain}/mailboxes/{local_part}/code",
                                  body={"expires_in": 3600, "maxuse": 3}, expect=range(200, 300)).json()

    @steps(TOKEN, Step("M4", "POST", "/domains/{d}/mailboxes/{local}/reset_password/", "Bearer", "200"))
    def password_reset(self, domain: str, local_part: str) -> dict[str, Any]:
        return self.client.bearer("POST", f"/domains/{domain}/mailboxes/{local_part}/reset_password/").json()

    # --- aliases (A1-A4) -------------------------------------------------------------

    @steps(TOKEN, Step("A1", "POST", "/domains/{d}/aliases/", "Bearer", "201 (409: already there)"))
    def alias_created(self, domain: str, local_part: str, destination: str) -> None:
        self.client.bearer("POST", f"/domains/{domain}/aliases/",
                           body={"user_name": local_part, "destination": destination}, expect=(201,), tolerate=(409,))

    @steps(TOKEN, Step("A2", "DELETE", "/domains/{d}/aliases/{local}/{destination}", "Bearer",
                       "204 (404: already gone)"))
    def alias_deleted(self, domain: str, local_part: str, destination: str) -> None:
        self.client.bearer("DELETE", f"/domains/{domain}/aliases/{local_part}/{destination}", body={},
                           expect=(204,), tolerate=(404,))

