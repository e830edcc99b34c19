"""The People side of dimail in miniature: People events in, the exact dimail calls out."""

from .client import (
    Call,
    Credentials,
    DimailClient,
    DimailConflict,
    DimailError,
    DimailNotFound,
    DimailRefused,
    DimailServerError,
    DimailUnavailable,
)
from .provisioner import DomainStatus, NotInitialised, Provisioner, Step

__all__ = [
    "Call",
    "Credentials",
    "DimailClient",
    "DimailConflict",
    "DimailError",
    "DimailNotFound",
    "DimailRefused",
    "DimailServerError",
    "DimailUnavailable",
    "DomainStatus",
    "NotInitialised",
    "Provisioner",
    "Step",
]
