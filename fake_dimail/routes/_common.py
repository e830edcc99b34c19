"""What every route module declares the same way."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from .. import models
from ..backend import Backend
from ..records import Caller
from ..security import basic_user, get_backend, token_user

BackendDep = Annotated[Backend, Depends(get_backend)]
BasicCaller = Annotated[Caller, Depends(basic_user)]
TokenCaller = Annotated[Caller, Depends(token_user)]

_DECLARED: dict[int, dict[str, Any]] = {
    401: {"description": "Not authorized"},
    403: {"description": "Permission denied", "model": models.PermissionDenied},
    404: {"description": "Not found", "model": models.NotFound},
    409: {"description": "Conflict (resource already exist)", "model": models.Conflict},
    410: {"description": "Domain is moving to another platform", "model": models.Moving},
    418: {"description": "A precondition failed", "model": models.PreconditionFailed},
}


def declared(*statuses: int, bare: tuple[int, ...] = ()) -> dict[int | str, dict[str, Any]]:
    """The error statuses an operation declares in the v0.8.2 document; `bare` ones without a body schema."""
    return {
        status: {"description": _DECLARED[status]["description"]} if status in bare else _DECLARED[status]
        for status in statuses
    }
