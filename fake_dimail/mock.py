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
import gc
import inspect
import io
import logging
import sys
import threading
import types
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
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
    retry_backoff: bool = False  # wait the backoff of a client's urllib3 Retry between attempts
    # The `responses` mocks given a pass-through to this fake, to take it back when the fake goes.
    passthrough: list[weakref.ref[Any]] = field(default_factory=list)
    # The `responses` mocks recording what they pass through to a fake in their `calls`.
    recording: list[weakref.ref[Any]] = field(default_factory=list)

    @functools.cached_property
    def prefix(self) -> str:
        return self.origin.url + "/"

    def open_passthrough(self, mock: Any) -> None:
        """Let the test's own `responses` mock pass the fake's URL through (its own mocks still win), and
        record what it passes through in its `calls`, in order with what it mocks."""
        if self.prefix not in mock.passthru_prefixes:
            mock.add_passthru(self.prefix)
            self.passthrough.append(weakref.ref(mock))
        if _record_passthrough(mock):
            self.recording.append(weakref.ref(mock))

    def close_passthrough(self) -> None:
        for ref in self.passthrough:
            mock = ref()
            if mock is not None:
                mock.passthru_prefixes = tuple(p for p in mock.passthru_prefixes if p != self.prefix)
        self.passthrough.clear()
        for ref in self.recording:
            mock = ref()
            if mock is not None and not any(r() is mock for m in _registry.active for r in m.recording):
                _stop_recording(mock)
        self.recording.clear()


class _Registry:
    """The active mocks, innermost last, and the patches they need."""

    def __init__(self) -> None:
        self.active: list[_Mounted] = []
        self.lock = threading.Lock()
        self._undo: list[Callable[[], None]] = []
        self._responses_patched = False

    def fake_for(self, url: str) -> _Mounted | None:
        if not self.active:
            return None
        # The URL as the fake's base URL spells it (nearly always): no parsing. Two mounts of one origin share
        # their prefix, so the innermost is still the one found; other spellings are parsed below.
        for mounted in reversed(self.active):
            if url.startswith(mounted.prefix):
                return mounted
        origin = _Origin.parse(url)
        for mounted in reversed(self.active):
            if mounted.origin == origin:
                return mounted
        return None

    def push(self, mounted: _Mounted) -> None:
        with self.lock:
            if not self.active:
                self._undo = [undo for patch in (_patch_requests, _patch_httpx) if (undo := patch()) is not None]
                self._responses_patched = False
            if not self._responses_patched:  # `responses` may be imported while a fake is active
                undo = _patch_responses()
                if undo is not None:
                    self._undo.append(undo)
                    self._responses_patched = True
            self.active.append(mounted)

    def hint(self, exc: BaseException, origin: str) -> None:
        """A refused request to another host: its message names the fake's URL (a likely misconfiguration)."""
        fakes = sorted({m.origin.url for m in self.active})
        if fakes and exc.args and isinstance(exc.args[0], str) and "[fake-dimail:" not in exc.args[0]:
            exc.args = (exc.args[0] + errors.not_the_fake(origin, fakes), *exc.args[1:])

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
    functions (a new fake per call, unless `fake` is given). Beside `responses`:
    every `RequestsMock` started while the fake is active (a test's own,
    `@responses.activate`'s, the default one) passes `base_url` through to the
    fake by itself, with no log record; the test's own mocks still win. One
    started before the fake is given with `responses=rsps`.

    A client's urllib3 `Retry` makes the same attempts as against a server, but its
    backoff between them is not waited (`retry_backoff=True` waits it).
    """

    def __init__(
        self,
        base_url: str = "http://dimail:8000",
        *,
        seed: str | Iterable[UserSeed] = "people-dev",
        fake: FakeDimail | None = None,
        settings: Settings | None = None,
        responses: Any = None,
        retry_backoff: bool = False,
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
        self._retry_backoff = retry_backoff
        self._entered: list[_Mounted] = []

    @property
    def fake(self) -> FakeDimail | None:
        """The fake answering now (None when inactive)."""
        return self._entered[-1].fake if self._entered else None

    def __enter__(self) -> FakeDimail:
        fake = self._given or FakeDimail(settings=self._settings, seed=self._seed)
        mounted = _Mounted(self.origin, fake, retry_backoff=self._retry_backoff)
        for mock in _responses_mocks(self._responses):
            mounted.open_passthrough(mock)
        _registry.push(mounted)
        self._entered.append(mounted)
        return fake

    def __exit__(self, *exc_info: object) -> None:
        mounted = self._entered.pop()
        _registry.pop(mounted)
        mounted.close_passthrough()

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
        if pool is not None:
            return pool
        return _HintingPool(originals["get_connection_with_tls_context"](self, request, *args, **kwargs))

    def connection(self: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        pool = _pool_for(url)
        return pool if pool is not None else _HintingPool(originals["get_connection"](self, url, *args, **kwargs))

    replacements = {"get_connection_with_tls_context": with_tls_context, "get_connection": connection}
    for name in originals:
        setattr(HTTPAdapter, name, replacements[name])

    def undo() -> None:
        for name, original in originals.items():
            setattr(HTTPAdapter, name, original)
    return undo


class _HintingPool:
    """Another host's own pool, handed to `requests` unchanged but for one thing: when that host cannot be
    reached, the error names the fake's URL. Made per request, so nothing of it outlives the mock."""

    __slots__ = ("_pool",)

    def __init__(self, pool: Any) -> None:
        object.__setattr__(self, "_pool", pool)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._pool, name, value)

    def urlopen(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._pool.urlopen(method, url, *args, **kwargs)
        except Exception as exc:
            if _unreachable(exc):
                pool = self._pool
                _registry.hint(exc, _origin_of(f"{pool.scheme}://{pool.host}" + (f":{pool.port}" if pool.port else "")))
            raise


def _unreachable(exc: BaseException) -> bool:
    """A failure to connect (refused, unknown name, connect timeout), urllib3's or the socket's."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    if isinstance(exc, MaxRetryError):
        return isinstance(exc.reason, (NewConnectionError, OSError))
    return isinstance(exc, (NewConnectionError, OSError))


def _pool_for(url: str) -> Any:
    mounted = _registry.fake_for(url)
    if mounted is None:
        return None
    if mounted.pool is None:
        # One pool per fake, origin and backoff choice, kept on the fake: made again at every mock (each test
        # of a suite sharing one fake), its queue, locks and finalizer were a tenth of a millisecond a test.
        key = (mounted.origin, mounted.retry_backoff)
        pools = mounted.fake.mock_pools
        pool = pools.get(key)
        if pool is None:
            pool = pools[key] = _fake_pool_class()(mounted.origin, mounted.fake.app, mounted.retry_backoff)
        mounted.pool = pool
    return mounted.pool


def _genuine(cls: type, name: str, value: Any) -> Any:
    """`cls.<name>` as its module defined it, though a test may have patched it on the class since (a network
    guard replacing `HTTPConnectionPool.urlopen`): found in the patch's closure or `__wrapped__`, else among
    the live functions (the patch's undo keeps it alive); the value itself if it is already that."""
    qualname, module = f"{cls.__qualname__}.{name}", cls.__module__

    def is_it(candidate: Any) -> bool:
        return (isinstance(candidate, types.FunctionType) and candidate.__qualname__ == qualname
                and candidate.__module__ == module)

    def inside(candidate: Any, depth: int) -> Any:
        if is_it(candidate):
            return candidate
        if depth == 0:
            return None
        inner: list[Any] = []
        for attribute in ("__wrapped__", "__func__"):
            try:
                inner.append(object.__getattribute__(candidate, attribute))
            except AttributeError:
                pass
        for cell in getattr(candidate, "__closure__", None) or ():
            try:
                inner.append(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
        inner.extend(getattr(candidate, "__defaults__", None) or ())
        return next((found for c in inner if (found := inside(c, depth - 1)) is not None), None)

    if not isinstance(value, types.FunctionType) or is_it(value):
        return value
    found = inside(value, 3)
    if found is None:
        found = next((f for f in gc.get_objects() if is_it(f)), value)
    return found


def _pinned(*classes: type, keep: Iterable[str]) -> dict[str, Any]:
    """The functions `classes` define (the first one winning), each as its module defined it: a subclass
    holding them is deaf to later patches of its bases."""
    pinned: dict[str, Any] = {}
    for cls in reversed(classes):
        for name, value in vars(cls).items():
            if isinstance(value, types.FunctionType) and name not in keep:
                pinned[name] = _genuine(cls, name, value)
    return pinned


@functools.cache
def _fake_pool_class() -> type:
    """Built on first use: importing fake_dimail must not import urllib3.

    The pool and connection classes hold their bases' methods as urllib3 and http.client defined them:
    a test's network guard patching `HTTPConnectionPool.urlopen` (or `HTTPConnection`'s methods) after
    import still refuses every other host, but not the fake, which never opens a socket.
    """
    import http.client

    from urllib3 import HTTPConnectionPool, HTTPResponse
    from urllib3.connection import HTTPConnection
    from urllib3.connectionpool import ConnectionPool
    from urllib3.exceptions import NewConnectionError

    pool_init = _genuine(HTTPConnectionPool, "__init__", vars(HTTPConnectionPool)["__init__"])
    urlopen = _genuine(HTTPConnectionPool, "urlopen", vars(HTTPConnectionPool)["urlopen"])

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
        def __init__(self, origin: _Origin, app: Any, retry_backoff: bool = False) -> None:
            pool_init(self, origin.host, origin.port)
            self.scheme = origin.scheme
            self.origin = origin
            self.app = app
            self.retry_backoff = retry_backoff

        def urlopen(self, method: str, url: str, body: Any = None, headers: Any = None, retries: Any = None,
                    *args: Any, **kwargs: Any) -> Any:
            # The same attempts as with a server, without waiting the client's backoff between them
            # (a Retry-After the fake answers is still waited).
            if not self.retry_backoff and getattr(retries, "backoff_factor", 0):
                quick = {"backoff_factor": 0, **({"backoff_jitter": 0} if hasattr(retries, "backoff_jitter") else {})}
                retries = retries.new(**quick)
            return urlopen(self, method, url, body, headers, retries, *args, **kwargs)

        def _new_conn(self) -> Any:
            conn = FakeConnection(self.host, self.port)
            conn.app, conn.origin = self.app, self.origin
            return conn

    own = set(vars(FakeConnection)) | {"__init_subclass__"}
    for name, value in _pinned(HTTPConnection, http.client.HTTPConnection, keep=own).items():
        setattr(FakeConnection, name, value)
    for name, value in _pinned(HTTPConnectionPool, ConnectionPool, keep=set(vars(FakePool))).items():
        setattr(FakePool, name, value)
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
        if mounted is not None:
            return answer_httpx(mounted.fake.app, request)
        try:
            return sync_original(self, request)
        except httpx.ConnectError as exc:
            _registry.hint(exc, _origin_of(request.url))
            raise

    async def handle_async_request(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        mounted = _registry.fake_for(str(request.url))
        if mounted is not None:
            return await answer_httpx_async(mounted.fake.app, request)
        try:
            return await async_original(self, request)
        except httpx.ConnectError as exc:
            _registry.hint(exc, _origin_of(request.url))
            raise

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]

    def undo() -> None:
        httpx.HTTPTransport.handle_request = sync_original  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = async_original  # type: ignore[method-assign]
    return undo


def _origin_of(url: Any) -> str:
    origin = _Origin.parse(str(url))
    return origin.url if origin is not None else str(url)


# --- responses ----------------------------------------------------------------------

# `responses` logs each request it passes through at INFO: a suite counting log records would see them.
_PASSTHROUGH_RECORDS = ("request.allowed-passthru", "request.passthrough-response")


class _QuietPassthrough(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        url = getattr(record, "url", None)
        return not (record.msg in _PASSTHROUGH_RECORDS and isinstance(url, str)
                    and _registry.fake_for(url) is not None)


def _record_passthrough(mock: Any) -> bool:
    """Make `mock` keep what it passes through to a fake in its `calls`, as it keeps what it mocks; False if
    it already does.

    `responses` records nothing it passes through by a prefix: there its `_on_request` returns
    `_real_send`'s answer as is, every other way out of it recording a `Call` (a mocked answer, a mocked
    exception, a `PassthroughResponse`, a refusal). So the exchange is recorded here when the request is the
    fake's and `responses` recorded no call of that request meanwhile; the request and the answer are the
    real ones (`PreparedRequest`, `requests.Response`, or the exception raised). Other hosts: unchanged.
    """
    if getattr(mock.__dict__.get("_on_request"), "fake_dimail_recording", False) or not hasattr(mock, "_on_request"):
        return False
    # `responses` calls it through `self`: an attribute of the instance is found first, and taken back whole.
    calls, original, previous = mock.calls, mock._on_request, mock.__dict__.get("_on_request")

    def on_request(adapter: Any, request: Any, **kwargs: Any) -> Any:
        start = len(calls)
        try:
            response = original(adapter, request, **kwargs)
        except Exception as exc:
            _keep(calls, start, request, exc)
            raise
        _keep(calls, start, request, response)
        return response

    on_request.fake_dimail_recording = True  # type: ignore[attr-defined]
    on_request.fake_dimail_previous = previous  # type: ignore[attr-defined]
    mock._on_request = on_request
    return True


def _keep(calls: Any, start: int, request: Any, outcome: Any) -> None:
    if _registry.fake_for(str(request.url)) is not None and not any(
            call.request is request for call in calls[start:]):
        calls.add(request, outcome)


def _stop_recording(mock: Any) -> None:
    ours = mock.__dict__.get("_on_request")
    if getattr(ours, "fake_dimail_recording", False):
        if ours.fake_dimail_previous is None:
            del mock._on_request
        else:
            mock._on_request = ours.fake_dimail_previous


def _patch_responses() -> Callable[[], None] | None:
    """While a fake is active: every `RequestsMock` started opens a pass-through to it, and `responses`
    logs nothing about what it passes through to it."""
    module = sys.modules.get("responses")
    if module is None or not hasattr(module, "RequestsMock"):
        return None
    mock_class = module.RequestsMock
    original_start = mock_class.__dict__["start"]
    quiet = _QuietPassthrough()
    logger = logging.getLogger("responses")

    def start(self: Any) -> None:
        original_start(self)
        for mounted in list(_registry.active):
            mounted.open_passthrough(self)

    mock_class.start = start
    logger.addFilter(quiet)

    def undo() -> None:
        mock_class.start = original_start
        logger.removeFilter(quiet)
    return undo
