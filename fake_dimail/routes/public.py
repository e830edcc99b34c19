from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .. import models
from ..strict_json import DimailRoute
from ._common import BackendDep, declared

router = APIRouter(tags=["public"], route_class=DimailRoute)
webhook_router = APIRouter(tags=["webhook"], route_class=DimailRoute)


@router.get(
    "/public/domains/{domain_name}",
    operation_id="unauth_get_domain",
    summary="Checks if a domain is managed by our platform",
    responses={
        **declared(401),
        200: {"description": "This domain is managed here"},
        404: {"description": "This domain is not managed here", "model": models.NotFound},
    },
)
async def unauth_get_domain(domain_name: str, backend: BackendDep) -> Any:
    """Is domain managed here ? (no authentication)"""
    return backend.public_domain(domain_name)


@webhook_router.post("/webhook/changepassword", operation_id="change_password", response_model=str,
                     responses=declared(401, 404, 403, bare=(404,)), response_description="OK when mailbox updated")
async def change_password(request: Request, backend: BackendDep) -> str:
    """Updates the password of a mailbox in dovecot (no authentication, no declared body)."""
    try:
        # The strict parser (DimailRoute's request) refuses what could not be stored: NaN, lone surrogates.
        change: models.PasswordChange | None = models.PasswordChange.model_validate(await request.json())
    except (ValueError, RecursionError):  # JSON errors and pydantic's ValidationError are ValueErrors
        change = None
    return backend.change_password(change)
