"""fake-dimail: a faithful fake of dimail, in-process (ASGI) or as a server.

Names are loaded on first use: the pytest plugin (`fake_dimail.pytest_plugin`)
is imported by every pytest run where the package is installed, and must not
pull the whole app in.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Backend": ".backend",
    "FakeDimail": ".fake",
    "SeedError": ".seeding",
    "Settings": ".config",
    "create_app": ".app",
    "mock_dimail": ".mock",
}

__all__ = [*sorted(_EXPORTS), "__version__"]

if TYPE_CHECKING:
    from .app import create_app
    from .backend import Backend
    from .config import Settings
    from .fake import FakeDimail
    from .mock import mock_dimail
    from .seeding import SeedError


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fake_dimail' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
