"""`mock_dimail`: someone else's code talks to an in-process fake through `requests` or `httpx`.

While a mock is active, a request whose URL starts with its base URL never
reaches the network: the fake's ASGI app answers it in this process. Where
the interception sits decides what still behaves as with a real server:

- `requests`: the connection pool that `HTTPAdapter` asks for. Everything
  above it runs unchanged: adapters mounted on a session with their own
  `max_retries` (urllib3's `Retry` loop lives in the pool's `urlopen`, so it
  retries the fake's 502s and dropped connections as it would a server's),
  `responses` (whose pass-through calls the real `HTTPAdapter.send`), the
  redirects, `.history` and `.elapsed` of `Session`. Patching `send` instead
  would skip the retries; patching `Session` would miss mounted adapters.
- `httpx`: the default transports' `handle_request`/`handle_async_request`,
  which every `Client`, `AsyncClient` and module function ends in; the
  client itself follows the redirects.

The patches are installed by the first active mock and removed by the last;
each active mock answers for its own base URL (the innermost one when two
share it).
"""

from __future__ import annotations

import functools
import inspect
import io
import sys
import threading
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from . import errors
from .config import Settings
from .fake import FakeDimail
from .faults import CONNECTION_ERROR, InjectedFault, reason_phrase
from .seeds import SEEDS, UserSeed
from .transport import (
    DEFAULT_PORTS,
    Answer,
    answer_httpx,
    answer_httpx_async,
    exchange,
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> _Origin | None:
        try:
            parts = urlsplit(url)
            port = parts.port
        except (ValueError, TypeError, AttributeError):
            return None
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        return cls(parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme])

    @property
    def url(self) -> str:
        default = self.port == DEFAULT_PORTS[self.scheme]
        return f"{self.scheme}://{self.host}" + ("" if default else f":{self.port}")


@dataclass
class _Mounted:
    origin: _Origin
    fake: FakeDimail
    pool: Any = None  # the urllib3 pool `requests` is handed for this origin, made on first use


class _Registry:
    """The active mocks, innermost last, and the patches they need."""

    def __init__(self) -> None:
        self.active: list[_Mounted] = []
        self.lock = threading.Lock()
        self._undo: list[Callable[[], None]] = []

    def fake_for(self, url: str) -> _Mounted | None:
        if not self.active:
            return None
        origin = _Origin.parse(url)
        for mounted in reversed(self.active):
            if mounted.origin == origin:
                return mounted
        return None

    def push(self, mounted: _Mounted) -> None:
        with self.lock:
            if not self.active:
                self._undo = [undo for patch in (_patch_requests, _patch_httpx) if (undo := patch()) is not None]
            self.active.append(mounted)

    def pop(self, mounted: _Mounted) -> None:
        with self.lock:
            self.active.remove(mounted)
            if not self.active:
                for undo in self._undo:
                    undo()
                self._undo = []


_registry = _Registry()


class mock_dimail:  # noqa: N801 - used like a function, as moto's mock_aws
    """Answer every `requests`/`httpx` request to `base_url` from an in-process fake dimail.

    >>> with mock_dimail("http://dimail:8000") as fake:
    ...     requests.get("http://dimail:8000/token/", auth=("la_regie", "password")).status_code
    200

    A context manager (returning the fake) and a decorator of sync and async
    functions (a new fake per call, unless `fake` is given). With `responses`
    active, give it (`responses=rsps`, or the `responses` module for
    `@responses.activate`): the test's own mocks still win, and every other
    request to `base_url` passes through to the fake. The default mock of
    `responses` gets that pass-through by itself.
    """

    def __init__(
        self,
        base_url: str = "http://dimail:8000",
        *,
        seed: str | Iterable[UserSeed] = "people-dev",
        fake: FakeDimail | None = None,
        settings: Settings | None = None,
        responses: Any = None,
    ) -> None:
        origin = _Origin.parse(base_url) if isinstance(base_url, str) else None
        if origin is None or urlsplit(base_url).path not in ("", "/") or urlsplit(base_url).query:
            raise ValueError(errors.bad_base_url(base_url))
        if fake is None and isinstance(seed, str) and seed not in SEEDS:
            raise ValueError(errors.unknown_seed(seed, sorted(SEEDS)))
        self.origin = origin
        self.base_url = origin.url
        self._given = fake
        self._seed = seed
        self._settings = settings
        self._responses = responses
        self._entered: list[tuple[_Mounted, list[tuple[Any, str]]]] = []

    @property
    def fake(self) -> FakeDimail | None:
        """The fake answering now (None when inactive)."""
        return self._entered[-1][0].fake if self._entered else None

    def __enter__(self) -> FakeDimail:
        fake = self._given or FakeDimail(settings=self._settings, seed=self._seed)
        passthrough = [(mock, prefix) for mock in _responses_mocks(self._responses)
                       if (prefix := self.base_url + "/") not in mock.passthru_prefixes]
        for mock, prefix in passthrough:
            mock.add_passthru(prefix)
        mounted = _Mounted(self.origin, fake)
        _registry.push(mounted)
        self._entered.append((mounted, passthrough))
        return fake

    def __exit__(self, *exc_info: object) -> None:
        mounted, passthrough = self._entered.pop()
        _registry.pop(mounted)
        for mock, prefix in passthrough:
            mock.passthru_prefixes = tuple(p for p in mock.passthru_prefixes if p != prefix)

    async def __aenter__(self) -> FakeDimail:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__(*exc_info)

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)
            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)
        return run  # type: ignore[return-value]


def _responses_mocks(given: Any) -> list[Any]:
    """The `responses` mocks to open a pass-through in: the one given, and the default one."""
    module = sys.modules.get("responses")
    found = []
    if given is not None:
        found.append(given.mock if isinstance(given, types.ModuleType) else given)
    if module is not None and getattr(module, "mock", None) is not None and module.mock not in found:
        found.append(module.mock)
    return found


# --- requests -----------------------------------------------------------------------


def _patch_requests() -> Callable[[], None] | None:
    try:
        from requests.adapters import HTTPAdapter
    except ImportError:
        return None
    originals = {name: getattr(HTTPAdapter, name) for name in ("get_connection_with_tls_context", "get_connection")
                 if hasattr(HTTPAdapter, name)}

    def with_tls_context(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        pool = _pool_for(request.url)
        return pool if pool is not None else originals["get_connection_with_tls_context"](self, request, *args, **kwargs)

    def connection(self: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        pool = _pool_for(url)
        return pool if pool is not None else originals["get_connection"](self, url, *args, **kwargs)

    replacements = {"get_connection_with_tls_context": with_tls_context, "get_connection": connection}
    for name in originals:
        setattr(HTTPAdapter, name, replacements[name])

    def undo() -> None:
        for name, original in originals.items():
            setattr(HTTPAdapter, name, original)
    return undo


def _pool_for(url: str) -> Any:
    mounted = _registry.fake_for(url)
    if mounted is None:
        return None
    if mounted.pool is None:
        mounted.pool = _fake_pool_class()(mounted.origin, mounted.fake.app)
    return mounted.pool


@functools.cache
def _fake_pool_class() -> type:
    """Built on first use: importing fake_dimail must not import urllib3."""
    from urllib3 import HTTPConnectionPool, HTTPResponse
    from urllib3.connection import HTTPConnection
    from urllib3.exceptions import NewConnectionError

    # Named like urllib3's own classes: their names are in the messages of the errors users see.
    class FakeConnection(HTTPConnection):
        """A connection whose far end is the app: `request` asks it, `getresponse` reads its answer."""

        app: Any
        origin: _Origin

        def connect(self) -> None:
            return None

        def request(self, method: str, url: str, body: Any = None, headers: Any = None, *, chunked: bool = False,
                    preload_content: bool = True, decode_content: bool = True,
                    enforce_content_length: bool = True) -> None:
            self._options = (method, url, preload_content, decode_content, enforce_content_length)
            raw = [(str(k).encode("latin-1"), v if isinstance(v, bytes) else str(v).encode("latin-1"))
                   for k, v in (headers or {}).items()]
            if not any(k.lower() == b"host" for k, _ in raw):
                raw.append((b"host", self.origin.url.split("://", 1)[1].encode("idna")))
            self._answer: Answer | InjectedFault
            try:
                self._answer = exchange(self.app, method, self.origin.url + url, raw, _body_bytes(body))
            except InjectedFault as fault:
                if fault.kind == CONNECTION_ERROR:
                    raise NewConnectionError(self, errors.CONNECTION_REFUSED) from None
                self._answer = fault

        def getresponse(self) -> Any:  # type: ignore[override]
            answer = self._answer
            method, url, preload, decode, enforce = self._options
            if isinstance(answer, InjectedFault):
                raise TimeoutError(errors.injected(answer.kind))  # a socket read timing out
            return HTTPResponse(
                body=io.BytesIO(answer.body),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers],
                status=answer.status, version=11, version_string="HTTP/1.1", reason=reason_phrase(answer.status),
                preload_content=preload, decode_content=decode, enforce_content_length=enforce,
                request_method=method, request_url=url,
            )

    class FakePool(HTTPConnectionPool):
        def __init__(self, origin: _Origin, app: Any) -> None:
            super().__init__(origin.host, origin.port)
            self.scheme = origin.scheme
            self.origin = origin
            self.app = app

        def _new_conn(self) -> Any:
            conn = FakeConnection(self.host, self.port)
            conn.app, conn.origin = self.app, self.origin
            return conn

    FakeConnection.__name__ = FakeConnection.__qualname__ = "HTTPConnection"
    FakePool.__name__ = FakePool.__qualname__ = "HTTPConnectionPool"
    return FakePool


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in body)


# --- httpx --------------------------------------------------------------------------


def _patch_httpx() -> Callable[[], None]:
    import httpx

    sync_original = httpx.HTTPTransport.handle_request
    async_original = httpx.AsyncHTTPTransport.handle_async_request

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        mounted = _registry.fake_for(str(request.url))
        return sync_original(self, request) if mounted is None else answer_httpx(mounted.fake.app, request)

    async def handle_async_request(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        mounted = _registry.fake_for(str(request.url))
        if mounted is None:
            return await async_original(self, request)
        return await answer_httpx_async(mounted.fake.app, request)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]

    def undo() -> None:
        httpx.HTTPTransport.handle_request = sync_original  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = async_original  # type: ignore[method-assign]
    return undo
