"""`FakeDimail`: a backend and its app, for tests and tools in the same process."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from . import models
from .app import Exchange, create_app, journal_of
from .backend import BOOTSTRAP_USER, Backend
from .config import Settings
from .records import Caller
from .security import encode_token
from .transport import ASGISyncTransport
from .seeds import SEEDS, UserSeed

_ROOT = Caller(BOOTSTRAP_USER, is_admin=True)


class FakeDimail:
    """A fake dimail served in-process: no socket, no thread of your own to manage.

    >>> fake = FakeDimail(seed="people-dev")
    >>> fake.client(auth=("la_regie", "password")).get("/token/").status_code
    200
    """

    base_url = "http://dimail"

    def __init__(self, settings: Settings | None = None, seed: str | Iterable[UserSeed] | None = None) -> None:
        self.settings = settings or Settings()
        self.backend = Backend()
        self.app = create_app(self.backend, self.settings)
        self._seed = SEEDS[seed] if isinstance(seed, str) else tuple(seed or ())
        self.seed(self._seed)

    def client(self, follow_redirects: bool = True, **kwargs: Any) -> httpx.Client:
        """An `httpx.Client` whose requests go straight to the app."""
        return httpx.Client(
            transport=ASGISyncTransport(self.app),
            base_url=self.base_url,
            follow_redirects=follow_redirects,
            **kwargs,
        )

    def transport(self) -> httpx.ASGITransport:
        """For `httpx.AsyncClient(transport=...)`."""
        return httpx.ASGITransport(app=self.app)

    def reset(self, reseed: bool = True) -> None:
        """Empty every store (bootstrap mode); seed again unless told not to."""
        self.backend.reset()
        journal_of(self.app).clear()
        if reseed:
            self.seed(self._seed)

    def seed(self, users: Iterable[UserSeed]) -> None:
        for user in users:
            self.add_user(user.name, user.password, user.is_admin, user.perms)

    def add_user(self, name: str, password: str, is_admin: bool = False, perms: Iterable[str] = ()) -> models.User:
        """Create an API user as an admin would."""
        body = models.CreateUser(name=name, password=password, is_admin=is_admin, perms=list(perms))
        return self.backend.create_user(_ROOT, body)

    def token(self, user: str) -> str:
        """A valid Bearer token for `user`, as `GET /token/` would give."""
        return encode_token(self.settings, user, self.backend.clock())

    @property
    def requests(self) -> list[Exchange]:
        """What the app has been asked so far, oldest first."""
        return list(journal_of(self.app))
