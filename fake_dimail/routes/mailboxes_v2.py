from __future__ import annotations

from fastapi import APIRouter

from .. import models
from ..strict_json import DimailRoute
from ..models import PathDomainName, PathUserName
from ._common import BackendDep, TokenCaller, declared

router = APIRouter(tags=["mailboxes"], route_class=DimailRoute)
_MAILBOX = "/v2/domains/{domain_name}/mailboxes/{user_name}"


@router.get("/v2/domains/{domain_name}/mailboxes/", operation_id="get_mailboxes_v2",
            response_model=list[models.Mailbox2], responses=declared(401, 404, 403, 410))
async def get_mailboxes_v2(
    domain_name: str, caller: TokenCaller, backend: BackendDep, with_extras: bool = True
) -> list[models.Mailbox2]:
    return backend.list_mailboxes_v2(caller, domain_name, with_extras)


@router.get(_MAILBOX, operation_id="get_mailbox_v2", response_model=models.Mailbox2,
            responses=declared(401, 404, 403, 410))
async def get_mailbox_v2(
    user_name: str, domain_name: str, caller: TokenCaller, backend: BackendDep, with_extras: bool = True
) -> models.Mailbox2:
    return backend.get_mailbox_v2(caller, domain_name, user_name, with_extras)


@router.post(_MAILBOX, operation_id="post_mailbox_v2", status_code=201, response_model=models.NewMailbox,
             responses=declared(401, 404, 403, 410))
async def post_mailbox_v2(
    user_name: PathUserName, domain_name: PathDomainName, body: models.CreateMailbox2,
    caller: TokenCaller, backend: BackendDep,
) -> models.NewMailbox:
    """Create a mailbox with features: `ox` needs `extras.ox` and a webmail domain."""
    return backend.create_mailbox_v2(caller, domain_name, user_name, body)


@router.patch(_MAILBOX, operation_id="patch_mailbox_v2", response_model=models.Mailbox2,
              responses=declared(401, 404, 403, 410))
async def patch_mailbox_v2(
    domain_name: str, user_name: str, body: models.UpdateMailbox2, caller: TokenCaller, backend: BackendDep
) -> models.Mailbox2:
    """`features`: `+x`/`-x` add and remove, plain items replace; `quota: ""` removes the quota."""
    return backend.update_mailbox_v2(caller, domain_name, user_name, body)
