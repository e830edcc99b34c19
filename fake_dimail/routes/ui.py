"""The dashboard at `/_fake/ui`: one page that shows and steers the fake through `/_fake/` alone.

Plain HTML, CSS and JavaScript shipped in the package (`fake_dimail/ui/`):
no CDN, no build step, so it works offline and from a wheel. The page reads
`GET /_fake/state`, polls `GET /_fake/requests?since=`, and steers with the
same `/_fake/` calls a test would make; it never calls dimail's own routes.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response

from .. import models
from ..seeding import ADMIN
from ..strict_json import DimailRoute
from ._common import BackendDep

ASSETS = files("fake_dimail") / "ui"
MEDIA_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}

router = APIRouter(prefix="/_fake", tags=["fake"], route_class=DimailRoute)


@cache
def _read(name: str) -> bytes:
    return (ASSETS / name).read_bytes()


@router.get("/ui", include_in_schema=False)
def dashboard() -> HTMLResponse:
    # Without the control token the guard answers the login form instead (guard.py).
    # Not cached: a new release of the page must not need a forced reload.
    return HTMLResponse(_read("index.html"), headers={"cache-control": "no-cache"})


@router.get("/ui/{name}", include_in_schema=False)
def dashboard_asset(name: str) -> Response:
    if name not in MEDIA_TYPES:
        raise HTTPException(404)
    return Response(_read(name), media_type=MEDIA_TYPES[name], headers={"cache-control": "no-cache"})


@router.get("/domains/{domain_name}/mailboxes", operation_id="fake_list_mailboxes",
            summary="List a domain's mailboxes as an admin's v1 listing shows them",
            responses={404: {"description": "Not found", "model": models.NotFound}})
async def list_mailboxes(domain_name: str, backend: BackendDep) -> list[models.Mailbox]:
    """`GET /domains/{d}/mailboxes/` as an admin: v1 `status` and `active`, for the dashboard."""
    return backend.list_mailboxes(ADMIN, domain_name)
