"""The in-process exchange steps the app itself, and finishes on a loop only when the app waits."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from fake_dimail.transport import exchange, run_sync

SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("SEEN", default="caller's")


def _app(wait: float | None):
    async def app(scope, receive, send):
        token = SEEN.set("app's")  # set before the wait, reset after it: one context throughout
        try:
            if wait is not None:
                await asyncio.sleep(wait)
            body = f"{scope['path']} {asyncio.get_running_loop() is not None}".encode()
        finally:
            SEEN.reset(token)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})
    return app


@pytest.mark.parametrize("wait", [None, 0, 0.001])
def test_an_answer_with_or_without_waiting_is_the_same_and_leaves_no_running_loop(wait):
    answer = exchange(_app(wait), "GET", "http://dimail/x", [], b"")
    assert (answer.status, answer.body) == (200, b"/x True")
    assert SEEN.get() == "caller's"  # the app ran in a copy of the caller's context
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()  # the thread is not left with a loop marked running


def test_an_error_after_a_wait_reaches_the_caller():
    async def failing():
        await asyncio.sleep(0.001)
        raise LookupError("after the wait")

    with pytest.raises(LookupError, match="after the wait"):
        run_sync(failing())
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_an_error_before_any_wait_reaches_the_caller():
    async def failing():
        raise LookupError("at once")

    with pytest.raises(LookupError, match="at once"):
        run_sync(failing())
