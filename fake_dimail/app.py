"""Assemble one fake dimail: its routes, its error formats, its middlewares."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import __version__, errors, openapi_document
from .backend import Backend
from .bodies import BodyGuard
from .config import Settings
from .errors import ApiError, ServerCrash
from .faults import CONNECTION_FAULTS, FAULT_KEY, OPERATION_KEY, FaultInjection, Faults
from .guard import ControlGuard, is_control
from .journal import Journal
from .routes import ROUTERS
from .shutdown import RefuseWhenStopped, Shutdown

log = logging.getLogger("fake_dimail.requests")

DESCRIPTION = (
    "A fake of dimail, the mail provisioning API of La Suite numérique, answering as "
    "dimail v0.8.2 does (fake-dimail %s)." % __version__
)


FAKE_TAG = (
    "The fake's own control plane, not part of dimail: the simulated DNS zones and "
    "dimail's side of each domain (certificate, Postfix, OX, webmail), to steer the checks."
)


JOURNAL_PATH = "/_fake/requests"


def target(scope: Scope) -> str:
    """The request's path and query string, as the journal and the crash logs name it."""
    query = scope["query_string"]
    return scope["path"] + ("?" + query.decode("latin-1") if query else "")


def _header(headers: Any, name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class RequestJournal:
    """One line per request: logged, and kept (the newest, within the journal's budget) for tests and tools."""

    def __init__(self, app: ASGIApp, journal: Journal, settings: Settings) -> None:
        self.app = app
        self.journal = journal
        self.level = settings.request_log_level
        self.redirect_base = urlsplit(settings.redirect_base) if settings.redirect_base else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Reading the journal is not journaled: an open dashboard polls it every second, and would
        # fill the journal (and the server's log) with its own reads.
        if scope["type"] != "http" or (scope["path"] == JOURNAL_PATH and scope["method"] == "GET"):
            await self.app(scope, receive, send)
            return
        started, arrived = time.perf_counter(), time.time()
        status, answer_type = 500, None
        sent: list[bytes] = []
        answered: list[bytes] = []

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                sent.append(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            nonlocal status, answer_type
            if message["type"] == "http.response.start":
                status = message["status"]
                answer_type = _header(message.get("headers", ()), b"content-type")
                if status == 307 and self.redirect_base is not None:
                    message["headers"] = [self._moved(k, v) for k, v in message["headers"]]
            elif message["type"] == "http.response.body":
                answered.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        finally:
            path = target(scope)
            fault = scope.get(FAULT_KEY)
            route = scope.get("route")
            exchange = self.journal.add(
                scope["method"], path, scope.get("dimail.user"), None if fault in CONNECTION_FAULTS else status,
                (time.perf_counter() - started) * 1000, fault, time=arrived,
                query=scope["query_string"].decode("latin-1"), auth=scope.get("dimail.auth"),
                operation=getattr(route, "path", None) or scope.get(OPERATION_KEY), request_body=b"".join(sent),
                request_type=_header(scope["headers"], b"content-type"),
                response_body=b"".join(answered) if fault not in CONNECTION_FAULTS else b"",
                response_type=answer_type,
            )
            if log.isEnabledFor(self.level):
                log.log(self.level, "%s", exchange.line())

    def _moved(self, name: bytes, value: bytes) -> tuple[bytes, bytes]:
        if name.lower() != b"location" or self.redirect_base is None:
            return name, value
        parts = urlsplit(value.decode("latin-1"))
        base = self.redirect_base
        return name, urlunsplit((base.scheme, base.netloc, parts.path, parts.query, "")).encode("latin-1")


class DimailCORS(CORSMiddleware):
    """CORS as the Starlette of dimail's time answered simple requests.

    `*` unless the request carries cookies (then the origin is echoed), and no
    `Vary` header on requests without an Origin; newer Starlette always echoes.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # guess G-control-cors: the control plane grants no origin anything (guard.py): dimail's CORS stops
        # at its own routes. A request without an Origin (every one but a browser's) gets nothing from CORS
        # (`send` below adds nothing then; no preflight without an Origin): it goes straight through.
        if scope["type"] == "http" and (is_control(scope["path"]) or _header(scope["headers"], b"origin") is None):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("Origin")
        if message["type"] == "http.response.start" and origin is not None:
            message.setdefault("headers", [])
            headers = MutableHeaders(scope=message)
            headers.update(self.simple_headers)
            if "cookie" in request_headers:
                self.allow_explicit_origin(headers, origin)
        await send(message)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)


async def _server_crash(request: Request, exc: Exception) -> PlainTextResponse:
    # Kept as dimail keeps a crash log file, for `GET /logs/crashes`; unless `--state` cannot be written (said
    # in the log), as a crash whose log file is on a full disk goes unrecorded.
    try:
        request.app.state.backend.record_crash(request.method, target(request.scope),
                                               request.scope.get("dimail.user"), str(exc))
    except ApiError:
        pass
    # What uvicorn sends for an unhandled exception, keep-alive dropped included.
    return PlainTextResponse(errors.INTERNAL_SERVER_ERROR, status_code=500, headers={"connection": "close"})


def create_app(backend: Backend | None = None, settings: Settings | None = None, journal_size: int = 10_000) -> FastAPI:
    """A new fake dimail. Two apps never share state unless given the same backend."""
    settings = settings or Settings()
    app = FastAPI(
        title="Dimail API",
        description=DESCRIPTION,
        version="v0.8.2",
        # The real server parses a body sent without Content-Type as JSON.
        strict_content_type=False,
        openapi_tags=[{"name": "fake", "description": FAKE_TAG}],
        # Served offline by routes/docs.py instead of FastAPI's CDN-loading pages.
        docs_url=None,
        redoc_url=None,
    )
    app.state.backend = backend or Backend(dns_auto=settings.dns_auto, certs_on_check=settings.certs_on_check)
    app.state.settings = settings
    app.state.journal = Journal(entries=journal_size)
    # What `POST /_fake/reset` seeds again by default; FakeDimail records its own.
    app.state.seed, app.state.seed_name = (), "empty"
    app.state.faults = Faults(lambda: operations(app))
    for router in ROUTERS:
        # The routes themselves, not the router: FastAPI matches an included router by
        # walking its candidates at every request, a fifth of what a request costs.
        app.router.routes.extend(router.routes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ServerCrash, _server_crash)
    app.add_middleware(BodyGuard, settings=settings)  # innermost: it may serve the request on another loop
    app.add_middleware(
        DimailCORS,
        allow_origins=["*"],
        allow_credentials=True,
        # Spelled out: newer Starlette's "*" also lists QUERY, which dimail does not.
        allow_methods=["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
        allow_headers=["*"],
    )
    app.add_middleware(ControlGuard, settings=settings)
    app.add_middleware(FaultInjection, faults=app.state.faults)
    app.add_middleware(RequestJournal, journal=app.state.journal, settings=settings)
    app.state.shutdown = Shutdown()
    app.add_middleware(RefuseWhenStopped, shutdown=app.state.shutdown, faults=app.state.faults)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The app's document: the packaged one (fake_dimail/openapi_document.py says why) while the app has the
    routes every app starts with; built from its routes if they were changed since (a test's variant)."""
    if app.openapi_schema is None:
        routes = [route for route in app.router.routes if isinstance(route, APIRoute)]
        stock = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
        app.openapi_schema = openapi_document.document() if routes == stock else FastAPI.openapi(app)
    return app.openapi_schema


def operations(app: FastAPI) -> list[tuple[str, set[str]]]:
    """Every operation of the app's OpenAPI document: (path template, methods), from its routes; reads only what
    a route has before it is built (strict_json.LazyRoute), so listing them for a fault builds none."""
    return [(route.path, route.methods) for route in app.routes
            if isinstance(route, APIRoute) and route.include_in_schema]


def journal_of(app: Any) -> Journal:
    return app.state.journal


def faults_of(app: Any) -> Faults:
    return app.state.faults
