"""Forwards: the five operations under `/domains/{domain_name}/forwards/`, path names validated (CONTRACT.md §1.7)."""

from __future__ import annotations

from fastapi import APIRouter

from .. import models
from ..models import PathDomainName, PathUserName
from ..strict_json import DimailRoute
from ._common import BackendDep, TokenCaller, declared

router = APIRouter(tags=["forwards"], route_class=DimailRoute)
_FORWARD = "/domains/{domain_name}/forwards/{user_name}"


@router.get("/domains/{domain_name}/forwards/", operation_id="get_forwards", response_model=list[models.Forward],
            responses=declared(401, 404, 403, 410))
async def get_forwards(domain_name: PathDomainName, caller: TokenCaller, backend: BackendDep) -> list[models.Forward]:
    """Get all forwards in a domain."""
    return backend.list_forwards(caller, domain_name)


@router.get(_FORWARD, operation_id="get_forward", response_model=models.Forward, responses=declared(401, 404, 403, 410))
async def get_forward(
    user_name: PathUserName, domain_name: PathDomainName, caller: TokenCaller, backend: BackendDep
) -> models.Forward:
    return backend.get_forward(caller, domain_name, user_name)


@router.post(_FORWARD, operation_id="post_forward", status_code=201, response_model=models.Forward,
             responses=declared(401, 404, 403, 409, 410))
async def post_forward(
    user_name: PathUserName, domain_name: PathDomainName, body: models.CreateForward,
    caller: TokenCaller, backend: BackendDep,
) -> models.Forward:
    """Create a forward in Postfix: mail for `<user_name>@<domain_name>` goes to `nexthop`."""
    return backend.create_forward(caller, domain_name, user_name, body)


@router.patch(_FORWARD, operation_id="patch_forward", response_model=models.Forward,
              responses=declared(401, 404, 403, 410))
async def patch_forward(
    domain_name: PathDomainName, user_name: PathUserName, body: models.UpdateForward,
    caller: TokenCaller, backend: BackendDep,
) -> models.Forward:
    return backend.update_forward(caller, domain_name, user_name, body)


@router.delete(_FORWARD, operation_id="delete_forward", status_code=204, responses=declared(401, 404, 403, 410))
async def delete_forward(
    domain_name: PathDomainName, user_name: PathUserName, caller: TokenCaller, backend: BackendDep
) -> None:
    backend.delete_forward(caller, domain_name, user_name)
