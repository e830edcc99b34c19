"""Injected faults: one registry for Python (`fake.faults`) and HTTP (`/_fake/faults`).

A fault matches requests by method and by path, the operation's template
(`/domains/{domain_name}/mailboxes/{user_name}`) or a concrete path; `*` for
either matches every one. A path spelled with the other trailing slash than its
operation's (People's `/domains/{d}/address/{u}/`, which the fake redirects) is
the operation's: the fault answers the request that reaches the operation. It
lets `after` matching requests through, then answers the next `times` ones
(every one with `times=None`) with an HTTP status, a dropped connection or a
stall; `delay_ms` waits first. `times` and `after` count requests as the server
sees them: a client that retries (a mounted urllib3 `Retry`, People's session)
sends several for one call. `faults.down()` is dimail down: every request
refused at connection level, whatever the retries, until removed. Faults apply
to dimail's operations only, never to `/_fake/`, and are checked when added, so
a typo fails at once instead of silently never matching.

Connection-level faults cannot be said in ASGI: in-process the app raises
`InjectedFault`, which the transports turn into the client library's own
exception; under `fake-dimail serve` the server closes the socket instead
(`Faults.abort`, set by the CLI).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from . import errors
from .guard import is_control

CONNECTION_ERROR, TIMEOUT = "connection-error", "timeout"
ANY = "*"  # as a fault's method or path: every one
CONNECTION_FAULTS = (CONNECTION_ERROR, TIMEOUT)
# Over HTTP, a "timeout" with no delay stalls this long before closing the connection.
DEFAULT_STALL_MS = 10_000
FAULT_KEY = "fake_dimail.fault"
# The operation a faulted request was for (the router, which names it otherwise, never sees the request).
OPERATION_KEY = "fake_dimail.operation"


def reason_phrase(status: int) -> str:
    """The standard phrase of a status; "" for one HTTP names none (a 520, say), as a server sends it."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


@functools.lru_cache(maxsize=4096)
def _regex(template: str) -> re.Pattern[str]:
    """A template's regex, compiled once per process: every app of a process has the same few templates."""
    return compile_path(template)[0]


class InjectedFault(Exception):
    """Raised by the app for a connection-level fault: the in-process transport turns it
    into the client library's own exception (`kind` is "connection-error" or "timeout")."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class Fault:
    id: int
    method: str
    path: str
    answer: int | str | None
    times: int | None
    after: int
    delay_ms: int
    body: Any
    seen: int = 0  # matching requests so far
    hits: int = 0  # of them, answered by this fault
    _regex: re.Pattern[str] | None = field(default=None, repr=False)
    _owner: Faults | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return "delay" if self.answer is None else str(self.answer)

    def matches(self, method: str, path: str) -> bool:
        if method != self.method and self.method != ANY:
            return False
        if self.path == ANY:
            return not is_control(path)  # the control plane stays reachable, to lift the fault
        return path == self.path or (self._regex is not None and self._regex.match(path) is not None)

    def remove(self) -> None:
        if self._owner is not None:
            self._owner.remove(self.id)

    # A fault is also a context manager: `with fake.faults.down(): ...` removes it on the way out.
    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "method": self.method, "path": self.path, "answer": self.answer,
                "times": self.times, "after": self.after, "delay_ms": self.delay_ms, "body": self.body,
                "seen": self.seen, "hits": self.hits}


class Faults:
    """The faults of one app. `operations` lists its operations: (path template, methods), as its OpenAPI
    document has them (read from the routes: generating the document costs a second)."""

    def __init__(self, operations: Callable[[], Iterable[tuple[str, Iterable[str]]]]) -> None:
        self._listed = operations
        self._operations: list[tuple[str, set[str], re.Pattern[str]]] | None = None
        self._faults: dict[int, Fault] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # Set by `fake-dimail serve`: drop the connection of this request's scope.
        self.abort: Callable[[Scope], bool] | None = None

    def __bool__(self) -> bool:
        return bool(self._faults)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._faults.values()))

    def __len__(self) -> int:
        return len(self._faults)

    def add(self, method: str = "GET", path: str = "/", answer: int | str | None = 503, *, times: int | None = 1,
            after: int = 0, delay_ms: int = 0, body: Any = None) -> Fault:
        """Register a fault; raises ValueError naming the problem (nothing is added then)."""
        method = method.upper()
        if not (answer is None or answer in CONNECTION_FAULTS
                or (isinstance(answer, int) and not isinstance(answer, bool) and 200 <= answer <= 599)):
            raise ValueError(errors.fault_answer(answer))
        if times is not None and times < 1 or after < 0 or delay_ms < 0:
            raise ValueError(errors.FAULT_COUNTS)
        path = self.spelled(path)
        if path == ANY:
            regex = None
        elif method == ANY:
            regex = self._template(path)
        else:
            regex = self._operation(method, path)
        with self._lock:
            fault = Fault(next(self._ids), method, path, answer, times, after, delay_ms, body,
                          _regex=regex, _owner=self)
            self._faults[fault.id] = fault
        return fault

    def down(self, *, times: int | None = None, after: int = 0) -> Fault:
        """dimail is down: every request (any method, any path) refused at connection level, every retry
        included (`times=None`), until `.remove()` or the end of a `with` block."""
        return self.add(ANY, ANY, CONNECTION_ERROR, times=times, after=after)

    def _operations_list(self) -> list[tuple[str, set[str], re.Pattern[str]]]:
        if self._operations is None:
            self._operations = [
                (template, {m.upper() for m in methods}, _regex(template))
                for template, methods in self._listed() if not is_control(template)
            ]
        return self._operations

    def spelled(self, path: str) -> str:
        """`path` (a template or a concrete path) as dimail's operations spell it: where no operation has it but
        one has it with the other trailing slash, that spelling (the fake answers the first with a 307 to it, as
        People's `/domains/{d}/address/{u}/` reaches `/domains/{domain_name}/address/{user_name}`); else as is."""
        if path == ANY or is_control(path) or self._known(path):
            return path
        other = path[:-1] if path.endswith("/") else path + "/"
        return other if other and self._known(other) else path

    def operation_of(self, method: str, path: str) -> str | None:
        """The template of the operation `method path` reaches, None if none: what the journal names for a
        request a fault answered. Run only for such a request (the operations, not a store, are scanned)."""
        for template, methods, regex in self._operations_list():
            if _answers(methods, method) and regex.match(path) is not None:
                return template
        return None

    def _known(self, path: str) -> bool:
        return any(template == path or regex.match(path) is not None for template, _, regex in self._operations_list())

    def _template(self, path: str) -> re.Pattern[str] | None:
        """For a fault on every method: the regex of the template `path` is, None for a concrete path some
        operation has; ValueError if no operation has it."""
        template = next((regex for t, _, regex in self._operations_list() if t == path), None)
        if template is None and not self._known(path):
            raise ValueError(errors.no_operation(ANY, path))
        return template

    def _operation(self, method: str, path: str) -> re.Pattern[str] | None:
        """The template's regex when `path` is a template; None for a concrete path. ValueError if neither."""
        concrete = False
        for template, methods, regex in self._operations_list():
            if not _answers(methods, method):
                continue
            if template == path:
                return regex
            concrete = concrete or regex.match(path) is not None
        if not concrete:
            raise ValueError(errors.no_operation(method, path))
        return None

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            return self._faults.pop(fault_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that answers this request, if any (counted; an exhausted fault goes away)."""
        with self._lock:
            for fault in self._faults.values():
                if not fault.matches(method, path):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.hits += 1
                if fault.times is not None and fault.hits >= fault.times:
                    del self._faults[fault.id]
                return fault
        return None


def _answers(methods: set[str], method: str) -> bool:
    """Whether an operation of these methods answers `method` (HEAD is answered as GET)."""
    return method in methods or method == "HEAD" and "GET" in methods


def _body(fault: Fault) -> tuple[bytes, bytes]:
    if fault.body is None:
        assert isinstance(fault.answer, int)
        # guess G-fault-body: a proxy's terse answer; a 500 is uvicorn's, exactly as dimail's own crashes.
        return reason_phrase(fault.answer).encode(), b"text/plain; charset=utf-8"
    if isinstance(fault.body, str):
        return fault.body.encode(), b"text/plain; charset=utf-8"
    return json.dumps(fault.body, separators=(",", ":")).encode(), b"application/json"


class FaultInjection:
    """ASGI middleware: answer a request from its fault instead of from dimail's routes."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fault = self.faults.take(scope["method"], scope["path"]) if scope["type"] == "http" and self.faults else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        scope[FAULT_KEY] = fault.label
        if fault.answer is not None:  # answered here, not by a route: the journal learns its operation from us
            scope[OPERATION_KEY] = self.faults.operation_of(scope["method"], scope["path"])
        delay = fault.delay_ms or (DEFAULT_STALL_MS if fault.answer == TIMEOUT and self.faults.abort else 0)
        if delay:
            await asyncio.sleep(delay / 1000)
        if fault.answer is None:
            await self.app(scope, receive, send)
        elif isinstance(fault.answer, int):
            body, content_type = _body(fault)
            headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
            if fault.answer == 500:
                headers.append((b"connection", b"close"))
            await send({"type": "http.response.start", "status": fault.answer, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif self.faults.abort is not None:
            # The socket is gone (aborted now, or the client left while we stalled): what is sent
            # now is dropped, and the server logs no error for it.
            self.faults.abort(scope)
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        else:
            raise InjectedFault(fault.answer)


def uvicorn_abort(server: Any) -> Callable[[Scope], bool]:
    """For `Faults.abort`: drop the connection serving `scope` on this uvicorn server.

    uvicorn keeps its live protocols, each with the scope of the request it
    serves; aborting the protocol's transport is what a crashed server does.
    """

    def abort(scope: Scope) -> bool:
        for protocol in list(server.server_state.connections):
            cycle = getattr(protocol, "cycle", None)
            if cycle is not None and cycle.scope is scope:
                protocol.transport.abort()
                return True
        return False

    return abort
