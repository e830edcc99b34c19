from __future__ import annotations

from fastapi import APIRouter

from .. import models
from ..strict_json import DimailRoute
from ._common import BackendDep, TokenCaller, declared

router = APIRouter(tags=["my_stuff"], route_class=DimailRoute)
_DECLARED = declared(401, 404, 403, bare=(404,))


@router.get("/my/domains", operation_id="get_my_domains", response_model=list[str], responses=_DECLARED,
            response_description="Returns the list of domains that this API user can see")
async def get_my_domains(caller: TokenCaller, backend: BackendDep) -> list[str]:
    """The names of the domains the token's user is allowed on (every domain for an admin)."""
    return backend.my_domains(caller)


@router.get("/my/mailboxes", operation_id="get_my_mailboxes", response_model=list[str], responses=_DECLARED,
            response_description="Returns the list of mailboxes that this API user can see")
async def get_my_mailboxes(caller: TokenCaller, backend: BackendDep) -> list[str]:
    """The addresses of the mailboxes of those domains."""
    return backend.my_mailboxes(caller)


@router.get("/my/aliases", operation_id="get_my_aliases", response_model=list[str], responses=_DECLARED,
            response_description="List of all the aliases this API user is allowed to see")
async def get_my_aliases(caller: TokenCaller, backend: BackendDep) -> list[str]:
    """The addresses of the aliases of those domains, each once."""
    return backend.my_aliases(caller)


@router.get("/my/resources", operation_id="get_my_resources", response_model=models.VisibleResources,
            responses=_DECLARED, response_description="Returns the list of all the resources (aliases, "
                                                      "mailboxes, domains) that this API user can see")
async def get_my_resources(caller: TokenCaller, backend: BackendDep) -> models.VisibleResources:
    """The three lists above in one answer."""
    return backend.my_resources(caller)
