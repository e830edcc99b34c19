"""Mailboxes v1, their passwords and login codes, and the address probe."""

from __future__ import annotations

from fastapi import APIRouter

from .. import models
from ..strict_json import DimailRoute
from ..models import PathDomainName, PathUserName
from ._common import BackendDep, TokenCaller, declared

router = APIRouter(tags=["mailboxes"], route_class=DimailRoute)
code_router = APIRouter(tags=["code"], route_class=DimailRoute)
address_router = APIRouter(tags=["address"], route_class=DimailRoute)
_MAILBOX = "/domains/{domain_name}/mailboxes/{user_name}"


@router.get("/domains/{domain_name}/mailboxes/", operation_id="get_mailboxes",
            response_model=list[models.Mailbox], responses=declared(401, 404, 403, 410))
async def get_mailboxes(domain_name: str, caller: TokenCaller, backend: BackendDep) -> list[models.Mailbox]:
    """Dovecot mailboxes of the domain and every OX user of its context (admin included)."""
    return backend.list_mailboxes(caller, domain_name)


@router.get(_MAILBOX, operation_id="get_mailbox", response_model=models.Mailbox, responses=declared(401, 404, 403, 410))
async def get_mailbox(user_name: str, domain_name: str, caller: TokenCaller, backend: BackendDep) -> models.Mailbox:
    return backend.get_mailbox(caller, domain_name, user_name)


@router.post(
    _MAILBOX,
    operation_id="post_mailbox",
    status_code=201,
    response_model=models.NewMailbox,
    responses={**declared(401, 404, 403, 410), 201: {"description": "Mailbox created"}},
)
async def post_mailbox(
    user_name: PathUserName, domain_name: PathDomainName, body: models.CreateMailbox,
    caller: TokenCaller, backend: BackendDep,
) -> models.NewMailbox:
    """Create a mailbox (Dovecot, and OX on webmail domains); its password is shown only here."""
    return backend.create_mailbox(caller, domain_name, user_name, body)


@router.patch(_MAILBOX, operation_id="patch_mailbox", response_model=models.Mailbox,
              responses=declared(401, 404, 403, 410))
async def patch_mailbox(
    domain_name: str, user_name: str, body: models.UpdateMailbox, caller: TokenCaller, backend: BackendDep
) -> models.Mailbox:
    return backend.update_mailbox(caller, domain_name, user_name, body)


@router.delete(_MAILBOX, operation_id="delete_mailbox", status_code=204, responses=declared(401, 404, 403, 410))
async def delete_mailbox(domain_name: str, user_name: str, caller: TokenCaller, backend: BackendDep) -> None:
    backend.delete_mailbox(caller, domain_name, user_name)


@router.post(_MAILBOX + "/reset_password", operation_id="reset_password", response_model=models.NewMailbox,
             responses=declared(401, 404, 403, 410))
async def reset_password(user_name: str, domain_name: str, caller: TokenCaller, backend: BackendDep) -> models.NewMailbox:
    """Give the mailbox a new random password, returned in clear."""
    return backend.reset_password(caller, domain_name, user_name)


@router.post(_MAILBOX + "/force_password", operation_id="force_password",
             summary="Force the password of a mailbox.", response_model=models.NewMailbox,
             responses=declared(401, 404, 403, 410))
async def force_password(
    user_name: str, domain_name: str, body: models.MailboxForcePassword, caller: TokenCaller, backend: BackendDep
) -> models.NewMailbox:
    return backend.force_password(caller, domain_name, user_name, body)


@router.post(_MAILBOX + "/check_password", operation_id="check_password", response_model=bool,
             responses=declared(401, 404, 403, 410))
async def check_password(
    user_name: str, domain_name: str, body: models.MailboxPassword, caller: TokenCaller, backend: BackendDep
) -> bool:
    return backend.check_password(caller, domain_name, user_name, body.password)


@router.post(_MAILBOX + "/code", operation_id="post_mailbox_code", status_code=201,
             response_model=models.MailboxCode, responses=declared(401, 404, 403, 409, 410, bare=(404,)))
async def post_mailbox_code(
    user_name: str, domain_name: str, body: models.CreateMailboxCode, caller: TokenCaller, backend: BackendDep
) -> models.MailboxCode:
    """A login code for the webmail (`/code/<code>`); `null` means no expiry / unlimited uses."""
    return backend.create_code(caller, domain_name, user_name, body)


@code_router.get("/code/{code_string}", operation_id="get_code", response_model=models.MailboxCode,
            responses={**declared(404, 403, 410), 401: {"description": "Not authorized", "model": models.Detail}})
async def get_code(code_string: str, caller: TokenCaller, backend: BackendDep) -> models.MailboxCode:
    """Use a login code once."""
    return backend.use_code(caller, code_string)


@address_router.get("/domains/{domain_name}/address/{user_name}", operation_id="get_address",
            response_model=models.Address, responses=declared(401, 404, 403, 410))
async def get_address(domain_name: str, user_name: str, caller: TokenCaller, backend: BackendDep) -> models.Address:
    """What uses `<user_name>@<domain_name>`: alias, mailbox, forward, OX user."""
    return backend.address(caller, domain_name, user_name)
