"""The fake's control plane under `/_fake/`: steer what dimail cannot be told.

No dimail path starts with `/_fake/`, and nothing here needs credentials:
these routes exist for developers and tests, never for People.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.routing import APIRoute

from .. import errors, models
from ..faults import Faults
from ..guard import is_control
from ..seeding import Seeder, SeedError
from ..strict_json import DimailRoute
from ._common import BackendDep

router = APIRouter(prefix="/_fake", tags=["fake"], route_class=DimailRoute)

DnsName = models.DnsName


@router.get("/dns/{name}", operation_id="fake_get_zone", summary="Read a simulated DNS zone")
async def get_zone(name: DnsName, backend: BackendDep) -> list[models.DnsRecord]:
    """The zone's records; `[]` for a name nobody published (it does not exist in DNS)."""
    return backend.dns_zone(name)


@router.put("/dns/{name}", operation_id="fake_put_zone", summary="Replace a simulated DNS zone")
async def put_zone(name: DnsName, records: list[models.DnsRecord], backend: BackendDep) -> list[models.DnsRecord]:
    """Replace every record of the zone. PUT the answer of `GET /domains/{d}/spec` to pass every external check."""
    return backend.set_dns_zone(name, records)


@router.delete("/dns/{name}", operation_id="fake_delete_zone", summary="Empty a simulated DNS zone",
               status_code=204)
async def delete_zone(name: DnsName, backend: BackendDep) -> Response:
    """Remove every record: the name no longer exists in DNS."""
    backend.clear_dns_zone(name)
    return Response(status_code=204)


@router.post("/dns/{name}/publish", operation_id="fake_publish_zone", summary="Fill a zone from a preset",
             responses={404: {"description": "spec: no such dimail domain", "model": models.NotFound}})
async def publish_zone(
    name: DnsName, backend: BackendDep, records: models.DnsPreset = models.DnsPreset.spec
) -> list[models.DnsRecord]:
    """`spec`: what dimail asks for the domain; `wrong`: another provider's MX, webmail CNAME and SPF,
    no IMAP/SMTP CNAME, no DKIM; `exists`: name servers only."""
    return backend.publish(name, records)


@router.get("/domains/{domain_name}/platform", operation_id="fake_get_platform",
            summary="Read dimail's side of a domain",
            responses={404: {"description": "Not found", "model": models.NotFound}})
async def get_platform(domain_name: str, backend: BackendDep) -> models.PlatformState:
    return backend.platform(domain_name)


@router.patch("/domains/{domain_name}/platform", operation_id="fake_patch_platform",
              summary="Break or repair dimail's side of a domain",
              responses={404: {"description": "Not found", "model": models.NotFound}})
async def patch_platform(domain_name: str, body: models.PlatformChange, backend: BackendDep) -> models.PlatformState:
    """Set what the internal checks will find. Omitted fields stay as they are.

    `broken`: webmail_ok/postfix/ox fail until /fix; `certificate`: issue (true) or revoke (false) it now;
    `unfixable`: internal checks /fix leaves as they are; `certs_on_check`: /check issues the certificate too.
    """
    return backend.set_platform(domain_name, body)


@router.put("/domains/{domain_name}/status", operation_id="fake_put_status",
            summary="Move a domain to a status, in People's terms or dimail's",
            responses={404: {"description": "Not found", "model": models.NotFound},
                       422: {"description": "A combination no status has: the detail says which and why"}})
async def put_status(domain_name: str, body: models.StatusChange, backend: BackendDep) -> models.Domain:
    """`people_status`: pending, enabled, action_required, failed, disabled; or `status`: ok, broken, new
    (`failing`, `fixable`). Checks, dimail's side and the zone are set as a new domain in that status would
    have them; mailboxes, aliases, allows stay. A domain People already shows in `people_status` is left as it is.
    """
    if domain_name not in backend.domains:
        raise errors.not_found(errors.DOMAIN_NOT_FOUND)
    try:
        return Seeder(backend).set_domain_status(
            domain_name, people_status=body.people_status.value if body.people_status else None,
            status=body.status.value if body.status else None, failing=body.failing, fixable=body.fixable)
    except SeedError as exc:
        raise errors.unprocessable(str(exc)) from None


@router.get("/domains/{domain_name}/people", operation_id="fake_get_people_status",
            summary="What People would show for a domain after its next status fetch",
            responses={404: {"description": "Not found", "model": models.NotFound}})
async def get_people_status(
    domain_name: str, backend: BackendDep,
    before: Annotated[models.PeopleStatus, Query(description="the status People shows before the fetch")]
    = models.PeopleStatus.pending,
) -> models.PeopleView:
    """People's status rule (`fake_dimail.people_status`, CHECKS.md §8) applied to the answer `/check` would
    give now, with the reason. Nothing changes: `/fix/`'s answer is predicted by running dimail's repair and
    check on a copy of the domain, and no DKIM key is generated."""
    return backend.people_view(domain_name, before.value)


@router.get("/operations", operation_id="fake_list_operations", summary="List dimail's operations")
async def list_operations(request: Request) -> list[models.Operation]:
    """Every operation of the API (not `/_fake/`): method, path template, id and summary, what a fault matches."""
    return operations_of(request.app)


def operations_of(app: Any) -> list[models.Operation]:
    return [models.Operation(method=method, path=route.path, operation_id=route.operation_id or route.name,
                             summary=route.summary or "")
            for route in app.routes
            if isinstance(route, APIRoute) and route.include_in_schema and not is_control(route.path)
            for method in sorted(route.methods)]


async def _faults(request: Request) -> Faults:
    # Faults belong to the app (its middleware injects them), not to the backend's state.
    return request.app.state.faults


FaultsDep = Annotated[Faults, Depends(_faults)]


@router.get("/faults", operation_id="fake_list_faults", summary="List the injected faults")
async def list_faults(faults: FaultsDep) -> list[models.Fault]:
    return [models.Fault.model_validate(f.as_dict()) for f in faults]


@router.post("/faults", operation_id="fake_add_fault", summary="Inject a fault", status_code=201,
             responses={422: {"description": "No such dimail operation, or invalid fault"}})
async def add_fault(body: models.NewFault, faults: FaultsDep) -> models.Fault:
    """Answer matching requests with a status, a dropped connection or a stall, instead of dimail's answer.

    The journal (`fault` of each entry) shows what was injected.
    """
    answer = body.answer.value if isinstance(body.answer, models.FaultKind) else body.answer
    try:
        fault = faults.add(body.method.value, body.path, answer, times=body.times, after=body.after,
                           delay_ms=body.delay_ms, body=body.body)
    except ValueError as exc:
        raise errors.unprocessable(str(exc)) from None
    return models.Fault.model_validate(fault.as_dict())


@router.delete("/faults", operation_id="fake_clear_faults", summary="Remove every fault", status_code=204)
async def clear_faults(faults: FaultsDep) -> Response:
    faults.clear()
    return Response(status_code=204)


@router.delete("/faults/{fault_id}", operation_id="fake_remove_fault", summary="Remove one fault", status_code=204,
               responses={404: {"description": "No such fault", "model": models.NotFound}})
async def remove_fault(fault_id: int, faults: FaultsDep) -> Response:
    if not faults.remove(fault_id):
        raise errors.not_found(errors.FAULT_NOT_FOUND)
    return Response(status_code=204)


# --- moves and the mail queue (system) ------------------------------------------------


@router.get("/domains/{domain_name}/move", operation_id="fake_get_move", summary="Read a domain's move",
            responses={404: {"description": "No such domain, or it is not moving", "model": models.NotFound}})
async def get_move(domain_name: str, backend: BackendDep) -> models.MoveState:
    return backend.move_state(domain_name)


@router.put("/domains/{domain_name}/move", operation_id="fake_put_move", summary="Put a domain in moving state",
            responses={404: {"description": "Not found", "model": models.NotFound}})
async def put_move(domain_name: str, body: models.MoveChange, backend: BackendDep) -> models.MoveState:
    """The domain answers 410 on every operation declaring it until the move completes.

    `moving_from`: it comes from that platform, each of its mailboxes needs `GET /system/move_mailbox`
    (the last one completes the move); `moving_to`: it leaves, until `DELETE` here.
    """
    return backend.set_moving(domain_name, body)


@router.delete("/domains/{domain_name}/move", operation_id="fake_delete_move", summary="Complete a domain's move",
               status_code=204,
               responses={404: {"description": "No such domain, or it is not moving", "model": models.NotFound}})
async def delete_move(domain_name: str, backend: BackendDep) -> Response:
    backend.complete_move(domain_name)
    return Response(status_code=204)


@router.post("/mailqueue/{domain_name}/{user_name}", operation_id="fake_queue_mail", summary="Queue a mail",
             status_code=201, responses={404: {"description": "Not found", "model": models.NotFound}})
async def queue_mail(domain_name: str, user_name: str, backend: BackendDep) -> models.QueuedMailView:
    """A mail waiting for `<user_name>@<domain_name>`: `GET /system/mailqueue/…` lists its queue id."""
    return backend.queue_mail(domain_name, user_name)


@router.delete("/mailqueue/{domain_name}/{user_name}", operation_id="fake_flush_mailqueue",
               summary="Deliver every mail queued for an address", status_code=204)
async def flush_mailqueue(domain_name: str, user_name: str, backend: BackendDep) -> Response:
    backend.flush_mailqueue(domain_name, user_name)
    return Response(status_code=204)
