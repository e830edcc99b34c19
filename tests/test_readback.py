"""Read-back and exact deletions catch behavioural mutants of the fake they were not written against.

Each mutant (tests/mutants_readback.py) changes one rule of one fake; the contract suite runs against
it in a child process (all of them in one child: `tests.test_contracts._batch`), only the contracts that
should catch it, without shrinking, and must fail naming the write, the read and the field (or the
deletion and what it lost or left). The units below pin the helpers' rules on their own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_contracts import SEQUENCE, _batch, stdout_of

# (mutant, the contract module that catches it, the culprit its FAILED line or failure output must show)
MUTANTS = [
    ("domain_loses_a_feature", SEQUENCE, r"FAILED .*read-back after POST /domains/ 201, .*\(domain_created\(.*\)\): "
                                         r"GET /domains/\S+: `features` reads \['webmail', 'mailbox'\], expected "
                                         r"\['alias', 'mailbox', 'webmail'\] \(any order\)"),
    ("mailbox_names_swapped", SEQUENCE, r"FAILED .*read-back after POST /domains/\S+/mailboxes/(\w+) 201 .*: "
                                        r"GET /domains/\S+/mailboxes/\1: `givenName` reads '(\w+)', expected '(\w+)'; "
                                        r"`surName` reads '\3', expected '\2'"),
    ("address_misses_mailboxes", SEQUENCE, r"FAILED .*read-back after POST /domains/\S+/mailboxes/(\w+) 201 .*: "
                                           r"GET /domains/\S+/address/\1: `is_mailbox` reads False, expected True"),
    ("revoke_takes_every_domain", SEQUENCE, r"FAILED .*exact deletion, DELETE /allows/(\S+)/(\S+) 204 .*: GET /allows/ "
                                            r"lost \[\('\2', '(?!\1)\S+'\)\] \(neighbours the deletion does not name\)"),
    ("every_destination_leaves_one", SEQUENCE, r"FAILED .*exact deletion, DELETE /domains/(\S+)/aliases/(\w+)/all 204: "
                                               r"GET /domains/\{d\}/aliases/ still shows \[\('\1', '\2', '\S+'\)\]"),
    ("user_deletion_keeps_allows", SEQUENCE, r"FAILED .*exact deletion, DELETE /users/(\S+) 204 .*: GET /allows/ "
                                             r"still shows \[\('\1', "),
]


def test_each_mutant_fails_the_suite_naming_the_write_the_read_and_the_field(tmp_path: Path) -> None:
    runs = _batch({f"{mutant}@{module}": ((module,), ("--dimail-app", f"tests.mutants_readback:{mutant}",
                                                      "--dimail-no-shrink"), str(tmp_path / f"{mutant}@{module}"))
                   for mutant, module, _ in MUTANTS}, tmp_path)
    missed = []
    for mutant, module, culprit in MUTANTS:
        run = runs[f"{mutant}@{module}"]
        if run.returncode != 1 or "verdict: NOT compatible" not in run.stdout or not re.search(culprit, run.stdout):
            missed.append(f"{mutant} against {module}: exit {run.returncode}, culprit {culprit!r} not shown:\n"
                          f"{stdout_of(run)}")
    assert not missed, "\n\n".join(missed)


def test_the_stateful_read_back_names_what_a_generated_write_does_not_read_back_as() -> None:
    """What the linked schema scenarios do after each 2xx (`Written.after`), without schemathesis' cost:
    a v2 mailbox written with names, read back from a fake that swaps them."""
    from contracts.expect import ContractBroken
    from contracts.readback import ReadBack
    from contracts.target import Target, in_process
    from contracts.written import Written
    from tests.mutants_readback import mailbox_names_swapped

    with in_process(mailbox_names_swapped) as (url, transport, _):
        target = Target(url, ("admin", "admin"), ("la_regie", "password"), transport=transport)
        target.load_openapi()
        written = Written(ReadBack(target))
        domain = {"name": "readback.test", "context_name": "readback.test", "features": ["webmail", "mailbox"],
                  "smtp_domain": "", "public_alias": True}
        answer = target.call("POST", "/domains/", auth=target.people, json=domain)
        assert answer.status_code == 201, answer.text
        written.after("POST", "/domains/", "/domains/", domain, answer.json(), answer.status_code)
        box = {"features": ["ox"], "extras": {"ox": {"given_name": "Jeanne", "sur_name": "Contrat",
                                                     "display_name": "Jeanne Contrat"}}, "quota": "1G"}
        path = "/v2/domains/readback.test/mailboxes/jeanne"
        answer = target.call("POST", path, bearer=target.token(), json=box)
        assert answer.status_code == 201, answer.text
        with pytest.raises(ContractBroken) as caught:
            written.after("POST", "/v2/domains/{domain_name}/mailboxes/{user_name}", path, box, answer.json(), 201)
        target.close()
    assert str(caught.value) == (
        "read-back after POST /v2/domains/readback.test/mailboxes/jeanne 201: GET "
        "/domains/readback.test/mailboxes/jeanne: `givenName` reads 'Contrat', expected 'Jeanne'; `surName` reads "
        "'Jeanne', expected 'Contrat'")
    assert (written.checked, written.rb.reads) == (1, 4)  # the domain read back (3 reads), then the v1 GET


# --- the helpers' rules ------------------------------------------------------------------------


def test_exactly_removed_names_what_stayed_what_went_too_and_what_appeared() -> None:
    from contracts.expect import ContractBroken
    from contracts.readback import exactly_removed

    exactly_removed("DELETE x", "GET y", {1, 2, 3}, {2, 3}, {1})
    with pytest.raises(ContractBroken) as caught:
        exactly_removed("DELETE /allows/d1/u", "GET /allows/", {("u", "d1"), ("u", "d2"), ("v", "d1")},
                        {("v", "d1"), ("w", "d1")}, {("u", "d1")})
    assert str(caught.value) == ("exact deletion, DELETE /allows/d1/u: GET /allows/ lost [('u', 'd2')] (neighbours "
                                 "the deletion does not name); gained [('w', 'd1')]")
    with pytest.raises(ContractBroken, match=r"still shows \[1\] \(what the deletion names, or hangs on it\)$"):
        exactly_removed("DELETE x", "GET y", {1, 2}, {1, 2}, {1})


def test_list_edit_is_dimails_rule_and_mismatches_compare_unordered_lists_as_sets() -> None:
    from contracts.readback import AsSet, list_edit, mismatches

    assert list_edit({"a", "b"}, ["+c", "-a"]) == {"b", "c"}
    assert list_edit({"a"}, ["x", "y", "x"]) == {"x", "y"}
    assert list_edit({"a"}, []) == set()
    assert list_edit({"a"}, ["+b", "c"]) is None  # a mix is refused
    got = {"features": ["mailbox", "webmail"], "extras": {"ox": {"given_name": "Jean"}}, "valid": 1}
    assert mismatches(got, {"features": AsSet(["webmail", "mailbox"]), "extras.ox.given_name": "Jean"}) == []
    assert mismatches(got, {"features": AsSet(["webmail"]), "extras.ox.sur_name": "Dupont", "valid": True}) == [
        "`features` reads ['mailbox', 'webmail'], expected ['webmail'] (any order)",
        "`extras.ox.sur_name` is missing, expected 'Dupont'",
        "`valid` reads 1, expected True",
    ]
