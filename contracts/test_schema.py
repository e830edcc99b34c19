"""Schema conformance with schemathesis: generated requests, answers checked against the target's own OpenAPI.

One contract per operation the fake knows (operations the target adds show in the drift report).
Checks: declared status code, declared content type, body matching the declared schema, and no
5xx — except dimail's documented quirks (`conformance.QUIRKS`), which are excused and named. Requests carry
valid credentials (admin's when given, else People's); `test_rules.py` covers refusals.

The operations that stop or move a platform (`conformance.PLATFORM`) are never sent without
`--dimail-system-writes`; with it, the shutdown is the run's last call, after the clean-up.

Against a target that is not a fake, only reading operations run: generated bodies would write
random data outside the run's prefix (`--dimail-schema-writes` forces them).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from .conformance import (
    CHECKS,
    DUPLICATE,
    PLATFORM,
    PLATFORM_SKIP,
    SHUTDOWN,
    authorization,
    excused,
    in_no_domain,
    send,
)
from .drift import reference_openapi
from .expect import ContractBroken
from .plugin import examples, platform_writes, quick
from .target import Target

pytestmark = pytest.mark.contract("schema")

OPERATIONS = sorted((m.upper(), p) for p, item in reference_openapi()["paths"].items() for m in item
                    if m in ("get", "post", "put", "patch", "delete"))


@pytest.fixture(scope="session")
def target_schema(dimail_target: Target) -> Any:
    return schemathesis.openapi.from_dict(dimail_target.openapi)


@pytest.fixture(scope="session")
def auth_headers(dimail_target: Target) -> dict[str, str]:
    return authorization(dimail_target, dimail_target.admin or dimail_target.people)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms(dimail_target: Target, target_schema: Any, auth_headers: dict[str, str],
                            request: pytest.FixtureRequest, method: str, path: str) -> None:
    if dimail_target.lacks((method, path)):
        pytest.skip(f"the target does not declare {method} {path}")
    if (method, path) in PLATFORM and not platform_writes(request.config):
        pytest.skip(f"{method} {path} {PLATFORM_SKIP}")
    if (method, path) == SHUTDOWN:
        # The last contract of the run (conftest orders it so): nothing can be deleted afterwards.
        dimail_target.cleanup()
    if method != "GET" and not dimail_target.steerable and not request.config.getoption("--dimail-schema-writes"):
        pytest.skip(f"{method} {path} writes: generated bodies would leave random data on a real dimail "
                    "(--dimail-schema-writes to run it anyway)")
    operation = target_schema[path][method]
    seen_quirks: set[str] = set()

    @settings(max_examples=1 if (method, path) == SHUTDOWN else examples(request.config), deadline=None, database=None,
              derandomize=quick(request.config), suppress_health_check=list(HealthCheck), print_blob=False)
    @given(case=operation.as_strategy())
    def conforms(case: schemathesis.Case) -> None:
        answer = send(dimail_target, case, auth_headers)
        quirk = excused(method, path, answer)
        if quirk == DUPLICATE and in_no_domain(dimail_target, case.path_parameters["domain_name"], auth_headers):
            quirk = None
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

