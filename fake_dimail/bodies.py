"""Request bodies: a size limit (`--max-body`), and big bodies taken in without stalling other clients.

Every route answers from the event loop, so a request whose body takes long to
parse and validate (10 MB of JSON) would make every other client wait. A body
above `OFFLOAD_ABOVE` is read here, on the loop (reading is waiting, not
work), and its request is then served on a loop thread of its own: the server's
loop keeps answering others meanwhile, the two taking turns on the interpreter.
Smaller bodies, nearly all of them, pass straight through.

A body beyond the limit gets 413 with one line (the fake's own answer: dimail
sets no limit). It is read to its end first, discarded as it comes, so that a
client still sending it reads the 413 instead of a connection reset.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import errors
from .config import Settings
from .loops import LazyLoop

# Bodies above this many bytes are served off the server's event loop.
OFFLOAD_ABOVE = 256 * 1024

# Where requests with a big body are served, one process-wide loop thread, closed at exit.
_worker = LazyLoop("fake-dimail-bodies")


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared Content-Length (None if absent or not a number), and whether the body is chunked."""
    length, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked


class BodyGuard:
    """ASGI middleware: 413 beyond `settings.max_body`; big bodies served on the worker loop."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limit = settings.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked = _framing(scope)
        if (length is None and not chunked) or (length is not None and length <= min(self.limit, OFFLOAD_ABOVE)):
            await self.app(scope, receive, send)  # no body, or a small one: nearly every request
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            chunk, more = message.get("body", b""), message.get("more_body", False)
            size += len(chunk)
            if size <= self.limit:
                chunks.append(chunk)
        if size > self.limit:
            await _too_large(size, self.limit)(scope, receive, send)
            return
        body = b"".join(chunks)
        given = False

        async def replay() -> Message:
            nonlocal given
            if given:
                return await receive()
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        if size <= OFFLOAD_ABOVE:
            await self.app(scope, replay, send)
        else:
            await self._offloaded(scope, replay, send)

    async def _offloaded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request on the worker loop; what it receives and sends goes through this loop."""
        here = asyncio.get_running_loop()

        async def on_here(call: Any) -> Any:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call, here))

        async def receiving() -> Message:
            return await on_here(receive())

        async def sending(message: Message) -> None:
            await on_here(send(message))

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.app(scope, receiving, sending),
                                                                   _worker.get()))


def _too_large(size: int, limit: int) -> JSONResponse:
    # guess G-max-body: dimail sets no limit; the fake answers 413 beyond --max-body.
    return JSONResponse({"detail": errors.body_too_large(size, limit)}, status_code=413)
