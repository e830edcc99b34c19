from __future__ import annotations

from fastapi import APIRouter

from .. import models
from ..strict_json import DimailRoute
from ._common import BackendDep, BasicCaller, TokenCaller, declared

router = APIRouter(tags=["domains"], route_class=DimailRoute)


@router.get("/domains/", operation_id="get_domains", summary="Get all domains",
            response_model=list[models.Domain], responses=declared(401, 404, 403, bare=(404,)))
async def get_domains(caller: BasicCaller, backend: BackendDep) -> list[models.Domain]:
    """Every domain for an admin; the domains you are allowed on otherwise."""
    return backend.list_domains(caller)


@router.post(
    "/domains/",
    operation_id="post_domain",
    summary="Create a domain",
    status_code=201,
    response_model=models.Domain,
    responses={
        **declared(401, 404, 403, 409, bare=(404,)),
        200: {"description": "Domain successfuly created", "model": models.Domain},
    },
)
async def post_domain(
    body: models.CreateDomain, caller: BasicCaller, backend: BackendDep, no_check: str = "false"
) -> models.Domain:
    """Create a domain: the answer shows `new`; then it is checked unless `no_check` is not exactly "false"."""
    return backend.create_domain(caller, body, check=no_check == "false")


@router.get("/domains/{domain_name}", operation_id="get_domain", summary="Get a domain",
            response_model=models.Domain, responses=declared(401, 404, 403, 410))
async def get_domain(domain_name: str, caller: TokenCaller, backend: BackendDep) -> models.Domain:
    """A domain with the result of its last check."""
    return backend.get_domain(caller, domain_name)


@router.patch("/domains/{domain_name}", operation_id="patch_domain", summary="Update a domain",
              response_model=models.Domain, responses=declared(401, 404, 403, 410, 418))
async def patch_domain(
    domain_name: str, body: models.UpdateDomain, caller: BasicCaller, backend: BackendDep
) -> models.Domain:
    return backend.update_domain(caller, domain_name, body)


@router.delete("/domains/{domain_name}", operation_id="delete_domain", summary="Delete a domain",
               status_code=204, responses=declared(401, 404, 403, 409))
async def delete_domain(domain_name: str, caller: BasicCaller, backend: BackendDep) -> None:
    """Delete an empty domain (no mailbox, OX user or alias left)."""
    backend.delete_domain(caller, domain_name)


@router.get("/domains/{domain_name}/check", operation_id="check_domain", summary="Check Domain",
            response_model=models.Domain, responses=declared(401, 404, 403))
async def check_domain(domain_name: str, caller: BasicCaller, backend: BackendDep) -> models.Domain:
    """Check the domain against the simulated DNS and dimail's side; store and return the result."""
    return backend.check_domain(caller, domain_name)


@router.get("/domains/{domain_name}/fix", operation_id="fix_domain", summary="Fix Domain",
            response_model=models.Domain, responses=declared(401, 404, 403))
async def fix_domain(domain_name: str, caller: BasicCaller, backend: BackendDep) -> models.Domain:
    """Repair what is on dimail's side (e.g. issue the certificate once the DNS is right), then check."""
    return backend.fix_domain(caller, domain_name)


@router.get("/domains/{domain_name}/spec", operation_id="get_domain_specs", summary="Spec Domain",
            response_model=list[models.DomainSpec], responses=declared(401, 404))
async def get_domain_specs(domain_name: str, backend: BackendDep) -> list[models.DomainSpec]:
    """The DNS records to publish for the domain (no authentication)."""
    return backend.domain_spec(domain_name)
