from __future__ import annotations

from fastapi import APIRouter

from .. import models
from ..strict_json import DimailRoute
from ._common import BackendDep, BasicCaller, declared

router = APIRouter(tags=["admin allows"], route_class=DimailRoute)


@router.get("/allows/", operation_id="get_allow", response_model=list[models.Allowed], responses=declared(401, 404, 403, bare=(404,)))
async def get_allows(caller: BasicCaller, backend: BackendDep, username: str = "", domain: str = "") -> list[models.Allowed]:
    """The (user, domain) pairs, filtered by exact `username` and `domain` when given."""
    return backend.list_allows(caller, username, domain)


@router.post(
    "/allows/",
    operation_id="post_allow",
    status_code=201,
    response_model=models.Allowed,
    responses=declared(401, 404, 403, 409),
)
async def post_allow(body: models.Allowed, caller: BasicCaller, backend: BackendDep) -> models.Allowed:
    """Let a user act on a domain."""
    return backend.create_allow(caller, body)


@router.delete(
    "/allows/{domain_name}/{user_name}", operation_id="delete_allow", status_code=204, responses=declared(401, 404)
)
async def delete_allow(domain_name: str, user_name: str, caller: BasicCaller, backend: BackendDep) -> None:
    backend.delete_allow(caller, domain_name, user_name)
