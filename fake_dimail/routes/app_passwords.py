"""App passwords of an OX mailbox: the secret is in the creation's answer only."""

from __future__ import annotations

from fastapi import APIRouter

from .. import models
from ..models import PathDomainName, PathUserName
from ..strict_json import DimailRoute
from ._common import BackendDep, TokenCaller, declared

router = APIRouter(tags=["app_password"], route_class=DimailRoute)
_APP_PASSWORDS = "/domains/{domain_name}/mailboxes/{user_name}/app_passwords"


@router.get(_APP_PASSWORDS, operation_id="get_app_passwords", response_model=list[models.AppPassword],
            responses=declared(401, 404, 403, 410))
async def get_app_passwords(
    user_name: PathUserName, domain_name: PathDomainName, caller: TokenCaller, backend: BackendDep
) -> list[models.AppPassword]:
    """The mailbox's app passwords, without their secrets."""
    return backend.list_app_passwords(caller, domain_name, user_name)


@router.post(_APP_PASSWORDS, operation_id="post_app_password", status_code=201, response_model=models.NewAppPassword,
             responses=declared(401, 404, 403, 410))
async def post_app_password(
    user_name: PathUserName, domain_name: PathDomainName, body: models.CreateAppPassword,
    caller: TokenCaller, backend: BackendDep,
) -> models.NewAppPassword:
    """A new app password; its secret is shown only here."""
    return backend.create_app_password(caller, domain_name, user_name, body)


@router.get(_APP_PASSWORDS + "/{uuid}", operation_id="get_app_password", response_model=models.AppPassword,
            responses=declared(401, 404, 403, 410))
async def get_app_password(
    user_name: PathUserName, domain_name: PathDomainName, uuid: str, caller: TokenCaller, backend: BackendDep
) -> models.AppPassword:
    return backend.get_app_password(caller, domain_name, user_name, uuid)


@router.delete(_APP_PASSWORDS + "/{uuid}", operation_id="delete_app_password", status_code=204,
               responses=declared(401, 404, 403, 410))
async def delete_app_password(
    user_name: PathUserName, domain_name: PathDomainName, uuid: str, caller: TokenCaller, backend: BackendDep
) -> None:
    backend.delete_app_password(caller, domain_name, user_name, uuid)
