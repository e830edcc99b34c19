from __future__ import annotations

from fastapi import APIRouter

from .. import models
from ..strict_json import DimailRoute
from ._common import BackendDep, BasicCaller, declared

router = APIRouter(tags=["admin users"], route_class=DimailRoute)


@router.get("/users/", operation_id="get_users", response_model=list[models.User], responses=declared(401, 404, 403, bare=(404,)))
async def get_users(caller: BasicCaller, backend: BackendDep) -> list[models.User]:
    """Every user for an admin; yourself and the users you manage otherwise."""
    return backend.list_users(caller)


@router.post(
    "/users/",
    operation_id="post_user",
    status_code=201,
    response_model=models.User,
    responses=declared(401, 404, 403, 409, bare=(404,)),
)
async def post_user(body: models.CreateUser, caller: BasicCaller, backend: BackendDep) -> models.User:
    """Create an API user; the password `no` makes a user that cannot log in."""
    return backend.create_user(caller, body)


@router.get(
    "/users/identity/{proconnect}",
    operation_id="get_user_by_proconnect_identity",
    response_model=models.User,
    responses=declared(401, 404, 403),
)
async def get_user_by_identity(proconnect: str, caller: BasicCaller, backend: BackendDep) -> models.User:
    return backend.get_user_by_identity(caller, proconnect)


@router.get("/users/{user_name}", operation_id="get_user", response_model=models.User, responses=declared(401, 404, 403))
async def get_user(user_name: str, caller: BasicCaller, backend: BackendDep) -> models.User:
    return backend.get_user(caller, user_name)


@router.patch("/users/{user}", operation_id="patch_user", response_model=models.User, responses=declared(401, 404, 403))
async def patch_user(user: str, body: models.UpdateUser, caller: BasicCaller, backend: BackendDep) -> models.User:
    """List fields: `+x`/`-x` items add and remove, plain items replace the list."""
    return backend.update_user(caller, user, body)


@router.delete("/users/{user_name}", operation_id="delete_user", status_code=204, responses=declared(401, 404, 403))
async def delete_user(user_name: str, caller: BasicCaller, backend: BackendDep) -> None:
    """Delete a user and its allows."""
    backend.delete_user(caller, user_name)
