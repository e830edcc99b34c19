"""The lifecycle contracts catch the check mutants of the fake, and judge what they can on a real dimail.

Mutants (tests/mutants_readback.py) run against `contracts.test_lifecycle` in one child process
(`tests.test_contracts._batch`): a `/spec` naming the DKIM record under a selector the check does not
read, an `mx` check blind to the DNS, and, on a target without `/_fake/` (as a real dimail looks), a
`/spec` whose DKIM key nobody can use; the fake itself without steering gets "not judged", with reasons.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.test_contracts import _batch, stdout_of

LIFECYCLE = "contracts.test_lifecycle"
# (mutant, the culprit its output must show, the lifecycle counts of its report)
MUTANTS = [
    ("spec_names_another_selector",
     r"FAILED contracts/test_lifecycle.py::test_publishing_exactly_the_spec_makes_the_domain_valid\[people-domain\]: "
     r"contracts.expect.ContractBroken: GET /domains/(\S+)/check: with exactly the records GET /domains/\1/spec "
     r"answers published, /check fails external checks: \{'dkim': \[\{'code': 'no_dkim', 'detail': 'Il faut un "
     r"DKIM record, avec la bonne clef'\}\]\}: /spec promises what dimail does not check",
     {"passed": 4, "failed": 2, "skipped": 40, "blocked": 0}),
    ("mx_blind_to_dns",
     r"FAILED contracts/test_lifecycle.py::test_one_record_changed_fails_exactly_its_check\[people-domain-mx-removed\]: "
     r"contracts.expect.ContractBroken: GET /domains/(\S+)/check, the MX record at \1 removed: `mx` is ok=True, "
     r"expected false; state 'ok', valid True, expected 'broken', false",
     {"passed": 42, "failed": 4, "skipped": 0, "blocked": 0}),
    ("unsteerable_spec_with_a_broken_key",
     r"FAILED contracts/test_lifecycle.py::test_spec_is_self_consistent\[people-domain\]: contracts.expect.ContractBroken: /spec of "
     r"\S+: the DKIM key p= is not a base64 DER public key",
     {"passed": 2, "failed": 2, "skipped": 42, "blocked": 0}),
]


def test_check_mutants_fail_naming_the_check_and_a_real_dimail_gets_not_judged(tmp_path: Path) -> None:
    runs = _batch({
        **{mutant: ((LIFECYCLE,), ("--dimail-app", f"tests.mutants_readback:{mutant}", "--dimail-report",
                                   str(tmp_path / mutant)), str(tmp_path / f"{mutant}-run"))
           for mutant, _, _ in MUTANTS},
        "without_steering": ((LIFECYCLE,), ("--dimail-app", "tests.mutants:without_steering", "--dimail-report",
                                            str(tmp_path / "unsteered")), str(tmp_path / "unsteered-run")),
    }, tmp_path)
    missed = []
    for mutant, culprit, counts in MUTANTS:
        run, report = runs[mutant], json.loads((tmp_path / f"{mutant}.json").read_text())
        if run.returncode != 1 or not re.search(culprit, run.stdout) or report["families"]["lifecycle"] != counts:
            missed.append(f"{mutant}: exit {run.returncode}, counts {report['families']['lifecycle']}, culprit "
                          f"{culprit!r}:\n{stdout_of(run)}")
    assert not missed, "\n\n".join(missed)

    # The fake as a real dimail looks: what needs DNS or dimail's own side is not judged, each with its reason.
    run = runs["without_steering"]
    assert run.returncode == 0, stdout_of(run)
    report = json.loads((tmp_path / "unsteered.json").read_text())
    assert report["families"]["lifecycle"] == {"passed": 4, "failed": 0, "skipped": 42, "blocked": 0}
    passed = sorted(r["nodeid"].split("::")[1] for r in report["results"] if r["outcome"] == "passed")
    assert passed == [f"{test}[{domain}-domain]" for test in ("test_an_unpublished_domain_fails_domain_exist_alone",
                                                               "test_spec_is_self_consistent")
                      for domain in ("bare", "people")]
    reasons = {r["nodeid"].split("::")[1]: r["message"] for r in report["results"] if r["outcome"] == "skipped"}
    assert reasons["test_one_record_changed_fails_exactly_its_check[people-domain-dkim-altered]"] == (
        "not judged on this dimail: whether `dkim` fails alone, with dimail's code and text, once its record is "
        "altered needs publishing DNS records, which the suite can do on the fake only (/_fake/dns)")
    assert reasons["test_an_internal_failure_is_exactly_its_check_and_fix_repairs_it[bare-domain-postfix]"] == (
        "not judged on this dimail: whether `postfix` fails alone when dimail's side of the domain breaks, and /fix "
        "repairs it needs breaking that side, which only the fake lets a client do (/_fake/domains/{d}/platform)")
    assert all(reason.startswith("not judged on this dimail: whether ") for reason in reasons.values()), reasons
    markdown = (tmp_path / "unsteered.md").read_text()
    assert "| Domain checks through the API (what /spec promises, each check) | 4 | 0 | 42 | 0 |" in markdown
