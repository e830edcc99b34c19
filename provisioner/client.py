"""The HTTP side of the provisioner: People's way of talking to dimail, made robust.

One `DimailClient` per dimail: Basic calls with the service credentials,
Bearer calls with a token fetched just before (People's way) or cached,
redirects followed, retries with backoff only where a retry cannot do a
write twice and may help (each one announced with its reason), and a journal
of every HTTP exchange.
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

# Only these answers may be transient; a 4xx is dimail's decision and is final.
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
# People retries PATCH only; GET, PUT and DELETE are as safe to repeat. POST never:
# a second mailbox POST after a lost answer would hit the duplicate 500.
SAFE_METHODS = frozenset({"GET", "PATCH", "PUT", "DELETE"})
# Before dimail has answered anything, no answer most likely means nothing listens at the URL:
# one quick retry, not the whole backoff.
FIRST_CONTACT_ATTEMPTS = 2


def url_problem(url: str) -> str | None:
    """What makes `url` unusable as dimail's base URL, and the fix; None when it is fine."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        if "://" not in url:
            return f"{url!r} has no scheme: add http:// (http://{url})"
        return f"{url!r} is not an http://host[:port] or https://host[:port] URL"
    try:
        parts.port
    except ValueError:
        return f"{url!r} has a port outside 1-65535"
    return None


def no_answer(exc: httpx.TransportError) -> str:
    """Why an exchange got no answer, in a few words."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc}" if str(exc) else "cannot connect"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@functools.cache
def tls() -> ssl.SSLContext:
    """The TLS settings every client of this package shares (httpx's defaults: its CA bundle, `SSL_CERT_FILE`).

    A new `httpx.Client` builds its own context, reading the CA bundle again, even for an http:// URL: 35-50 ms
    of CPU each. The contract suite opens a client per credential, clean-up and test; one context serves them all.
    """
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Call:
    """One HTTP exchange, as the journal keeps it."""

    method: str
    path: str
    user: str
    status: int | None  # None: no answer (connection error, timeout)
    duration_ms: float
    attempt: int = 1

    @property
    def is_write(self) -> bool:
        """An exchange that changed dimail: a successful non-GET."""
        return self.method != "GET" and self.status is not None and 200 <= self.status < 300

    def __str__(self) -> str:
        status = "---" if self.status is None else str(self.status)
        retry = f" (attempt {self.attempt})" if self.attempt > 1 else ""
        return f"{self.method:<6} {self.path:<52} {status} as {self.user} {self.duration_ms:.0f} ms{retry}"


class DimailError(Exception):
    """dimail refused or failed a call: the status and dimail's `detail` are kept."""

    def __init__(self, call: Call, detail: Any, message: str | None = None) -> None:
        self.call = call
        self.status = call.status
        self.detail = detail
        super().__init__(message or f"{call.method} {call.path} answered {call.status}: {detail!r}")


class DimailRefused(DimailError):
    """401/403: the credentials or the rights are wrong."""


class DimailNotFound(DimailError):
    """404."""


class DimailConflict(DimailError):
    """409, or a conflict the provisioner recognised (e.g. mailbox names taken)."""


class DimailServerError(DimailError):
    """5xx, after the retries allowed for the call."""


class DimailUnavailable(DimailError):
    """No answer at all (connection refused, timeout), after the retries allowed."""


def error_for(call: Call, detail: Any, url: str = "") -> DimailError:
    if call.status is None:
        return DimailUnavailable(call, detail, f"{call.method} {call.path}: no answer from dimail at {url} ({detail}): "
                                               "is the fake running? `make run`")
    kind: type[DimailError] = DimailError
    if call.status in (401, 403) and call.path.startswith("/token/"):
        # The token call needs nothing but valid credentials: a refusal can only be about them.
        return DimailRefused(call, detail, f"dimail refused {call.user}'s credentials "
                                           f"({call.method} {call.path} answered {call.status}: {detail!r})")
    if call.status in (401, 403):
        kind = DimailRefused
    elif call.status == 404:
        kind = DimailNotFound
    elif call.status == 409:
        kind = DimailConflict
    elif call.status >= 500:
        kind = DimailServerError
    return kind(call, detail)


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text
    return body.get("detail", body) if isinstance(body, dict) else body


@dataclass
class Credentials:
    user: str
    password: str

    @property
    def auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.user, self.password)


@dataclass
class DimailClient:
    """People's HTTP conversation with one dimail.

    `transport`: an httpx transport (e.g. `FakeDimail(...).transport()` is async;
    use `fake_dimail.transport.ASGISyncTransport(fake.app)`), None for the network.
    """

    base_url: str
    credentials: Credentials
    transport: httpx.BaseTransport | None = None
    timeout: float = 20.0  # People's MAIL_PROVISIONING_API_TIMEOUT
    retries: int = 4  # People's retry adapter: 4 retries, backoff 0.1 s
    backoff: float = 0.1
    cache_token: bool = False  # People fetches a fresh token for every operation
    sleep: Callable[[float], None] = time.sleep
    journal: list[Call] = field(default_factory=list)
    on_retry: Callable[[str], None] | None = None  # told each retry, in one line with its reason
    _token: str | None = field(default=None, repr=False)
    _answered: bool = field(default=False, repr=False)  # dimail has answered at least once

    def __post_init__(self) -> None:
        problem = url_problem(self.base_url)
        if problem is not None:
            raise ValueError(f"dimail URL {problem}")
        self._http = httpx.Client(
            base_url=self.base_url.rstrip("/"),
            transport=self.transport,
            verify=tls(),
            timeout=self.timeout,
            follow_redirects=True,
            headers={"Content-Type": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    # --- one exchange, retried when safe -------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        bearer: str | None = None,
        user: str | None = None,
        expect: Iterable[int] = (200,),
        tolerate: Iterable[int] = (),
    ) -> httpx.Response:
        """Send until an answer is final; raise a DimailError unless its status is expected or tolerated."""
        expected, tolerated = set(expect), set(tolerate)
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        auth = None if bearer else self.credentials.auth
        who = user or self.credentials.user
        content = None if body is None else json.dumps(body).encode()
        attempts = 1 + (self.retries if method in SAFE_METHODS else 0)
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                response = self._http.request(method, path, content=content, headers=headers, auth=auth)
            except httpx.TransportError as exc:
                call = Call(method, path, who, None, (time.perf_counter() - started) * 1000, attempt)
                self.journal.append(call)
                if not self._answered:
                    attempts = min(attempts, FIRST_CONTACT_ATTEMPTS)
                reason = no_answer(exc)
                if attempt >= attempts:
                    raise error_for(call, reason, self.base_url) from exc
            else:
                self._answered = True
                for hop in response.history:  # the 307s People's paths go through
                    self.journal.append(Call(hop.request.method, hop.request.url.raw_path.decode(), who,
                                             hop.status_code, 0.0, attempt))
                call = Call(method, response.request.url.raw_path.decode() if response.history else path, who,
                            response.status_code, (time.perf_counter() - started) * 1000, attempt)
                self.journal.append(call)
                status = response.status_code
                if status in expected or status in tolerated:
                    return response
                if status not in RETRIED_STATUSES or attempt == attempts:
                    raise error_for(call, _detail(response), self.base_url)
                reason = f"answered {status}"
            delay = self.backoff * 2 ** (attempt - 1)
            if self.on_retry is not None:
                self.on_retry(f"retry {attempt}/{attempts - 1} of {method} {path} in {delay:g} s: {reason}")
            self.sleep(delay)
        raise AssertionError("unreachable")

    # --- Basic and Bearer ------------------------------------------------------

    def basic(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.send(method, path, **kwargs)

    def token(self) -> str:
        """People's T call: `GET /token/` with Basic (cached only when told to)."""
        if self.cache_token and self._token is not None:
            return self._token
        token = self.send("GET", "/token/").json()["access_token"]
        self._token = token
        return token

    def bearer(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        try:
            return self.send(method, path, bearer=token or self.token(), **kwargs)
        except DimailRefused:
            if not self.cache_token:
                raise
            self._token = None  # an expired cached token: fetch a new one, once
            return self.send(method, path, bearer=self.token(), **kwargs)

    # --- reading the journal ---------------------------------------------------

    def writes(self, since: int = 0) -> list[Call]:
        return [c for c in self.journal[since:] if c.is_write]
