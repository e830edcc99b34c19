"""The route classes: dimail's (`DimailRoute`), and routes built when first used (`LazyRoute`).

dimail's routes refuse JSON that the real server could take in but never answer with.
Python's parser accepts `NaN`, `Infinity`, numbers like `1e400` and lone
UTF-16 surrogates (`"\\ud800"`); dimail would then crash while encoding its
answer or store a value that breaks every later read. The fake refuses such
bodies as malformed JSON (a 422 `json_invalid`, before authentication like
any syntax error) instead of answering a 500 nobody documented.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.routing import compile_path, get_name

from . import models
from .errors import MOVING_DECLARED
from .models import Listing

NOT_FINITE = "Out of range float values are not JSON compliant"
SURROGATE = "Lone surrogate in string"
_BUILDING = threading.RLock()
_stop_deferring = functools.cache(models.stop_deferring)  # once, before the first route is built


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


class LazyRoute(APIRoute):
    """An APIRoute built when first used.

    FastAPI analyses an operation's parameters and prepares its validators and serialisers when the route
    is made, most of what importing the app cost. Here a route is made with what routing reads (path,
    name, methods, the path's pattern) and FastAPI's own construction runs at the first read of anything
    else: when a request reaches the route, or when the OpenAPI document is made.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # What starlette's matching and url_path_for read, as APIRoute would set it; and whether the route is
        # one of the document's operations, what listing them for a fault reads (app.py `operations`).
        self.path, self.endpoint = path, endpoint
        self.name = get_name(endpoint) if kwargs.get("name") is None else kwargs["name"]
        self.methods = {method.upper() for method in kwargs.get("methods") or ["GET"]}
        self.include_in_schema = kwargs.get("include_in_schema", True)
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self._arguments: tuple[str, Callable[..., Any], dict[str, Any]] | None = (path, endpoint, kwargs)

    def __getattr__(self, name: str) -> Any:
        # Only for an attribute not set yet: build the route once, then read it as APIRoute set it.
        arguments = self.__dict__.get("_arguments")
        if arguments is None or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        with _BUILDING:
            # Another thread may have built it meanwhile; this one, building, reads what is not set yet.
            if self._arguments is not None and not self.__dict__.get("_building"):
                self._building = True
                try:
                    path, endpoint, kwargs = arguments
                    _stop_deferring()
                    super().__init__(path, endpoint, **kwargs)
                    self._arguments = None
                finally:
                    self._building = False
        return object.__getattribute__(self, name)


class DimailRoute(LazyRoute):
    """dimail's routes: strict JSON bodies, 410 where declared, listings sent as the backend built them.

    An endpoint returning a `models.Listing` answers its rows as JSON bytes, with the route's status:
    the same bytes and headers FastAPI would send for the list of models, without building and
    validating one model per item (most of what a listing of 10,000 cost).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if inspect.iscoroutinefunction(endpoint):
            endpoint = _sending_listings(endpoint, self)
        super().__init__(path, endpoint, **kwargs)

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


def _sending_listings(endpoint: Callable[..., Coroutine[Any, Any, Any]], route: APIRoute) -> Callable[..., Any]:
    @functools.wraps(endpoint)  # FastAPI reads the parameters and the docstring through __wrapped__
    async def sending(*args: Any, **kwargs: Any) -> Any:
        answer = await endpoint(*args, **kwargs)
        if isinstance(answer, Listing):
            if models.CHECK_ROWS:
                declared = route.response_model
                assert declared == list[answer.model], f"{endpoint.__name__} declares {declared}"
            return Response(answer.json(), status_code=route.status_code or 200, media_type="application/json")
        return answer

    return sending
