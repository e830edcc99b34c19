"""ProConnect identities and the mailboxes they may open, from either end."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .. import models
from ..strict_json import DimailRoute
from ._common import BackendDep, TokenCaller, declared

router = APIRouter(tags=["identities"], route_class=DimailRoute)
mailbox_router = APIRouter(tags=["mailboxes"], route_class=DimailRoute)
_MAILBOX = "/domains/{domain_name}/mailboxes/{user_name}"


@router.get("/identities", operation_id="get_identities", response_model=list[str], responses=declared(401, 404, 403))
async def get_identities(identity: str, caller: TokenCaller, backend: BackendDep) -> list[str]:
    """The e-mails of the mailboxes `identity` may open."""
    return backend.list_identity_emails(caller, identity)


@router.post("/identities", operation_id="post_identity", summary="Post Identities", status_code=201,
             response_model=None, responses=declared(401, 404, 403, 409))
async def post_identity(body: models.CreateIdentity, caller: TokenCaller, backend: BackendDep) -> Any:
    """Let `proconnect` open the mailbox `email`, whose password proves the right to."""
    return backend.create_identity(caller, body)


@router.delete("/identities/{proconnect}/{email}", operation_id="delete_identities", status_code=204,
               responses=declared(401, 404, 403))
async def delete_identities(proconnect: str, email: str, caller: TokenCaller, backend: BackendDep) -> None:
    backend.delete_identity(caller, proconnect, email)


@mailbox_router.get(_MAILBOX + "/identities", operation_id="get_mailbox_identities", summary="Get Identities",
                    response_model=list[str], responses=declared(401, 404, 403, 410))
async def get_mailbox_identities(domain_name: str, user_name: str, caller: TokenCaller, backend: BackendDep) -> list[str]:
    """The ProConnect identities that may open this mailbox."""
    return backend.list_mailbox_identities(caller, domain_name, user_name)


@mailbox_router.post(_MAILBOX + "/identities/{identity}", operation_id="post_mailbox_identity",
                     summary="Post Identities", status_code=201, response_model=None,
                     responses=declared(401, 404, 403))
async def post_mailbox_identity(
    domain_name: str, user_name: str, identity: str, caller: TokenCaller, backend: BackendDep
) -> Any:
    """Let `identity` open this mailbox."""
    return backend.add_mailbox_identity(caller, domain_name, user_name, identity)
