"""Public aliases: `/aliases…`, no trailing slash (`/aliases/` answers 307)."""

from __future__ import annotations

from fastapi import APIRouter

from .. import models
from ..strict_json import DimailRoute
from ._common import BackendDep, TokenCaller, declared

router = APIRouter(tags=["public aliases"], route_class=DimailRoute)
_PUBLIC_ALIAS = "/aliases/{user_name}@{domain_name}/{destination}"


@router.get("/aliases", operation_id="get_public_aliases", response_model=list[models.PubAlias],
            responses=declared(401, 404, 403, bare=(404,)))
async def get_aliases(destination: str, caller: TokenCaller, backend: BackendDep) -> list[models.PubAlias]:
    """Gets all the public aliases that a mailbox receives."""
    return backend.list_public_aliases(caller, destination)


@router.post("/aliases", operation_id="post_public_alias", status_code=201, response_model=models.PubAlias,
             responses=declared(401, 404, 403, 410, bare=(404,)))
async def post_alias(body: models.CreatePubAlias, caller: TokenCaller, backend: BackendDep) -> models.PubAlias:
    """Creates a random public alias on `domain` for the mailbox `destination`."""
    return backend.create_public_alias(caller, body)


@router.get("/aliases/domains", operation_id="get_public_alias_domains", response_model=list[str],
            responses=declared(401, 404, 403, bare=(404,)))
async def get_domains(destination: str, caller: TokenCaller, backend: BackendDep) -> list[str]:
    """Gets available domains to create a public alias for a given destination."""
    return backend.public_alias_domains(caller, destination)


@router.patch(_PUBLIC_ALIAS, operation_id="patch_public_alias", response_model=models.PubAlias,
              responses=declared(401, 404, 403, 410))
async def patch_alias(
    user_name: str, domain_name: str, destination: str, body: models.UpdatePubAlias,
    caller: TokenCaller, backend: BackendDep,
) -> models.PubAlias:
    """Change the description of a public alias."""
    return backend.update_public_alias(caller, domain_name, user_name, destination, body)


@router.delete(_PUBLIC_ALIAS, operation_id="delete_public_alias", status_code=204,
               responses=declared(401, 404, 403, 410))
async def delete_alias(
    user_name: str, domain_name: str, destination: str, caller: TokenCaller, backend: BackendDep
) -> None:
    backend.delete_public_alias(caller, domain_name, user_name, destination)
