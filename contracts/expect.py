"""Assertions whose failure message names the call and the culprit (status, field, value)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx


class ContractBroken(AssertionError):
    """A contract the target does not keep; the message says which call and what."""


def status(answer: httpx.Response, expected: int | Iterable[int], call: str, why: str = "") -> None:
    allowed = {expected} if isinstance(expected, int) else set(expected)
    if answer.status_code not in allowed:
        wanted = " or ".join(str(s) for s in sorted(allowed))
        raise ContractBroken(f"{call}: answered {answer.status_code}, expected {wanted}"
                             f"{f' ({why})' if why else ''}; body: {answer.text[:200]!r}")


def redirected(answer: httpx.Response, call: str) -> None:
    """People's slash paths only work through one 307 to the slash-less path."""
    hops = [r.status_code for r in answer.history]
    if hops != [307]:
        raise ContractBroken(f"{call}: expected one 307 redirect (People's trailing slash), got {hops or 'none'}")


def body(answer: httpx.Response, call: str) -> Any:
    try:
        return answer.json()
    except ValueError as exc:
        raise ContractBroken(f"{call}: the body is not JSON: {answer.text[:200]!r}") from exc


TYPES: dict[str, type | tuple[type, ...]] = {"str": str, "bool": bool, "list": list, "dict": dict,
                                             "str|null": (str, type(None)), "int": int}


def fields(value: Any, spec: dict[str, str], call: str, reader: str = "People reads it") -> None:
    """`spec`: dotted field -> type name ("str", "bool", "list", "dict", "str|null", "int")."""
    for dotted, type_name in spec.items():
        node: Any = value
        path = []
        for part in dotted.split("."):
            path.append(part)
            if not isinstance(node, dict) or part not in node:
                raise ContractBroken(f"{call}: the answer lacks `{'.'.join(path)}` ({reader}); "
                                     f"got keys {sorted(node) if isinstance(node, dict) else type(node).__name__}")
            node = node[part]
        if not isinstance(node, TYPES[type_name]) or (type_name == "int" and isinstance(node, bool)):
            raise ContractBroken(f"{call}: `{dotted}` is {node!r} ({type(node).__name__}), expected {type_name} "
                                 f"({reader})")


def equal(got: Any, expected: Any, what: str) -> None:
    if got != expected:
        raise ContractBroken(f"{what}: expected {expected!r}, got {got!r}")
