"""`/system/…`: admin-only platform operations (tag `system`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .. import models
from ..shutdown import shutdown_of
from ..strict_json import DimailRoute
from ._common import BackendDep, BasicCaller, TokenCaller, declared

router = APIRouter(prefix="/system", tags=["system"], route_class=DimailRoute)
_RATE_LIMIT = "/rate_limits/{name}"


def _answers(description: str, *statuses: int, bare: tuple[int, ...] = (404,)) -> dict[int | str, dict[str, Any]]:
    """The 200's description, then the error statuses as the document lists them."""
    return {200: {"description": description}, **declared(*statuses, bare=bare)}


@router.get("/health_check", operation_id="health_check", summary="Get Health Check",
            response_model=models.ServerStatus, responses=_answers("Health status of the server", 401, 404, 403))
async def health_check(caller: BasicCaller, backend: BackendDep) -> models.ServerStatus:
    """Get the health status of the API server"""
    return backend.health_check(caller)


@router.get("/version", operation_id="get_version", summary="Get Version",
            response_model=models.ApiVersion, responses=_answers("Version informations", 401, 404, 403))
async def get_version(caller: BasicCaller, backend: BackendDep) -> models.ApiVersion:
    """Get version information about the API server"""
    return backend.version(caller)


@router.get("/tech_domain", operation_id="get_tech_domain", summary="Get Tech Domain",
            response_model=models.TechDomain,
            responses=_answers("The tech_domain for that platform", 401, 404, 403))
async def get_tech_domain(caller: BasicCaller, backend: BackendDep) -> models.TechDomain:
    """Get the tech_domain for that platform"""
    return backend.tech_domain(caller)


@router.get("/rate_limits", operation_id="get_rate_limits", summary="Get Rate Limits",
            response_model=list[models.RateLimit], responses=_answers("The list of profiles", 401, 404, 403))
async def get_rate_limits(caller: BasicCaller, backend: BackendDep) -> list[models.RateLimit]:
    """List the rate limit profiles"""
    return backend.list_rate_limits(caller)


@router.get(_RATE_LIMIT, operation_id="get_rate_limit", summary="Get Rate Limit", response_model=models.RateLimit,
            responses=_answers("The rate limit profile", 401, 404, 403, bare=()))
async def get_rate_limit(name: str, caller: BasicCaller, backend: BackendDep) -> models.RateLimit:
    """Get a rate limit profile"""
    return backend.get_rate_limit(caller, name)


@router.post(_RATE_LIMIT, operation_id="post_rate_limit", summary="Post Rate Limit", status_code=201,
             response_model=models.RateLimit,
             responses={201: {"description": "Rate limit created"}, **declared(401, 404, 403, 409, bare=(404,))})
async def post_rate_limit(name: str, body: models.RateLimit, caller: BasicCaller, backend: BackendDep) -> models.RateLimit:
    """Create a new rate limit profile"""
    return backend.create_rate_limit(caller, name, body)


@router.patch(_RATE_LIMIT, operation_id="patch_rate_limit", summary="Patch Rate Limit",
              response_model=models.RateLimit, responses=_answers("Rate limit updated", 401, 404, 403, bare=()))
async def patch_rate_limit(name: str, body: models.RateLimit, caller: BasicCaller, backend: BackendDep) -> models.RateLimit:
    """Updates a rate limit profile"""
    return backend.update_rate_limit(caller, name, body)


@router.delete(_RATE_LIMIT, operation_id="delete_rate_limit", summary="Delete Rate Limit", status_code=204,
               responses={204: {"description": "Deleted"}, **declared(401, 404, 403)})
async def delete_rate_limit(name: str, caller: BasicCaller, backend: BackendDep) -> None:
    """Delete a rate limit profile"""
    backend.delete_rate_limit(caller, name)


@router.get("/stores_info", operation_id="internal_get_stores_info", summary="Get Stores Info",
            response_model=list[models.StoreInfo], responses=_answers("List of imap_stores", 401, 404, 403))
async def get_stores_info(caller: BasicCaller, backend: BackendDep) -> list[models.StoreInfo]:
    """Internal use only. List the imap_stores."""
    return backend.stores_info(caller)


@router.get("/store_info/{store_name}", operation_id="internal_get_store_info", summary="Get Store Info",
            response_model=models.StoreInfo,
            responses=_answers("The technical informations about this imap_store", 401, 404, 403, bare=()))
async def get_store_info(store_name: str, caller: BasicCaller, backend: BackendDep) -> models.StoreInfo:
    """Internal use only. Gives some technical informations about an imap_store"""
    return backend.store_info(caller, store_name)


@router.get("/mailbox_info/{domain_name}/{user_name}", operation_id="internal_mailbox_info",
            summary="Get Mailbox Info", response_model=models.MailboxInfo,
            responses=_answers("Success", 401, 404, 403, bare=()))
async def get_mailbox_info(user_name: str, domain_name: str, caller: BasicCaller,
                           backend: BackendDep) -> models.MailboxInfo:
    """Internal use only. Gives some technical informations about a mailbox."""
    return backend.mailbox_info(caller, domain_name, user_name)


@router.get("/mailboxes_info/{domain_name}", operation_id="internal_mailboxes_info", summary="Get Mailboxes Info",
            response_model=list[models.MailboxInfo], responses=_answers("Success", 401, 404, 403, bare=()))
async def get_mailboxes_info(domain_name: str, caller: BasicCaller, backend: BackendDep) -> list[models.MailboxInfo]:
    """Internal use only. Gives some technical informations about the mailboxes in a domain."""
    return backend.mailboxes_info(caller, domain_name)


@router.get("/mailqueue/{domain_name}/{user_name}", operation_id="internal_get_mailqueue", summary="Get Mailqueue",
            response_model=list[str], responses=_answers("Return the list of queue_ids", 401, 404, 403, bare=()))
async def get_mailqueue(domain_name: str, user_name: str, caller: BasicCaller, backend: BackendDep) -> list[str]:
    """Internal use only. List the queue_ids for a destination address"""
    return backend.list_mailqueue(caller, domain_name, user_name)


@router.get("/disconnect/{domain_name}/{user_name}", operation_id="internal_disconnect_user",
            summary="Get Disconnect", response_model=None,
            responses=_answers("The user have been disconnected", 401, 404, 403, bare=()))
async def get_disconnect(domain_name: str, user_name: str, caller: BasicCaller, backend: BackendDep) -> Any:
    """Internal use only. Terminate imap sessions of a user."""
    return backend.disconnect(caller, domain_name, user_name)


@router.get("/shutdown", operation_id="internal_shutdown", summary="Get Shutdown", response_model=None,
            responses=_answers("The API server is shutting down.", 401, 404, 403))
async def get_shutdown(request: Request, caller: BasicCaller, backend: BackendDep) -> Any:
    """Internal use only. Shuts down the API server."""
    backend.require_admin(caller)
    shutdown_of(request.app).stop()
    return {}


@router.post("/check_contexts", operation_id="internal_check_contexts", summary="Check Contexts",
             response_model=models.CheckedContexts, responses=_answers("Status", 401, 404, 403))
async def check_contexts(body: models.CheckContexts, caller: BasicCaller, backend: BackendDep) -> models.CheckedContexts:
    """Internal use only. Check contexts can be moved from a platform to another."""
    return backend.check_contexts(caller, body)


@router.get("/move_mailbox/{domain_name}/{user_name}", operation_id="internal_move_mailbox",
            summary="Get Move Mailbox", response_model=None,
            responses={**_answers("Mailbox moved to destination platform", 401, 404, 403, bare=()),
                       424: {"description": "Failed to move a mailbox.", "model": models.FailedMove}})
async def get_move_mailbox(user_name: str, domain_name: str, caller: TokenCaller, backend: BackendDep) -> Any:
    """Internal use only. When a domain is moving <from>:<to>, moves a mailbox from <from> to <to>"""
    return backend.move_mailbox(caller, domain_name, user_name)


@router.patch("/import_domain/{domain_name}", operation_id="internal_import_domain", summary="Import Domain",
              response_model=None, responses=_answers("Domain moving", 401, 404, 403))
async def import_domain(domain_name: str, body: models.ImportDomain, caller: BasicCaller, backend: BackendDep) -> Any:
    """Internal use only. Mode a domain."""
    return backend.import_domain(caller, domain_name, body)


@router.patch("/database/{db_name}", operation_id="internal_patch_database", summary="Patch Database",
              response_model=None, responses=_answers("Moving", 401, 404, 403))
async def patch_database(db_name: str, body: models.UpdateDatabase, caller: BasicCaller, backend: BackendDep) -> Any:
    """Internal use. Move all the domains from a database to another platform."""
    return backend.move_database(caller, db_name, body)


@router.post("/database/{db_name}/{schema_name}", operation_id="internal_post_database", summary="Post Database",
             response_model=models.SchemaName, responses=_answers("Created", 401, 404, 403))
async def post_database(db_name: str, schema_name: str, caller: BasicCaller, backend: BackendDep) -> models.SchemaName:
    """Internal use only. Created a new database."""
    return backend.create_database(caller, db_name, schema_name)
