"""`make mutation`'s tool works: its mutants are deterministic, one applied by the import hook is killed by the
contract that guards its rule (and the working tree is untouched), one of the fake's own code by the fake's own
test of it, its reviewed lists (equivalents, the fake-only scope) name what exists, and the page is what the
generator writes from the committed report."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from mutation.__main__ import PAGE, REPORT, _sample, build
from mutation.mutants import (
    OPERATORS,
    PACKAGE,
    SELECTED,
    Mutant,
    Scope,
    fake_only,
    generate,
    mutants_of,
    mutated_code,
    sample,
    scope_of,
)
from mutation.page import page
from mutation.run import KILLER, Outcome, _killer, equivalents, killer_of, left_open

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
    assert {m.module for m in everything} == set(SELECTED)
    scopes = fake_only()
    both = _sample(everything, scopes, 160, 60, 18)
    assert sum(1 for m in both if scope_of(m, scopes) is None) == 160
    assert sum(1 for m in both if scope_of(m, scopes) is not None) == 60


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
    known = {m.id for m in generate(SELECTED)}
    assert sorted((set(equivalent) | set(no_contract)) - known) == []
    assert not set(equivalent) & set(no_contract)
    assert all(len(reason) > 40 for reason in [*equivalent.values(), *no_contract.values()])


def test_the_report_sorts_outcomes_and_scores_the_non_equivalent_of_each_scope() -> None:
    m = [Mutant(f"x.py::f:negate#{i}", "x.py", "f", "negate", i, "a", "b", i, 0) for i in range(1, 5)]
    own = [Mutant(f"y.py::C.g:negate#{i}", "y.py", "C.g", "negate", i, "a", "b", i, 0) for i in range(1, 4)]
    scopes = {"y.py::C.g": Scope("y.py::C.g", "the fake's control plane", ("tests/test_y.py",))}
    report = build({"timeout_seconds": 90}, [(m[0], Outcome("killed", 1.0, "test_a: boom", 1)),
                                             (m[1], Outcome("survived", 2.0, exit_status=0)),
                                             (m[2], Outcome("survived", 2.0, exit_status=0)),
                                             (m[3], Outcome("timed out", 90.0)),
                                             (own[0], Outcome("killed", 1.0, "test_y: boom", 1)),
                                             (own[1], Outcome("killed", 1.0, "test_y: boom", 1)),
                                             (own[2], Outcome("survived", 1.0, exit_status=0))],
                   {m[2].id: "no client sees it"}, {m[1].id: "the fake's own"}, scopes=scopes)
    assert report["counts"] == {"killed": 1, "timed out": 1, "survived": 1, "equivalent": 1}
    assert (report["score"], report["total"]) == (66.7, 4)
    assert report["fake_only"] == {"counts": {"killed": 2, "timed out": 0, "survived": 1, "equivalent": 0},
                                   "total": 3, "score": 66.7}
    assert [e["scope"] for e in report["mutants"]] == ["dimail"] * 4 + ["fake"] * 3
    assert [e.get("verdict") for e in report["mutants"]][:4] == [None, "blind spot", "equivalent", None]
    assert [e.get("reason") for e in report["mutants"]][:4] == [None, "the fake's own", "no client sees it", None]
    assert _killer("x\nFAILED test_authz.py::test_authorization[GET /token/]: ContractBroken: 1 cell\n", 1) == \
        "test_authorization[GET /token/]: ContractBroken: 1 cell"


def test_the_scope_list_names_code_that_exists_and_tests_that_exist() -> None:
    """Every entry of mutation/scope.toml is a module or function that has mutants, judged by test files that
    exist; the most specific entry wins, nested functions included; the killer follows the scope."""
    scopes = fake_only()
    everything = generate(SELECTED)
    used = {scope_of(m, scopes).key for m in everything if scope_of(m, scopes) is not None}  # type: ignore[union-attr]
    assert sorted(set(scopes) - used) == []
    for entry in scopes.values():
        assert entry.tests and all((ROOT / t).is_file() and t.startswith("tests/test_") for t in entry.tests), entry
        assert len(entry.reason) > 40, entry.key
    probe = Mutant("backend/system.py::System.set_moving.inner:negate#1", "backend/system.py",
                   "System.set_moving.inner", "negate", 1, "a", "b", 0, 0)
    assert scope_of(probe, scopes) is scopes["backend/system.py::System.set_moving"]
    rule = Mutant("backend/system.py::System.health_check:negate#1", "backend/system.py", "System.health_check",
                  "negate", 1, "a", "b", 0, 0)
    assert scope_of(rule, scopes) is None and killer_of(None) == KILLER
    assert killer_of(scopes["backend/persistence.py"])[:2] == ("tests/test_persistence.py", "-q")


def test_a_mutant_of_the_fake_s_own_code_is_killed_by_its_own_test() -> None:
    """`try` runs a fake-only mutant against its scope's tests by default: a `-x` on a repeated value that removes
    every copy fails tests/test_list_repeats.py (and the unmutated code passes it, in test_list_repeats itself)."""
    run = subprocess.run([sys.executable, "-m", "mutation", "try",
                          "backend/base.py::_edit_with_duplicates:condition-false#2"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1, run.stdout[-3000:]
    assert "test_list_repeats.py" in run.stdout and "failed" in run.stdout


def test_the_page_is_what_the_generator_writes_from_the_report() -> None:
    report = json.loads(REPORT.read_text())
    assert PAGE.read_text() == page(report), "docs/contracts/mutation.md is stale: python -m mutation page"
    for scope, figure in (("dimail", report), ("fake", report["fake_only"])):
        entries = [e for e in report["mutants"] if e["scope"] == scope]
        assert figure["total"] == len(entries)
        assert figure["counts"]["survived"] == sum(1 for e in entries if e.get("verdict") == "blind spot")
    equivalent, no_contract = equivalents(), left_open()
    for entry in report["mutants"]:  # the report applied the reviewed lists as they stand
        if entry["outcome"] == "survived":
            assert entry["verdict"] == ("equivalent" if entry["id"] in equivalent else "blind spot"), entry["id"]
            assert entry.get("reason") == equivalent.get(entry["id"], no_contract.get(entry["id"])), entry["id"]
