from __future__ import annotations

from fastapi import APIRouter, Request

from .. import models
from ..backend.logs import log_date
from ..strict_json import DimailRoute
from ._common import BackendDep, BasicCaller, declared

router = APIRouter(tags=["admin"], route_class=DimailRoute)
# guess G-server-logs: dimail shows its whole log file; the fake its journal's last lines, so an answer stays small.
MAX_LINES = 1000


@router.get("/logs/", operation_id="get_server_logs", response_model=models.ServerLogs,
            responses=declared(401, 404, 403, bare=(404,)),
            response_description="The content of the main logs for the server")
async def get_logs(request: Request, caller: BasicCaller, backend: BackendDep) -> models.ServerLogs:
    """The last requests the fake answered, one log line each, oldest first (admin only)."""
    backend.require_admin(caller)
    recent = request.app.state.journal.select(MAX_LINES)
    return models.ServerLogs(logs=[f"{log_date(exchange.time)} {exchange.line()}" for exchange in recent])


@router.get("/logs/crashes", operation_id="get_crash_logs", response_model=list[models.CrashInfo],
            responses=declared(401, 404, 403, bare=(404,)), response_description="The list of the crash logfiles")
async def get_crashes(caller: BasicCaller, backend: BackendDep) -> list[models.CrashInfo]:
    """The crash logs kept, oldest first: the fake's deliberate 500s (admin only)."""
    return backend.list_crashes(caller)


@router.get("/logs/crashes/{crash_name}", operation_id="get_crash_log", response_model=models.ServerLogs,
            responses=declared(401, 404, 403, bare=(404,)), response_description="The content of the file")
async def get_crash(crash_name: str, caller: BasicCaller, backend: BackendDep) -> models.ServerLogs:
    """One crash log: when, the request that caused it, and why."""
    return backend.get_crash(caller, crash_name)


@router.delete("/logs/crashes/{crash_name}", operation_id="delete_crash_log", status_code=204,
               responses=declared(401, 404, 403, bare=(404,)), response_description="Log file successfuly deleted")
async def del_crash(crash_name: str, caller: BasicCaller, backend: BackendDep) -> None:
    """Delete the log file produced during a crash."""
    backend.delete_crash(caller, crash_name)
