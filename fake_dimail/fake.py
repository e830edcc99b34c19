"""`FakeDimail`: a backend and its app, for tests and tools in the same process."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import TypeAdapter

from . import errors, models
from .app import create_app, faults_of, journal_of
from .backend import Backend
from .backend.base import settled
from .config import Settings
from .faults import Faults
from .journal import Calls, Exchange
from .routes.control_state import index_of
from .seeding import Seeding
from .security import encode_token
from .seeds import SEEDS, UserSeed
from .shutdown import shutdown_of

T = TypeVar("T")

if TYPE_CHECKING:
    import httpx

class FakeDimail(Seeding):
    """A fake dimail served in-process: no socket, no thread of your own to manage.

    >>> fake = FakeDimail(seed="people-dev")
    >>> fake.client(auth=("la_regie", "password")).get("/token/").status_code
    200
    """

    base_url = "http://dimail"
    # Whether `fake_dimail.people.mirrored` seeds what People's factories create (the kit's autouse fixture);
    # `@pytest.mark.dimail(mirror=False)` turns it off for one test, in `dimail_fake`.
    mirror_factories = True

    def __init__(self, settings: Settings | None = None, seed: str | Iterable[UserSeed] | None = None) -> None:
        self.settings = settings or Settings()
        self.backend = Backend(dns_auto=self.settings.dns_auto, certs_on_check=self.settings.certs_on_check)
        self.app = create_app(self.backend, self.settings)
        # The urllib3 pools `mock_dimail` answers `requests` with for this fake (mock.py), kept across mocks.
        self.mock_pools: dict[Any, Any] = {}
        if isinstance(seed, str) and seed not in SEEDS:
            raise ValueError(errors.unknown_seed(seed, sorted(SEEDS)))
        self._seed = SEEDS[seed] if isinstance(seed, str) else tuple(seed or ())
        self.app.state.seed = self._seed
        self.app.state.seed_name = seed if isinstance(seed, str) else None if seed else "empty"
        # A state file that held a state wins over the seed: its users are in it already.
        if self.settings.state_file is None or not self.backend.keep_in(self.settings.state_file):
            self.seed(self._seed)

    def close(self) -> None:
        """Release the `state_file` (written up to the last call already); the fake keeps working in memory."""
        if self.backend.state_file is not None:
            self.backend.state_file.close()
            self.backend.state_file = None

    def client(self, follow_redirects: bool = True, **kwargs: Any) -> httpx.Client:
        """An `httpx.Client` whose requests go straight to the app."""
        import httpx  # a third of the import's cost, for what only in-process HTTP clients need

        from .transport import ASGISyncTransport

        return httpx.Client(
            transport=ASGISyncTransport(self.app),
            base_url=self.base_url,
            follow_redirects=follow_redirects,
            **kwargs,
        )

    def transport(self) -> httpx.AsyncBaseTransport:
        """For `httpx.AsyncClient(transport=...)`."""
        from .transport import ASGIAsyncTransport

        return ASGIAsyncTransport(self.app)

    def seeded(self, seed: str | Iterable[UserSeed] | None) -> contextlib.AbstractContextManager[None]:
        """For a `with` block, `reset()` (and `POST /_fake/reset`) seeds `seed` instead of the fake's own seed
        (None: no change); ValueError for an unknown seed name, at once."""
        if seed is None:
            return contextlib.nullcontext()
        if isinstance(seed, str) and seed not in SEEDS:
            raise ValueError(errors.unknown_seed(seed, sorted(SEEDS)))
        users = SEEDS[seed] if isinstance(seed, str) else tuple(seed)
        name = seed if isinstance(seed, str) else None if users else "empty"
        return self._seeding(users, name)

    @contextlib.contextmanager
    def _seeding(self, users: tuple[UserSeed, ...], name: str | None) -> Iterator[None]:
        state = self.app.state
        kept = self._seed, state.seed, state.seed_name
        self._seed, state.seed, state.seed_name = users, users, name
        try:
            yield
        finally:
            self._seed, state.seed, state.seed_name = kept

    def reset(self, reseed: bool = True) -> None:
        """Empty every store (bootstrap mode), the journal and the faults; seed again unless told not to."""
        with settled(self.backend.state):  # one transaction: a state file never holds the emptied state alone
            self.backend.reset()
            if reseed:
                self.seed(self._seed)
        self.restart()
        journal_of(self.app).clear()
        self.faults.clear()

    @property
    def faults(self) -> Faults:
        """Injected faults: `fake.faults.add(method="POST", path="/domains/", answer=503)`."""
        return faults_of(self.app)

    def mirror(self, obj: T) -> T:
        """Seed one of People's objects (a MailDomain, Mailbox or Alias, read by their fields) as People's calls
        would have left dimail; returns it. `fake_dimail.people.mirrored` does it for every object factories
        create."""
        from .people import mirror

        return mirror(self, obj)

    def token(self, user: str) -> str:
        """A valid Bearer token for `user`, as `GET /token/` would give."""
        return encode_token(self.settings, user, self.backend.clock())

    @property
    def requests(self) -> list[Exchange]:
        """What the app has been asked so far, oldest first (the control plane's requests too)."""
        return list(journal_of(self.app))

    @property
    def calls(self) -> Calls:
        """dimail's exchanges with bodies, oldest first, like `responses.calls`: `fake.calls[1].json()`,
        `.filter(method="POST", path="/domains/{domain_name}/mailboxes/{user_name}")`, `.reset()`."""
        return Calls(journal_of(self.app), self.faults.spelled)

    # --- steering: the same as /_fake/, without HTTP ------------------------------
    # Arguments are validated by the models the HTTP routes use: a bad one raises
    # pydantic.ValidationError and changes nothing.

    def dns(self, name: str) -> list[dict[str, str]]:
        """The records of a simulated zone, as `GET /_fake/dns/{name}` gives them."""
        return _dump(self.backend.dns_zone(_DNS_NAME.validate_python(name)))

    def set_dns(self, name: str, records: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
        """Replace a zone; `records` in the /spec shape (`target`, `type`, `value`), validated like the PUT."""
        valid = [models.DnsRecord.model_validate(dict(r)) for r in records]
        return _dump(self.backend.set_dns_zone(_DNS_NAME.validate_python(name), valid))

    def clear_dns(self, name: str) -> None:
        self.backend.clear_dns_zone(_DNS_NAME.validate_python(name))

    def publish(self, name: str, records: str = "spec") -> list[dict[str, str]]:
        """Fill a zone: `spec` (what dimail asks for), `wrong` (another provider's) or `exists` (NS only)."""
        return _dump(self.backend.publish(_DNS_NAME.validate_python(name), models.DnsPreset(records)))

    def check(self, domain: str) -> dict[str, Any]:
        """Run the domain's check as an admin's `GET /domains/{d}/check` would, and return the body."""
        return self.backend.check_domain(self._root, domain).model_dump(mode="json")

    def platform(self, domain: str) -> dict[str, Any]:
        """dimail's side of a domain: broken items, unfixable checks, certificate."""
        return self.backend.platform(domain).model_dump(mode="json")

    def set_platform(
        self,
        domain: str,
        *,
        broken: Iterable[str] | None = None,
        unfixable: Iterable[str] | None = None,
        certificate: bool | None = None,
        certs_on_check: bool | None = None,
    ) -> dict[str, Any]:
        """Break `webmail_ok`/`postfix`/`ox`, make checks unfixable, issue or revoke the certificate."""
        given = {"broken": broken, "unfixable": unfixable, "certificate": certificate, "certs_on_check": certs_on_check}
        change = models.PlatformChange.model_validate(
            {k: list(v) if isinstance(v, Iterable) and not isinstance(v, str) else v
             for k, v in given.items() if v is not None}
        )
        return self.backend.set_platform(domain, change).model_dump(mode="json")

    def state(self) -> dict[str, Any]:
        """Everything the fake holds, as plain JSON-able data read under the lock: users (with their
        password hashes), allows, domains (checks, platform), OX contexts, mailboxes, aliases, codes,
        rate limits, moves, databases, mail queue, crash logs, zones.
        Safe while requests are in flight, unlike the live stores; `backend.load(document)` puts it back."""
        return self.backend.snapshot()

    # --- the control plane's state operations (routes/control_state.py), without HTTP --------

    def index(self) -> dict[str, Any]:
        """What `GET /_fake/` answers: version, settings, counts per store, links."""
        return index_of(self.app).model_dump(mode="json")

    def load_state(self, document: Mapping[str, Any]) -> None:
        """Put a `state()` document back (`PUT /_fake/state`); an inconsistent one raises ValueError naming
        its first problem, and nothing changes."""
        self.backend.load(dict(document))

    def journal(self, limit: int = 1000, since: int | None = None, path: str | None = None,
                bodies: bool = False) -> list[dict[str, Any]]:
        """`GET /_fake/requests`: the entries as JSON objects (`fake.requests` gives them as `Exchange`s,
        `fake.calls` with their bodies unredacted)."""
        return [e.entry(bodies) for e in journal_of(self.app).select(limit, since, path)]

    def clear_requests(self) -> None:
        journal_of(self.app).clear()

    def fix(self, domain: str) -> dict[str, Any]:
        """Run the domain's fix as an admin's `GET /domains/{d}/fix` would, and return the body."""
        return self.backend.fix_domain(self._root, domain).model_dump(mode="json")
    # --- steering of the system family: moves, the mail queue, a stopped server ------------

    def set_moving(self, domain: str, *, moving_from: str | None = None,
                   moving_to: str | None = None) -> dict[str, Any]:
        """Mark `domain` moving (410 where declared): from another platform (its mailboxes then need
        `move_mailbox`; the last one completes the move) or to one (until `complete_move`)."""
        change = models.MoveChange(moving_from=moving_from, moving_to=moving_to)
        return self.backend.set_moving(domain, change).model_dump(mode="json")

    def move(self, domain: str) -> dict[str, Any]:
        """The domain's move: where from or to, and the mailboxes still to move."""
        return self.backend.move_state(domain).model_dump(mode="json")

    def complete_move(self, domain: str) -> None:
        self.backend.complete_move(domain)

    def queue_mail(self, domain: str, user: str) -> str:
        """A mail waiting for `user@domain`; returns its queue id, as `/system/mailqueue` lists it."""
        return self.backend.queue_mail(domain, user).queue_id

    def flush_mailqueue(self, domain: str, user: str) -> None:
        self.backend.flush_mailqueue(domain, user)

    @property
    def stopped(self) -> bool:
        """True after `GET /system/shutdown`: every request is then refused as by a closed port."""
        return shutdown_of(self.app).stopped

    def restart(self) -> None:
        """Answer again after a shutdown, with the state it had (`reset()` restarts it too)."""
        shutdown_of(self.app).stopped = False

    # --- the dashboard's reads ---------------------------------------------------------

    def mailboxes(self, domain: str) -> list[dict[str, Any]]:
        """`GET /_fake/domains/{d}/mailboxes`: the domain's mailboxes as an admin's v1 listing shows them."""
        return [m.model_dump(mode="json") for m in self.backend.list_mailboxes(self._root, domain)]

    def people_status(self, domain: str, before: str = "pending") -> dict[str, Any]:
        """`GET /_fake/domains/{d}/people`: what People would show for the domain after its next status fetch,
        from a People showing it `before`, with the reason. Changes nothing (/fix/ is predicted on a copy)."""
        return self.backend.people_view(domain, models.PeopleStatus(before).value).model_dump(mode="json")


_DNS_NAME: TypeAdapter[str] = TypeAdapter(models.DnsName)


def _dump(records: list[models.DnsRecord]) -> list[dict[str, str]]:
    return [r.model_dump(mode="json") for r in records]
