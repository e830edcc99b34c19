"""Refuse JSON that the real server could take in but never answer with.

Python's parser accepts `NaN`, `Infinity`, numbers like `1e400` and lone
UTF-16 surrogates (`"\\ud800"`); dimail would then crash while encoding its
answer or store a value that breaks every later read. The fake refuses such
bodies as malformed JSON (a 422 `json_invalid`, before authentication like
any syntax error) instead of answering a 500 nobody documented.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from .errors import MOVING_DECLARED

NOT_FINITE = "Out of range float values are not JSON compliant"
SURROGATE = "Lone surrogate in string"


def _problem(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return NOT_FINITE
    if isinstance(value, str):
        return None if value.isascii() or _encodes(value) else SURROGATE
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return None
    return next((p for p in map(_problem, items) if p), None)


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _loads(body: bytes) -> Any:
    """The body's JSON value; `_problem`'s walk only when the text could hold one, which a glance tells:
    a lone surrogate comes from a `\\uD8xx`-like escape or raw surrogate bytes, a non-finite float
    calls the hooks below. A 10 MB body is then parsed in C alone, not walked item by item."""
    document = body.decode("utf-8", errors="surrogatepass")
    odd: list[bool] = []

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            odd.append(True)
        return value

    def constant(name: str) -> float:  # NaN, Infinity, -Infinity
        odd.append(True)
        return float(name)

    value = json.loads(document, parse_float=number, parse_constant=constant)
    if odd or b"\\ud" in body or b"\\uD" in body or b"\xed" in body:
        problem = _problem(value)
        if problem:
            raise json.JSONDecodeError(problem, document, 0)
    return value


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = _loads(await self.body())
        return self._json


class DimailRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        declares_moving = 410 in self.responses

        async def strict(request: Request) -> Response:
            moving = MOVING_DECLARED.set(declares_moving)
            try:
                return await handler(StrictJSONRequest(request.scope, request.receive))
            finally:
                MOVING_DECLARED.reset(moving)

        return strict
