"""A synchronous httpx transport that hands each request straight to an ASGI app.

httpx's own ASGITransport serves only async clients; tests and tools mostly
want a plain `httpx.Client`. The app runs on one private event loop thread,
so it works the same whether or not the caller has a loop of its own.
"""

from __future__ import annotations

import asyncio
import threading

import httpx
from starlette.types import ASGIApp


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-dimail-asgi", daemon=True)
        self.thread.start()


class ASGISyncTransport(httpx.BaseTransport):
    _shared: _LoopThread | None = None
    _shared_lock = threading.Lock()

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        # An unexpected error comes back as the 500 a server would send, not as an exception.
        self._inner = httpx.ASGITransport(app=app, client=client, raise_app_exceptions=False)

    @classmethod
    def _loop(cls) -> asyncio.AbstractEventLoop:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = _LoopThread()
            return cls._shared.loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)

        async def exchange() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._inner.handle_async_request(copy)
            content = await response.aread()
            return response.status_code, response.headers.raw, content

        future = asyncio.run_coroutine_threadsafe(exchange(), self._loop())
        status, headers, content = future.result()
        # A stream, not `content=`: the client then reads and closes it, which sets `.elapsed`.
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content), request=request)
