"""Schema conformance with schemathesis: generated requests, answers checked against the target's own OpenAPI.

One contract per operation the fake knows (operations the target adds show in the drift report).
Checks: declared status code, declared content type, body matching the declared schema, and no
5xx — except dimail's documented quirks (QUIRKS), which are excused and named. Requests carry
valid credentials (admin's when given, else People's); `test_rules.py` covers refusals.

Against a target that is not a fake, only reading operations run: generated bodies would write
random data outside the run's prefix (`--dimail-schema-writes` forces them).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .drift import reference_openapi
from .expect import ContractBroken
from .plugin import examples, quick
from .target import Target

pytestmark = pytest.mark.contract("schema")

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# (method, path template, status) -> why dimail answers it although its document does not say so.
QUIRKS: dict[tuple[str, str, int], str] = {
    ("POST", "/domains/{domain_name}/mailboxes/{user_name}", 500): "duplicate mailbox (CONTRACT §6 #3)",
    ("POST", "/v2/domains/{domain_name}/mailboxes/{user_name}", 500): "duplicate mailbox (CONTRACT §6 #3)",
    ("GET", "/domains/{domain_name}/aliases/", 412): "alias read by destination only (CONTRACT §6 #13)",
    ("DELETE", "/allows/{domain_name}/{user_name}", 403): "refusal v0.8.2 does not declare here (CONTRACT §4.3, inferred: kept like every other Basic route)",
}
TEXT_422 = "422 with a text detail (e.g. a feature the domain lacks) where the document declares the list (CONTRACT §1.4)"
UNPARSABLE = "FastAPI's 400 for a body it cannot decode (framework behaviour dimail shares, undeclared)"


def excused(method: str, path: str, answer: Any) -> str | None:
    """Why this answer, though undeclared, is what dimail gives; None when it is not excused."""
    quirk = QUIRKS.get((method, path, answer.status_code))
    if quirk is None and answer.status_code == 400 and answer.content == b'{"detail":"There was an error parsing the body"}':
        quirk = UNPARSABLE
    if quirk is None and answer.status_code == 422 and isinstance(_detail(answer), str):
        quirk = TEXT_422
    return quirk


def _detail(answer: Any) -> Any:
    try:
        return answer.json().get("detail")
    except (ValueError, AttributeError):
        return None


OPERATIONS = sorted((m.upper(), p) for p, item in reference_openapi()["paths"].items() for m in item
                    if m in ("get", "post", "put", "patch", "delete"))


@pytest.fixture(scope="session")
def target_schema(dimail: Target) -> Any:
    return schemathesis.openapi.from_dict(dimail.openapi)


@pytest.fixture(scope="session")
def auth_headers(dimail: Target) -> dict[str, str]:
    basic = dimail.admin or dimail.people
    token = dimail.call("GET", "/token/", auth=basic).json()["access_token"]
    return {"BasicUser": "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode(),
            "TokenUser": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms(dimail: Target, target_schema: Any, auth_headers: dict[str, str],
                            request: pytest.FixtureRequest, method: str, path: str) -> None:
    if dimail.lacks((method, path)):
        pytest.skip(f"the target does not declare {method} {path}")
    if method != "GET" and not dimail.steerable and not request.config.getoption("--dimail-schema-writes"):
        pytest.skip(f"{method} {path} writes: generated bodies would leave random data on a real dimail "
                    "(--dimail-schema-writes to run it anyway)")
    operation = target_schema[path][method]
    schemes = {name for requirement in operation.definition.raw.get("security", []) for name in requirement}
    seen_quirks: set[str] = set()

    @settings(max_examples=examples(request.config), deadline=None, database=None,
              derandomize=quick(request.config), suppress_health_check=list(HealthCheck), print_blob=False)
    @given(case=operation.as_strategy())
    def conforms(case: schemathesis.Case) -> None:
        sent = case.as_transport_kwargs(base_url=dimail.url)
        headers = {k: v for k, v in (sent.get("headers") or {}).items() if k.lower() != "authorization"}
        for scheme in ("TokenUser", "BasicUser"):
            if scheme in schemes:
                headers["Authorization"] = auth_headers[scheme]
                break
        url = sent["url"][len(dimail.url):] or "/"
        answer = dimail.call(sent["method"], url, params=sent.get("params") or None, headers=headers,
                             **{k: sent[k] for k in ("json", "content", "data") if k in sent})
        answer.read()
        quirk = excused(method, path, answer)
        if quirk is not None:
            seen_quirks.add(quirk)
            return
        case.validate_response(answer, checks=CHECKS)

    try:
        conforms()
    except BaseException as failure:  # schemathesis raises exception groups
        if isinstance(failure, (KeyboardInterrupt, pytest.skip.Exception)):
            raise
        lines = [line for line in str(failure).splitlines() if line.strip()][:12]
        raise ContractBroken(f"{method} {path}: " + " | ".join(lines)) from None
    if seen_quirks:
        request.node.user_properties.append(("quirks", sorted(seen_quirks)))

