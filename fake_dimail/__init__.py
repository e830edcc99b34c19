"""fake-dimail: a faithful fake of dimail, in-process (ASGI) or as a server."""

__version__ = "0.1.0"

from .app import create_app  # noqa: E402
from .backend import Backend  # noqa: E402
from .config import Settings  # noqa: E402
from .fake import FakeDimail  # noqa: E402

__all__ = ["Backend", "FakeDimail", "Settings", "create_app", "__version__"]
