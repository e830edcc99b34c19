"""The drift report: a target's OpenAPI against the fake's, on the real documents we hold."""

from __future__ import annotations

import json

from contracts.drift import Drift, compare, reference_openapi
from tests.conftest import REFERENCE


def load(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text())


def test_v082_has_no_drift_from_the_fake() -> None:
    """The fake implements every operation of v0.8.2, as the document declares it."""
    assert compare(load("openapi-v0.8.2.json"), reference_openapi()) == []


def test_the_fake_against_itself_has_no_drift() -> None:
    reference = reference_openapi()
    assert compare(reference, reference) == []


def test_an_older_dimail_shows_missing_operations_and_changed_bodies() -> None:
    drift = compare(load("openapi-2024-73f4223.json"), reference_openapi())
    by_op = {(d.operation, d.kind): d.detail for d in drift}
    assert by_op[("POST /domains/", "parameters")] == "target lacks no_check in query"
    assert by_op[("DELETE /domains/{domain_name}", "missing")] == "declared by the fake, absent from the target"
    assert "target adds imap_domains, mailbox_domain, smtp_domains" in by_op[("POST /domains/", "request")]


def test_a_removed_field_and_parameter_are_named() -> None:
    reference = reference_openapi()
    changed = json.loads(json.dumps(reference))
    del changed["paths"]["/token/"]["get"]["parameters"][0]
    del changed["paths"]["/allows/{domain_name}/{user_name}"]
    drift = compare(changed, reference)
    assert Drift("DELETE /allows/{domain_name}/{user_name}", "missing",
                 "declared by the fake, absent from the target") in drift
    assert [d.kind for d in drift if d.operation == "GET /token/"] == ["parameters"]
    assert "target lacks" in next(d.detail for d in drift if d.operation == "GET /token/")
