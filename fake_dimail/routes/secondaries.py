"""Secondary accounts: which mailboxes a mailbox may open, and which may open it."""

from __future__ import annotations

from fastapi import APIRouter

from .. import models
from ..strict_json import DimailRoute
from ._common import BackendDep, TokenCaller, declared

router = APIRouter(tags=["secondary"], route_class=DimailRoute)
_MAILBOX = "/domains/{domain_name}/mailboxes/{user_name}"
_LINK = _MAILBOX + "/master_of/{secondary_email}"


@router.get(_MAILBOX + "/master_of", operation_id="get_masters", response_model=list[models.Secondary],
            responses=declared(401, 404, 403, 410))
async def get_masters(user_name: str, domain_name: str, caller: TokenCaller, backend: BackendDep) -> list[models.Secondary]:
    """The mailboxes that can open this one as a secondary account."""
    return backend.list_masters(caller, domain_name, user_name)


@router.get(_MAILBOX + "/mastered_by", operation_id="get_mastereds", response_model=list[models.Secondary],
            responses=declared(401, 404, 403, 410))
async def get_mastereds(
    user_name: str, domain_name: str, caller: TokenCaller, backend: BackendDep
) -> list[models.Secondary]:
    """The secondary mailboxes this one can open."""
    return backend.list_mastered(caller, domain_name, user_name)


@router.get(_LINK, operation_id="get_master", response_model=models.Secondary, responses=declared(401, 404, 403, 410))
async def get_master(
    user_name: str, domain_name: str, secondary_email: str, caller: TokenCaller, backend: BackendDep
) -> models.Secondary:
    return backend.get_secondary(caller, domain_name, user_name, secondary_email)


@router.post(_LINK, operation_id="post_master", status_code=201, response_model=models.Secondary,
             responses=declared(401, 404, 403, 410))
async def post_master(
    user_name: str, domain_name: str, secondary_email: str, body: models.CreateSecondary,
    caller: TokenCaller, backend: BackendDep,
) -> models.Secondary:
    """Let this mailbox open `secondary_email`, an existing mailbox, in IMAP and OX."""
    return backend.create_secondary(caller, domain_name, user_name, secondary_email, body)


@router.delete(_LINK, operation_id="delete_master", status_code=204, responses=declared(401, 404, 403, 410))
async def delete_master(
    domain_name: str, user_name: str, secondary_email: str, caller: TokenCaller, backend: BackendDep
) -> None:
    backend.delete_secondary(caller, domain_name, user_name, secondary_email)
