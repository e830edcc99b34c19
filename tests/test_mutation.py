"""`make mutation`'s tool works: its mutants are deterministic, one applied by the import hook is killed by the
contract that guards its rule (and the working tree is untouched), its reviewed equivalents exist, and the
page is what the generator writes from the committed report."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from mutation.__main__ import PAGE, REPORT, build
from mutation.mutants import EXCLUDED, OPERATORS, PACKAGE, SELECTED, Mutant, generate, mutants_of, mutated_code, sample
from mutation.page import page
from mutation.run import Outcome, _killer, equivalents, left_open

ROOT = Path(__file__).resolve().parents[1]
SOURCE = '''
def rule(caller, store, name):
    if not caller.is_admin and name not in store:
        raise Refused()
    del store[name]
    store.log.append(name)
    return [n for n in store if n > 0]
'''


def test_each_operator_makes_the_change_it_names() -> None:
    made = {(m.operator, m.before, m.after) for m in mutants_of("x.py", SOURCE)}
    assert ("and-or", "not caller.is_admin and name not in store", "not caller.is_admin or name not in store") in made
    assert ("compare-flip", "name not in store", "name in store") in made
    assert ("negate", "not caller.is_admin", "caller.is_admin") in made
    assert ("condition-true", "if not caller.is_admin and name not in store:", "if True:") in made
    assert ("raise-pass", "raise Refused()", "pass") in made
    assert ("drop-statement", "del store[name]", "pass") in made
    assert ("drop-statement", "store.log.append(name)", "pass") in made
    assert ("return-constant", "return [n for n in store if n > 0]", "return []") in made
    assert ("off-by-one", "n > 0", "n >= 0") in made and ("off-by-one", "0", "1") in made
    # `if False: raise` is raise-pass's program: not made twice
    assert not any(op == "condition-false" and "is_admin" in before for op, before, _ in made)
    assert {op for op, _, _ in made} <= set(OPERATORS)


def test_mutants_and_the_sample_are_deterministic_and_stratified() -> None:
    everything = generate()
    assert everything == generate() and len({m.id for m in everything}) == len(everything)
    chosen = sample(everything, 160, 18)
    assert chosen == sample(everything, 160, 18) and len(chosen) == 160
    assert chosen != sample(everything, 160, 19)
    for key in {(m.module, m.operator) for m in everything}:  # each stratum gets its share, within one
        share = 160 * sum(1 for m in everything if (m.module, m.operator) == key) / len(everything)
        assert abs(sum(1 for m in chosen if (m.module, m.operator) == key) - share) < 1, key
    assert {m.module for m in everything} == set(SELECTED) and not set(EXCLUDED) & set(SELECTED)


def test_a_mutant_compiles_to_its_change_and_nothing_else() -> None:
    [mutant] = [m for m in generate(("backend/users.py",))
                if m.id == "backend/users.py::Users.authenticate_basic:raise-pass#1"]
    original = (PACKAGE / mutant.module).read_text()
    code = mutated_code(mutant)
    assert code.co_filename == str(PACKAGE / mutant.module)
    tree, changed = ast.parse(original), ast.parse(ast.unparse(ast.parse(original)))
    assert ast.dump(tree) == ast.dump(changed)  # the comparison below is fair
    assert (PACKAGE / mutant.module).read_text() == original  # never written


def test_a_known_mutant_is_killed_by_the_contract_of_its_rule() -> None:
    """A wrong password accepted: the rules family's wrong-credentials contract fails on the mutant, in a child
    process whose import hook serves it, and passes on the working tree."""
    args = ["--pyargs", "contracts.test_rules", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            "-W", "ignore::pytest.PytestAssertRewriteWarning", "-k", "wrong_credentials and token"]
    runs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for command in ([sys.executable, "-m", "mutation", "try",
                             "backend/users.py::Users.authenticate_basic:raise-pass#1", *args],
                            [sys.executable, "-m", "pytest", *args])]  # both at once: each is mostly start-up
    (mutant, _), (unmutated, _) = (run.communicate(timeout=120) for run in runs)
    assert runs[0].returncode == 1, mutant[-3000:]
    assert "test_rules.py::test_wrong_credentials_are_403_permission_denied[GET /token/]" in mutant
    assert "verdict: NOT compatible" in mutant
    assert runs[1].returncode == 0, unmutated[-3000:]


def test_the_reviewed_survivors_name_existing_mutants_with_a_reason() -> None:
    equivalent, no_contract = equivalents(), left_open()
    known = {m.id for m in generate(SELECTED + tuple(EXCLUDED))}
    assert sorted((set(equivalent) | set(no_contract)) - known) == []
    assert not set(equivalent) & set(no_contract)
    assert all(len(reason) > 40 for reason in [*equivalent.values(), *no_contract.values()])


def test_the_report_sorts_outcomes_and_scores_the_non_equivalent() -> None:
    m = [Mutant(f"x.py::f:negate#{i}", "x.py", "f", "negate", i, "a", "b", i, 0) for i in range(1, 5)]
    report = build({"timeout_seconds": 90}, [(m[0], Outcome("killed", 1.0, "test_a: boom", 1)),
                                             (m[1], Outcome("survived", 2.0, exit_status=0)),
                                             (m[2], Outcome("survived", 2.0, exit_status=0)),
                                             (m[3], Outcome("timed out", 90.0))], {m[2].id: "no client sees it"},
                   {m[1].id: "the fake's own"})
    assert report["counts"] == {"killed": 1, "timed out": 1, "survived": 1, "equivalent": 1}
    assert report["score"] == 66.7
    assert [e.get("verdict") for e in report["mutants"]] == [None, "blind spot", "equivalent", None]
    assert [e.get("reason") for e in report["mutants"]] == [None, "the fake's own", "no client sees it", None]
    assert _killer("x\nFAILED test_authz.py::test_authorization[GET /token/]: ContractBroken: 1 cell\n", 1) == \
        "test_authorization[GET /token/]: ContractBroken: 1 cell"


def test_the_page_is_what_the_generator_writes_from_the_report() -> None:
    report = json.loads(REPORT.read_text())
    assert PAGE.read_text() == page(report), "docs/contracts/mutation.md is stale: python -m mutation page"
    assert report["counts"]["survived"] == sum(1 for e in report["mutants"] if e.get("verdict") == "blind spot")
    equivalent, no_contract = equivalents(), left_open()
    for entry in report["mutants"]:  # the report applied the reviewed lists as they stand
        if entry["outcome"] == "survived":
            assert entry["verdict"] == ("equivalent" if entry["id"] in equivalent else "blind spot"), entry["id"]
            assert entry.get("reason") == equivalent.get(entry["id"], no_contract.get(entry["id"])), entry["id"]
