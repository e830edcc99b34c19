"""`GET /system/shutdown`: the fake stops as a server would, and is then seen as one that stopped.

After it, every request is refused like a connection to a closed port:
in-process the app raises `InjectedFault("connection-error")`, which the
transports turn into the client library's own connection error (as an
injected fault does); under `fake-dimail serve` the server exits cleanly
(`stop_server`, set by the CLI) and the connections still arriving are dropped
(guess G-shutdown: a stopped dimail is a closed port).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .faults import CONNECTION_ERROR, Faults, InjectedFault


class Shutdown:
    def __init__(self) -> None:
        self.stopped = False
        self.stop_server: Callable[[], None] | None = None

    def stop(self) -> None:
        self.stopped = True
        if self.stop_server is not None:
            self.stop_server()


class RefuseWhenStopped:
    """ASGI middleware, outermost: a stopped fake answers nothing, and journals nothing."""

    def __init__(self, app: ASGIApp, shutdown: Shutdown, faults: Faults) -> None:
        self.app = app
        self.shutdown = shutdown
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.shutdown.stopped:
            await self.app(scope, receive, send)
            return
        if self.faults.abort is None:
            raise InjectedFault(CONNECTION_ERROR)
        self.faults.abort(scope)
        await send({"type": "http.response.start", "status": 502, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def shutdown_of(app: Any) -> Shutdown:
    return app.state.shutdown
