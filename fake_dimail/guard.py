"""Who may steer the fake: `/_fake/` refuses foreign origins and, given a control token, strangers.

A browser lets any page send a simple POST (form or `fetch` without custom
headers) to any address, the developer's own `127.0.0.1:8001` included; the
page cannot read the answer, but the write is done. So a write to `/_fake/`
that names another origin (`Origin`, else `Referer`) is refused before it
reaches a route, preflights there are refused, and no CORS header is ever
granted on `/_fake/` (app.py `DimailCORS` stops at dimail's routes, whose
CORS answers stay dimail's). Clients that send neither header (scripts,
tests, People's code) are not browsers acting for a page, and pass.

DNS rebinding defeats the origin check: a page of `evil.example`, whose name
then resolves to 127.0.0.1, is same-origin with the fake it reaches there.
But its requests still name `evil.example` in `Host`. So a server without a
control token serves `/_fake/` (the dashboard and every read and write) only
to requests whose `Host` is `localhost`, a loopback address, the `--host` it
listens on, or an `--allowed-host`; the others get 403. With a token, the
token decides (a rebinding page does not have it, nor the login cookie, which
the browser keeps for the real name). In-process there is no socket to
rebind: `Settings.allowed_hosts` is None there and no `Host` is checked.
"""

from __future__ import annotations

import html
import ipaddress
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import errors
from .config import Settings

PREFIX = "/_fake"
COOKIE = "fake_dimail_control"
LOGIN_PATH = PREFIX + "/login"
UI_PATH = PREFIX + "/ui"
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def is_control(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _origin(scheme: str, netloc: str) -> str:
    """scheme://host[:port], lower-cased, default port dropped: how browsers spell an Origin."""
    scheme, netloc = scheme.lower(), netloc.lower()
    host, _, port = netloc.rpartition(":")  # "[::1]:80" -> "[::1]", "80"; "[::1]" -> "[:", "1]"
    if host and port == _DEFAULT_PORTS.get(scheme):
        netloc = host
    return f"{scheme}://{netloc}"


def _host_name(host: str) -> str:
    """A Host header's (or --host's) name, lower-cased, without its port or an IPv6 address's brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host


def authorized(headers: Headers, token: str | None) -> bool:
    """The request carries the control token (always true when the server has none)."""
    if token is None:
        return True
    scheme, _, given = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode()):
        return True
    # Starlette's parser: the login's `set_cookie` quotes a token with spaces or commas.
    given = cookie_parser(headers.get("cookie", "")).get(COOKIE)
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


def login_page(message: str = "", status_code: int = 401) -> HTMLResponse:
    """The dashboard's login form: a same-origin POST of the token to /_fake/login, which sets the cookie."""
    note = f'<p role="alert">{html.escape(message)}</p>' if message else ""
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fake-dimail: log in</title></head>'
        '<body><h1>fake-dimail control plane</h1>'
        "<p>This server was started with <code>--control-token</code>: give that token to steer it.</p>"
        f'{note}<form method="post" action="{LOGIN_PATH}"><label>Control token '
        '<input type="password" name="token" autocomplete="current-password" autofocus required></label> '
        '<button type="submit">Log in</button></form></body></html>',
        status_code=status_code,
        headers={"www-authenticate": 'Bearer realm="fake-dimail control plane"'} if status_code == 401 else None,
    )


class ControlGuard:
    """Middleware: cross-origin writes and preflights on `/_fake/` refused; the control token enforced."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.token = settings.control_token
        base = urlsplit(settings.redirect_base) if settings.redirect_base else None
        # Behind the proxy --redirect-base emulates, the dashboard's origin is the proxy's.
        self.proxy_origin = _origin(base.scheme, base.netloc) if base else None
        # guess G-control-host: without a token, the host names `/_fake/` answers for (besides localhost and
        # loopback addresses).
        # The --redirect-base proxy's name is the user's own too.
        hosts = settings.allowed_hosts
        self.hosts = None if hosts is None or self.token is not None else \
            {_host_name(h) for h in (*hosts, *([base.netloc] if base else []))}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_control(scope["path"]):
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        method = scope["method"]
        if self.hosts is not None and (host := headers.get("host")) is not None and not self._ours(host):
            return JSONResponse({"detail": errors.foreign_host(host)}, status_code=403)
        if method == "OPTIONS" and "origin" in headers:
            return JSONResponse({"detail": errors.CROSS_ORIGIN_PREFLIGHT}, status_code=403)
        if method not in ("GET", "HEAD") and self._foreign(scope, headers):
            return JSONResponse({"detail": errors.CROSS_ORIGIN_WRITE}, status_code=403)
        if authorized(headers, self.token) or (method == "POST" and scope["path"] == LOGIN_PATH):
            return None
        if method == "GET" and scope["path"] == UI_PATH:
            return login_page()
        return JSONResponse({"detail": errors.CONTROL_TOKEN_REQUIRED}, status_code=401,
                            headers={"www-authenticate": "Bearer"})

    def _ours(self, host: str) -> bool:
        name = _host_name(host)
        if name == "localhost" or name.endswith(".localhost") or name in self.hosts:  # type: ignore[operator]
            return True
        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False

    def _foreign(self, scope: Scope, headers: Headers) -> bool:
        claimed = headers.get("origin")
        if claimed is None:
            referer = headers.get("referer")
            if referer is None:
                return False
            parts = urlsplit(referer)
            claimed = _origin(parts.scheme, parts.netloc)
        elif claimed != "null":
            parts = urlsplit(claimed)
            claimed = _origin(parts.scheme, parts.netloc)
        own = _origin(scope.get("scheme", "http"), headers.get("host", ""))
        return claimed not in (own, self.proxy_origin)
