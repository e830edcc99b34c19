"""The document a differential run judges its differences against (`--dimail-reference FILE`).

A difference is *declared* when the reference declares both answers for the
operation: the status among its responses and, where that response has a JSON
schema, a body that matches it. A client written against the reference then
copes with either target: the difference is one the document allows (a version
difference, such as the 401 newer FastAPI answers where the 2024 server
answered 403). Otherwise it is *undeclared*: at least one target answers what
the reference does not say.

The default reference is dimail v0.8.2's document as the fake serves it
(without its `/_fake/` control plane); `tests/test_openapi.py` holds it
structurally equal to dimail's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")


def reference_problem(path: str) -> str | None:
    """What makes `path` unusable as a reference document, in a few words; None when it is fine."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "no such file"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot be read ({exc})"
    except ValueError as exc:
        return f"is not JSON ({exc})"
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        return "is not an OpenAPI document (no `paths`): give dimail's /openapi.json, saved"
    return None


@dataclass
class Reference:
    label: str
    document: dict[str, Any]
    _validators: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | None) -> Reference:
        if path is None:
            from .drift import reference_openapi

            return cls("dimail v0.8.2 (the fake's document)", reference_openapi())
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        info = document.get("info", {})
        return cls(f"{path} ({info.get('title', '?')} {info.get('version', '?')})", document)

    @property
    def operations(self) -> set[tuple[str, str]]:
        return {(m.upper(), p) for p, item in self.document.get("paths", {}).items() for m in item if m in METHODS}

    def undeclared(self, method: str, template: str, status: int, body: Any, is_json: bool) -> str | None:
        """Why the reference does not declare this answer of the operation; None when it does."""
        operation = self.document.get("paths", {}).get(template, {}).get(method.lower())
        if operation is None:
            return f"{method} {template} is not in the reference"
        responses = operation.get("responses", {})
        code = next((c for c in (str(status), f"{str(status)[0]}XX", "default") if c in responses), None)
        if code is None:
            return f"{status} is not among its responses ({', '.join(sorted(responses))})"
        schema = responses[code].get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return None
        if not is_json:
            return f"{status}: the body is not the JSON the reference declares"
        if not self._validator(method, template, code, schema).is_valid(body):
            return f"{status}: the body does not match the schema the reference declares"
        return None

    def judge(self, difference: Any) -> None:
        """Declared when the reference declares both answers (`differential.Difference`); else say why not."""
        reasons = [f"{side}: {why}" for side, x in (("A", difference.first.a[-1]), ("B", difference.first.b[-1]))
                   if (why := self.undeclared(x.method, x.operation, x.status, x.data, x.is_json))]
        difference.declared, difference.why = not reasons, "; ".join(reasons)

    def _validator(self, method: str, template: str, code: str, schema: dict[str, Any]) -> Any:
        key = (method, template, code)
        if key not in self._validators:
            import jsonschema_rs  # schemathesis' validator, installed with the test extras

            # The document's components travel with the schema, so that its `$ref`s resolve.
            whole = {**schema, "components": self.document.get("components", {})}
            try:
                self._validators[key] = jsonschema_rs.validator_for(whole)
            except Exception:  # a schema the validator cannot take: judged on the status alone
                self._validators[key] = _AnyBody()
        return self._validators[key]


class _AnyBody:
    @staticmethod
    def is_valid(_: Any) -> bool:
        return True
