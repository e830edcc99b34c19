"""The OpenAPI links the contract suite adds for its stateful runs (contracts/links.py)."""

from __future__ import annotations

import copy
import json

import pytest
import schemathesis

from contracts.drift import reference_openapi
from contracts.links import LINKS, chain_operations, linked
from tests.conftest import REFERENCE

METHODS = ("get", "post", "put", "patch", "delete")
OTHER = "box@ct01-d2.contract.test"  # the run's other mailbox, for the secondary-account link


def operations(document: dict) -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, item in document["paths"].items() for m in item if m in METHODS}


def links_of(document: dict) -> dict[str, dict]:
    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for code, response in operation.get("responses", {}).items() if method in METHODS else ():
                for name, link in response.get("links", {}).items():
                    found[f"{method.upper()} {path} {code} {name}"] = link
    return found


def test_every_link_lands_on_the_fakes_document_with_the_member_filled_in() -> None:
    document, added = linked(reference_openapi(), "ct01-u1", "box@ct01-d2.contract.test")
    assert added == list(LINKS)
    assert operations(document) == chain_operations()
    found = links_of(document)
    assert len(found) == len(LINKS) == 47
    assert found["POST /domains/ 201 L00"] == {
        "operationId": document["paths"]["/allows/"]["post"]["operationId"],
        "requestBody": {"domain": "$response.body#/name", "user": "ct01-u1"}}
    assert found["POST /allows/ 201 L10"]["parameters"] == {"domain_name": "$response.body#/domain"}
    mailbox = "POST /v2/domains/{domain_name}/mailboxes/{user_name} 201"
    assert found[f"{mailbox} L15"] == {
        "operationId": "post_master",
        "parameters": {"domain_name": "$request.path.domain_name", "user_name": "$request.path.user_name",
                       "secondary_email": "box@ct01-d2.contract.test"}}
    assert found[f"{mailbox} L13"]["requestBody"] == {
        "proconnect": "ct01-u1", "email": "$response.body#/email", "password": "$response.body#/password"}
    # after a reset, the new password links the identity as the first one did
    reset = "POST /domains/{domain_name}/mailboxes/{user_name}/reset_password 200"
    assert found[f"{reset} L46"] == {
        "operationId": "post_identity",
        "requestBody": {"proconnect": "ct01-u1", "email": "$response.body#/email",
                        "password": "$response.body#/password"}}


def test_the_target_document_is_not_changed() -> None:
    original = reference_openapi()
    kept = copy.deepcopy(original)
    linked(original, "m", OTHER)
    assert original == kept


def test_a_target_lacking_an_operation_loses_only_the_links_to_it() -> None:
    document = reference_openapi()
    del document["paths"]["/allows/"]["post"]
    trimmed, added = linked(document, "m", OTHER)
    assert ("POST", "/allows/") not in operations(trimmed)
    assert all("/allows/" not in link.target[1] or link.target[0] != "POST" for link in added)
    assert all(link.source[:2] != ("POST", "/allows/") for link in added)
    # domain → allow, and the allow's three onward links, are gone; the rest stay
    assert len(added) == len(LINKS) - 4
    assert ("GET", "/allows/") in operations(trimmed)


def test_schemathesis_reads_the_links_as_transitions() -> None:
    document, added = linked(reference_openapi(), "m", OTHER)
    schema = schemathesis.openapi.from_dict(document)
    schema.config.phases.stateful.inference.algorithms = []
    assert schema.statistic.transitions.total == len(added)
    machine = schema.as_state_machine()
    rules = [name for name in vars(machine) if "_L" in name]
    assert len(rules) == len(added)
    # the chain is first in its source's name order, which hypothesis tries first
    assert min(r for r in rules if r.startswith("POST_domains___201")).endswith("POST_allows_")
    assert min(r for r in rules if r.startswith("POST_allows___201")).endswith("POST_v2_domains_domain_name_mailboxes_user_name_")


def test_the_real_v082_document_takes_every_link() -> None:
    _, added = linked(json.loads((REFERENCE / "openapi-v0.8.2.json").read_text()), "m", OTHER)
    assert added == list(LINKS)


@pytest.mark.parametrize(("name", "kept"), [("openapi-2024-71bdf83.json", 10), ("openapi-2024-73f4223.json", 9)])
def test_the_2024_documents_keep_the_links_they_can(name: str, kept: int) -> None:
    document = json.loads((REFERENCE / name).read_text())
    trimmed, added = linked(document, "m", OTHER)
    assert len(added) == kept
    v2 = ("POST", "/v2/domains/{domain_name}/mailboxes/{user_name}")
    assert v2 not in operations(document) and v2 not in operations(trimmed)
    assert all(v2 not in (link.source[:2], link.target) for link in added)
    assert LINKS[0] in added  # domain → allow: the heart of People's sequence
    assert len(links_of(trimmed)) == kept
