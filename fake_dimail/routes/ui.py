"""The dashboard at `/_fake/ui`: one page that shows and steers the fake through `/_fake/` alone.

Plain HTML, CSS and JavaScript shipped in the package (`fake_dimail/ui/`):
no CDN, no build step, so it works offline and from a wheel. The page reads
`GET /_fake/state`, polls `GET /_fake/requests?since=`, and steers with the
same `/_fake/` calls a test would make; it never calls dimail's own routes.
"""

from __future__ import annotations

import hmac
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from .. import models
from ..backend import BOOTSTRAP_USER
from ..records import Caller
from ..strict_json import DimailRoute
from ._common import BackendDep

ASSETS = files("fake_dimail") / "ui"
MEDIA_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
CONTROL_COOKIE = "fake_dimail_control"
# Who the dashboard reads mailboxes as: an admin sees every domain's, as /_fake/ check and fix act.
_ADMIN = Caller(BOOTSTRAP_USER, is_admin=True)

router = APIRouter(prefix="/_fake", tags=["fake"], route_class=DimailRoute)


@cache
def _read(name: str) -> bytes:
    return (ASSETS / name).read_bytes()


def _logged_in(request: Request) -> bool:
    token = getattr(request.app.state.settings, "control_token", None)
    if not token:
        return True
    given = request.cookies.get(CONTROL_COOKIE, "")
    return hmac.compare_digest(given.encode(), token.encode())


@router.get("/ui", include_in_schema=False)
def dashboard(request: Request) -> HTMLResponse:
    # Not cached: a new release of the page must not need a forced reload.
    page = "index.html" if _logged_in(request) else "login.html"
    return HTMLResponse(_read(page), headers={"cache-control": "no-cache"})


@router.get("/ui/{name}", include_in_schema=False)
def asset(name: str) -> Response:
    if name not in MEDIA_TYPES:
        raise HTTPException(404)
    return Response(_read(name), media_type=MEDIA_TYPES[name], headers={"cache-control": "no-cache"})


@router.get("/domains/{domain_name}/mailboxes", operation_id="fake_list_mailboxes",
            summary="List a domain's mailboxes as an admin's v1 listing shows them",
            responses={404: {"description": "Not found", "model": models.NotFound}})
async def list_mailboxes(domain_name: str, backend: BackendDep) -> list[models.Mailbox]:
    """`GET /domains/{d}/mailboxes/` as an admin: v1 `status` and `active`, for the dashboard."""
    return backend.list_mailboxes(_ADMIN, domain_name)
