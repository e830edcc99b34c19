"""The values of the suite's options, checked without importing the suite (httpx, the fake, schemathesis):
`contracts.plugin` checks them in every pytest run where the package is installed.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class TargetError(Exception):
    """The target cannot be used as asked (remote without permission, bad option, unreachable)."""


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def credentials(value: str, option: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise TargetError(f"{option} expects USER:PASSWORD, got {value!r}")
    return user, password
