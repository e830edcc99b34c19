"""Hand one HTTP request straight to an ASGI app, with no socket: the in-process transports.

`exchange()`/`exchange_async()` build the ASGI scope a server would, run the
app and collect its answer. Everything in-process goes through them: the
`httpx` transports of `FakeDimail.client()`/`.transport()` and the
interception of `requests`/`httpx` by `mock_dimail`, so all of them see the
same answers and the same faults.

A synchronous caller with no event loop of its own runs the app in its own
thread, with no thread hop: the app's coroutine is stepped directly (nearly
every request is answered without ever waiting), and one that does wait (a
fault's delay, a big body served off the loop) is finished on a loop kept for
that thread. A caller already inside a running loop (a sync call from async
code) hands it to one shared background loop.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Generator
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote_to_bytes, urlsplit

import httpx
from starlette.types import ASGIApp, Message

from . import errors
from .faults import InjectedFault
from .loops import LazyLoop, thread_loop

T = TypeVar("T")

CLIENT = ("127.0.0.1", 50000)
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def _scope(method: str, url: str, headers: list[tuple[bytes, bytes]]) -> dict:
    parts = urlsplit(url)
    raw_path = parts.path.encode("ascii", "ignore") or b"/"
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": parts.scheme,
        "path": unquote_to_bytes(raw_path).decode("utf-8", "surrogateescape"),
        "raw_path": raw_path,
        "query_string": parts.query.encode("ascii", "ignore"),
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in headers],
        "client": CLIENT,
        "server": (parts.hostname or "", port),
    }


async def exchange_async(app: ASGIApp, method: str, url: str, headers: list[tuple[bytes, bytes]],
                         body: bytes) -> Answer:
    """One request through the app; an unexpected error is the 500 a server would send."""
    sent = False
    status, answer_headers, chunks = 500, [], []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status, answer_headers
        if message["type"] == "http.response.start":
            status, answer_headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await app(_scope(method, url, headers), receive, send)
    except InjectedFault:
        raise
    except Exception:
        # What uvicorn sends for an unhandled exception.
        text = errors.INTERNAL_SERVER_ERROR.encode()
        return Answer(500, [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(text)).encode()), (b"connection", b"close")], text)
    return Answer(status, answer_headers, b"".join(chunks))


# Where a synchronous call made inside a running loop is served (it cannot wait on its own loop).
_background = LazyLoop("fake-dimail-asgi")


def exchange(app: ASGIApp, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Answer:
    """`exchange_async` for synchronous callers."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run_sync(exchange_async(app, method, url, headers, body))
    # Inside a running loop this thread cannot block on another coroutine of its own.
    future = asyncio.run_coroutine_threadsafe(exchange_async(app, method, url, headers, body), _background.get())
    return future.result()


def run_sync(coro: Coroutine[object, object, T]) -> T:
    """Run `coro` to its end from a thread with no running loop, as `loop.run_until_complete` would.

    It is first stepped here, with this thread's loop marked as running (so that `get_running_loop()`
    and what builds on it work) and in a copy of the caller's context, as a task's; if it completes
    without waiting, that is all (two loop iterations and their polls saved, a sixth of what an answer
    costs). If it waits, the rest runs as a task on that loop, in the same context. A callback it
    schedules without waiting for it would run at the loop's next use: the fake's app schedules none.
    """
    loop = thread_loop()
    context = contextvars.copy_context()
    asyncio.events._set_running_loop(loop)
    try:
        awaited = context.run(coro.send, None)
    except StopIteration as done:
        return done.value
    finally:
        asyncio.events._set_running_loop(None)
    return loop.run_until_complete(loop.create_task(_finish(coro, awaited), context=context))


async def _finish(coro: Coroutine[object, object, T], awaited: object) -> T:
    return await _Resumed(coro, awaited)


class _Resumed:
    """Awaiting it carries on a coroutine already started elsewhere, from what it was waiting for."""

    def __init__(self, coro: Coroutine[object, object, object], awaited: object) -> None:
        self.coro, self.awaited = coro, awaited

    def __await__(self) -> Generator[object, object, object]:
        coro, awaited = self.coro, self.awaited
        while True:
            try:
                sent = yield awaited
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # thrown in by the task: its cancellation
                try:
                    awaited = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    awaited = coro.send(sent)
                except StopIteration as done:
                    return done.value


def _httpx_error(kind: str, request: httpx.Request) -> httpx.TransportError:
    if kind == "timeout":
        return httpx.ReadTimeout(errors.injected(kind), request=request)
    return httpx.ConnectError(errors.injected(kind), request=request)


def _httpx_response(answer: Answer, request: httpx.Request) -> httpx.Response:
    # A stream, not `content=`: the client then reads and closes it, which sets `.elapsed`.
    return httpx.Response(answer.status, headers=answer.headers, stream=httpx.ByteStream(answer.body),
                          request=request)


def answer_httpx(app: ASGIApp, request: httpx.Request) -> httpx.Response:
    try:
        answer = exchange(app, request.method, str(request.url), request.headers.raw, request.read())
    except InjectedFault as fault:
        raise _httpx_error(fault.kind, request) from None
    return _httpx_response(answer, request)


async def answer_httpx_async(app: ASGIApp, request: httpx.Request) -> httpx.Response:
    try:
        answer = await exchange_async(app, request.method, str(request.url), request.headers.raw,
                                      await request.aread())
    except InjectedFault as fault:
        raise _httpx_error(fault.kind, request) from None
    return _httpx_response(answer, request)


class ASGISyncTransport(httpx.BaseTransport):
    """For `httpx.Client(transport=...)`: httpx's own ASGITransport serves only async clients."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return answer_httpx(self.app, request)


class ASGIAsyncTransport(httpx.AsyncBaseTransport):
    """For `httpx.AsyncClient(transport=...)`, with the same answers and faults as the sync one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await answer_httpx_async(self.app, request)
