from __future__ import annotations

from fastapi import APIRouter, Request

from .. import models
from ..strict_json import DimailRoute
from ..security import encode_token, get_settings
from ._common import BackendDep, BasicCaller, declared

router = APIRouter(tags=["token"], route_class=DimailRoute)


@router.get(
    "/token/",
    operation_id="get_token",
    summary="Get a token for a user",
    response_model=models.Token,
    responses=declared(401, 404, 403, bare=(404,)),
)
async def get_token(
    request: Request, caller: BasicCaller, backend: BackendDep, username: str | None = None
) -> models.Token:
    """A token for yourself, or for `username` when you are an admin or its manager."""
    subject = backend.token_subject(caller, username)
    return models.Token(access_token=encode_token(get_settings(request), subject, backend.clock()), token_type="bearer")
