"""The control plane's state operations: index, reset, the whole state, the journal, check and fix, login.

The zones, platforms and faults are steered in `control.py`; who may call
any of these is decided before the routes (`guard.py`).
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import RedirectResponse

from .. import __version__, errors, models
from ..backend.base import settled
from ..backend.state import STORES
from ..guard import COOKIE, LOGIN_PATH, PREFIX, UI_PATH, login_page
from ..journal import Journal
from ..seeding import ADMIN, Seeder
from ..seeds import SEEDS
from ..strict_json import DimailRoute
from ._common import BackendDep

router = APIRouter(prefix=PREFIX, tags=["fake"], route_class=DimailRoute)

_NOT_FOUND = {404: {"description": "Not found", "model": models.NotFound}}
_SECRETS = ("jwt_secret", "control_token")


def index_of(app: Any) -> models.FakeIndex:
    """`GET /_fake/`'s body for an app (`FakeDimail.index()` too)."""
    backend = app.state.backend
    settings = {k: v for k, v in dataclasses.asdict(app.state.settings).items() if k not in _SECRETS}
    settings["request_log_level"] = logging.getLevelName(settings["request_log_level"])
    settings["control_token"] = app.state.settings.control_token is not None
    settings["seed"] = app.state.seed_name
    with backend.state.lock:
        counts = {name: len(getattr(backend.state, name)) for name in STORES}
        counts["zones"] = len(backend.dns.zones())
    links = {route.name: route.path for route in _control_routes()}
    return models.FakeIndex(fake="fake-dimail", version=__version__, imitates="v0.8.2", settings=settings,
                            counts=counts, links=links, dashboard=UI_PATH)


def _control_routes() -> list[Any]:
    from . import ROUTERS  # the package imports this module

    return [route for r in ROUTERS for route in r.routes
            if getattr(route, "path", "").startswith(PREFIX + "/") and route.path != LOGIN_PATH]


@router.get("/", operation_id="fake_index", summary="What this fake is, what it holds, where to steer it")
async def index(request: Request) -> models.FakeIndex:
    return index_of(request.app)


@router.post("/reset", operation_id="fake_reset", summary="Empty the fake and seed it again")
async def reset(request: Request, seed: models.SeedName | None = None) -> models.FakeIndex:
    """Every store emptied, the faults removed, then the API users of `seed` created (default: the seed the
    server started with). The journal is kept: `DELETE /_fake/requests` empties it."""
    state = request.app.state
    users = state.seed if seed is None else SEEDS[seed.value]
    with settled(state.backend.state):  # no request sees it emptied but not seeded; one transaction with --state
        state.backend.reset()
        state.faults.clear()
        Seeder(state.backend).seed(users)
        return index_of(request.app)


@router.get("/state", operation_id="fake_get_state", summary="Everything the fake holds, as one document")
async def get_state(backend: BackendDep) -> dict[str, Any]:
    """Users (with their password hashes), allows, domains (checks, platform), OX contexts, mailboxes, aliases,
    login codes, DNS zones: what `PUT /_fake/state` takes back."""
    return backend.snapshot()


@router.put("/state", operation_id="fake_put_state", summary="Replace everything the fake holds",
            responses={422: {"description": "Inconsistent document: the first problem, the state unchanged"}})
async def put_state(document: Annotated[dict[str, Any], Body()], backend: BackendDep) -> dict[str, Any]:
    try:
        backend.load(document)
    except ValueError as exc:
        raise errors.unprocessable(str(exc)) from None
    return backend.snapshot()


def _journal(request: Request) -> Journal:
    return request.app.state.journal


@router.get("/requests", operation_id="fake_list_requests", summary="What the fake was asked, oldest first",
            response_model_exclude_unset=True)
async def list_requests(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=10_000, description="at most this many: the newest, or with `since` "
                                                              "the first ones after it")] = 1000,
    since: Annotated[int | None, Query(description="only entries whose id is greater")] = None,
    path: Annotated[str | None, Query(description="only paths starting with this")] = None,
    bodies: Annotated[bool, Query(description="also what was sent and answered: `query`, `auth`, `operation`, "
                                              "`request` and `response` bodies (secrets redacted)")] = False,
) -> list[models.JournalEntry]:
    """The journal keeps the newest 10,000 requests within 4 MB of path and user text and 16 MB of bodies."""
    rows = _journal(request).select(limit, since, path)
    return [models.JournalEntry.model_validate(row.entry(bodies)) for row in rows]


@router.delete("/requests", operation_id="fake_clear_requests", summary="Empty the journal", status_code=204)
async def clear_requests(request: Request) -> Response:
    _journal(request).clear()
    return Response(status_code=204)


@router.post("/domains/{domain_name}/check", operation_id="fake_check_domain",
             summary="Run a domain's check as an admin", responses=_NOT_FOUND)
async def check_domain(domain_name: str, backend: BackendDep) -> models.Domain:
    """What an admin's `GET /domains/{domain_name}/check` answers, for the dashboard."""
    return backend.check_domain(ADMIN, domain_name)


@router.post("/domains/{domain_name}/fix", operation_id="fake_fix_domain",
             summary="Run a domain's fix as an admin", responses=_NOT_FOUND)
async def fix_domain(domain_name: str, backend: BackendDep) -> models.Domain:
    """What an admin's `GET /domains/{domain_name}/fix` answers, for the dashboard."""
    return backend.fix_domain(ADMIN, domain_name)


@router.post("/login", operation_id="fake_login", summary="Log the dashboard in with the control token",
             status_code=303, response_class=RedirectResponse,
             responses={401: {"description": "Wrong token: the login form again"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                 "schema": {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}},
             }}}})
async def login(request: Request) -> Response:
    """Sets the cookie `/_fake/` accepts instead of `Authorization: Bearer`, then back to the dashboard."""
    given = parse_qs((await request.body()).decode("utf-8", "replace")).get("token", [""])[0]
    token = request.app.state.settings.control_token
    if token is not None and not secrets.compare_digest(given.encode(), token.encode()):
        return login_page(errors.WRONG_CONTROL_TOKEN)
    response = RedirectResponse(UI_PATH, status_code=303)
    if token is not None:
        response.set_cookie(COOKIE, token, path=PREFIX, httponly=True, samesite="strict")
    return response
