from __future__ import annotations

from fastapi import APIRouter

from .. import models
from ..strict_json import DimailRoute
from ._common import BackendDep, TokenCaller, declared

router = APIRouter(tags=["aliases"], route_class=DimailRoute)
_ALIAS = "/domains/{domain_name}/aliases/{user_name}/{destination}"


@router.get("/domains/{domain_name}/aliases/", operation_id="get_alias", response_model=list[models.Alias],
            responses=declared(401, 404, 403, 410))
async def get_aliases(
    domain_name: str, caller: TokenCaller, backend: BackendDep, user_name: str = "", destination: str = ""
) -> list[models.Alias]:
    """All aliases, those of `user_name`, or one pair; `destination` alone is refused (412)."""
    return backend.list_aliases(caller, domain_name, user_name, destination)


# guess G-alias-201: v0.8.2 declares 201, People requires it (2024 answered 200).
@router.post("/domains/{domain_name}/aliases/", status_code=201, response_model=models.Alias,
             responses=declared(401, 404, 403, 410))
async def post_alias(domain_name: str, body: models.CreateAlias, caller: TokenCaller, backend: BackendDep) -> models.Alias:
    """Add one destination to `<user_name>@<domain_name>`."""
    return backend.create_alias(caller, domain_name, body)


@router.patch(_ALIAS, operation_id="patch_alias", response_model=models.Alias, responses=declared(401, 404, 403, 410))
async def patch_alias(
    domain_name: str, user_name: str, destination: str, body: models.UpdateAlias,
    caller: TokenCaller, backend: BackendDep,
) -> models.Alias:
    return backend.update_alias(caller, domain_name, user_name, destination, body)


@router.delete(_ALIAS, operation_id="delete_alias", status_code=204, responses=declared(401, 404, 403, 410))
async def delete_alias(
    domain_name: str, user_name: str, destination: str, caller: TokenCaller, backend: BackendDep
) -> None:
    """Remove one destination, or every destination with `all`."""
    backend.delete_alias(caller, domain_name, user_name, destination)
