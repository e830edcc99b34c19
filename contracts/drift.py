"""Schema drift: a target's OpenAPI document against the fake's, operation by operation.

Compared per operation: presence, parameters (name, place, required), the
request body's fields (and which are required) and the response statuses,
with the fields of each JSON success body. `$ref`s are followed; `anyOf`
branches are merged, so `X | null` compares as `X`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Drift:
    operation: str  # "POST /domains/"
    kind: str  # missing | added | parameters | request | responses | fields
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def reference_openapi() -> dict[str, Any]:
    """The fake's own document, without its control plane: what the fake claims dimail is (a copy of its own,
    read from the package: fake_dimail/openapi_document.py)."""
    from fake_dimail.openapi_document import document

    fake = document()
    return {**fake, "paths": {p: v for p, v in fake["paths"].items() if not p.startswith("/_fake/")}}


def _resolve(document: dict[str, Any], schema: Any, depth: int = 0) -> dict[str, Any]:
    if not isinstance(schema, dict) or depth > 8:
        return {}
    if "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return _resolve(document, node, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            merged: dict[str, Any] = {"properties": {}, "required": []}
            for branch in schema[key]:
                inner = _resolve(document, branch, depth + 1)
                merged["properties"].update(inner.get("properties", {}))
                merged["required"] += inner.get("required", [])
                if inner.get("type") == "array":
                    merged.update(type="array", items=inner.get("items"))
            return merged
    return schema


def _fields(document: dict[str, Any], schema: Any) -> tuple[set[str], set[str]]:
    resolved = _resolve(document, schema)
    if resolved.get("type") == "array":
        resolved = _resolve(document, resolved.get("items"))
    return set(resolved.get("properties", {})), set(resolved.get("required", []))


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{m.upper()} {path}": item[m] for path, item in document.get("paths", {}).items()
            for m in METHODS if m in item}


def _json_schema(part: dict[str, Any]) -> Any:
    return part.get("content", {}).get("application/json", {}).get("schema")


def compare(target: dict[str, Any], reference: dict[str, Any]) -> list[Drift]:
    """What differs in `target` from `reference`, sorted by operation."""
    theirs = {op: v for op, v in _operations(target).items() if " /_fake/" not in op}  # steering, not dimail
    ours = _operations(reference)
    drift = [Drift(op, "missing", "declared by the fake, absent from the target") for op in ours if op not in theirs]
    drift += [Drift(op, "added", "declared by the target, unknown to the fake") for op in theirs if op not in ours]
    for op in sorted(set(ours) & set(theirs)):
        a, b = theirs[op], ours[op]
        params = {(p.get("name"), p.get("in"), bool(p.get("required"))) for p in a.get("parameters", [])}
        expected = {(p.get("name"), p.get("in"), bool(p.get("required"))) for p in b.get("parameters", [])}
        if params != expected:
            drift.append(Drift(op, "parameters", _delta(expected, params, lambda t: f"{t[0]} in {t[1]}"
                                                                            f"{' (required)' if t[2] else ''}")))
        body_a = _fields(target, _json_schema(a.get("requestBody", {})))
        body_b = _fields(reference, _json_schema(b.get("requestBody", {})))
        if body_a != body_b:
            drift.append(Drift(op, "request", _fields_delta(body_b, body_a)))
        codes_a, codes_b = set(a.get("responses", {})), set(b.get("responses", {}))
        if codes_a != codes_b:
            drift.append(Drift(op, "responses", _delta(codes_b, codes_a, str)))
        for code in sorted(codes_a & codes_b):
            if not code.startswith("2"):
                continue
            got = _fields(target, _json_schema(a["responses"][code]))
            want = _fields(reference, _json_schema(b["responses"][code]))
            if got[0] != want[0]:
                drift.append(Drift(op, "fields", f"{code}: {_delta(want[0], got[0], str)}"))
    return sorted(drift, key=lambda d: (d.operation.split(" ", 1)[1], d.operation, d.kind))


def _delta(expected: set[Any], got: set[Any], show: Any) -> str:
    parts = []
    if expected - got:
        parts.append("target lacks " + ", ".join(sorted(show(x) for x in expected - got)))
    if got - expected:
        parts.append("target adds " + ", ".join(sorted(show(x) for x in got - expected)))
    return "; ".join(parts)


def _fields_delta(expected: tuple[set[str], set[str]], got: tuple[set[str], set[str]]) -> str:
    parts = [_delta(expected[0], got[0], str)] if expected[0] != got[0] else []
    if expected[1] != got[1]:
        parts.append("required: " + _delta(expected[1], got[1], str))
    return "; ".join(p for p in parts if p)
