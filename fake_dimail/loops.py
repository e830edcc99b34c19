"""Event loops the fake opens outside any server: one per synchronous calling thread (the in-process
transports run the app there, no thread hop) and named daemon loop threads started at first use (a
synchronous call made inside a running loop, big bodies served off the server's loop).

Every loop opened here is closed at exit, or when its thread ends, so that no `ResourceWarning` (an
unclosed event loop, its self-pipe sockets) reaches the output of the user's process. No third-party
import: `fake_dimail.bodies` needs this on the server's import path, where httpx is not.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import weakref


def _new_loop() -> asyncio.AbstractEventLoop:
    """A loop of the fake's own. Never in asyncio's debug mode, which `-X dev` or PYTHONASYNCIODEBUG turn on for
    every new loop: meant for the user's loops, on ours it would log a WARNING about the fake's internals for
    any exchange slower than 100 ms (a loaded machine's first request), into the user's output."""
    loop = asyncio.new_event_loop()
    loop.set_debug(False)
    return loop


class LoopThread:
    """An event loop running on a daemon thread of its own, stopped and closed at exit (`close`)."""

    def __init__(self, name: str) -> None:
        self.loop = _new_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()
        _open.add(self)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


class _ThreadLoop:
    """The loop a synchronous calling thread runs the app on; closed when that thread ends (its
    thread-local goes, and this with it) or at exit, never left to the garbage collector's warning."""

    __slots__ = ("loop", "__weakref__")

    def __init__(self) -> None:
        self.loop = _new_loop()
        _open.add(self)

    def close(self) -> None:
        if not self.loop.is_closed() and not self.loop.is_running():
            self.loop.close()

    __del__ = close


# Every loop this module opened and has not closed: closed at exit, so that no `ResourceWarning`
# (an unclosed event loop, its self-pipe sockets) reaches the output of the user's process.
_open: weakref.WeakSet[LoopThread | _ThreadLoop] = weakref.WeakSet()


class LazyLoop:
    """A `LoopThread` started at its first use (and again after `close_loops`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._thread: LoopThread | None = None
        self._lock = threading.Lock()

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._thread is None or self._thread.loop.is_closed():
                self._thread = LoopThread(self.name)
            return self._thread.loop


_local = threading.local()


def thread_loop() -> asyncio.AbstractEventLoop:
    """The calling thread's own loop (made at its first call, again if closed)."""
    own = getattr(_local, "loop", None)
    if own is None or own.loop.is_closed():
        own = _local.loop = _ThreadLoop()
    return own.loop


@atexit.register
def close_loops() -> None:
    for opened in list(_open):
        opened.close()
