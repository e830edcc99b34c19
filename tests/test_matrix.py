"""The authorization matrix (contracts/matrix.py) and its two families: the data covers the document, the page
is what the data renders, every cell holds on the fake, and a fake whose rule is wrong in one place
(tests/mutants_matrix.py) breaks exactly the cells that rule decides, each named with its caller class and
both answers — through the library (`contracts.authz`) and through `pytest --pyargs contracts` itself."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from contracts import edits, matrix
from contracts.authz import RECIPES, World, judge
from contracts.conformance import PLATFORM
from contracts.target import Target, in_process
from tests import mutants_matrix
from tests.test_contracts import ROOT, _batch, stdout_of

DOCUMENT = ROOT / "reference" / "dimail" / "openapi-v0.8.2.json"
PAGE = ROOT / "docs" / "contracts" / "authorization-matrix.md"
ADMIN, PEOPLE = ("admin", "admin"), ("la_regie", "password")
_BOX = "POST /domains/{domain_name}/mailboxes/{user_name}"


# --- the data --------------------------------------------------------------------------------------------------

def test_the_matrix_has_a_row_for_every_secured_operation_of_the_document_with_its_scheme() -> None:
    paths = json.loads(DOCUMENT.read_text())["paths"]
    schemes = {(method.upper(), path): {name for requirement in op.get("security", []) for name in requirement}
               for path, item in paths.items() for method, op in item.items()}
    secured = {op for op, found in schemes.items() if found}
    assert len(secured) == 88 and {row.operation for row in matrix.ROWS} == secured
    for row in matrix.ROWS:
        assert schemes[row.operation] == {"TokenUser" if row.scheme == "Bearer" else "BasicUser"}, row.id
    assert {row.operation for row in matrix.ROWS if row.platform} == PLATFORM
    assert set(RECIPES) == set(matrix.BY_ID), "every row says how it is sent"
    assert len(matrix.ROWS) == 93 and len(matrix.CALLERS) == 10


def test_cells_are_derived_from_the_rules_with_their_sources() -> None:
    cell = matrix.expected
    typo = cell(_BOX, "other_domain")  # the first blind spot: dimail's typo, a recorded fact
    assert (typo.status, typo.detail, typo.guess, typo.admitted) == ((403,), "Permisison denied", False, False)
    assert (cell(_BOX, "allowed").status, cell(_BOX, "allowed").admitted) == ((201,), True)
    assert cell("GET /domains/{domain_name}", "itself").status == (401,)
    assert cell("GET /domains/{domain_name}", "itself").detail == "Not authorized."
    assert cell("GET /domains/{domain_name}", "no_credentials").status == (403, 401)
    assert cell("GET /users/", "no_credentials").headers == {"www-authenticate": "Basic"}
    # who sees whom: the second blind spot is a listing, not a status
    assert cell("GET /users/", "manager").sees == {"manager", "itself"}
    assert cell("GET /users/", "not_manager").sees == {"not_manager"}
    assert cell("GET /users/", "admin").sees == set(matrix.USERS)
    assert cell("GET /users/", "allowed").status == (403,)
    assert cell("GET /my/domains", "other_domain").sees == {"other"}
    assert cell("GET /allows/", "people").sees == {"people@domain", "people@other", "allowed@domain", "other_domain@other"}
    # perms the caller lacks, admin rights: refused to a manager, granted to an admin
    assert cell("POST /users/ (perms: new_domain)", "manager").status == (403,)
    assert cell("POST /users/ (perms: new_domain)", "people").status == (201,)
    assert cell("PATCH /users/{user} (is_admin: true)", "manager").status == (403,)
    assert cell("PATCH /users/{user} (acls: +x)", "itself").status == (403,)
    assert cell("GET /logs/crashes/{crash_name}", "admin").detail == "Not found"
    # a cell that is not a guess cites a source other than the contract's own inference
    for row in matrix.ROWS:
        for caller in matrix.CALLERS:
            answer = matrix.cell(row, caller.key)
            assert answer.source, (row.id, caller.key)
            if not answer.guess:
                assert re.search(r"\[(spec|people|real-2024)", answer.source), (row.id, caller.key, answer.source)


def test_the_committed_page_is_what_the_data_renders() -> None:
    assert PAGE.read_text() == matrix.render(), \
        "docs/contracts/authorization-matrix.md is stale: python -m contracts.matrix > docs/contracts/authorization-matrix.md"


@pytest.mark.parametrize(("user", "body", "status", "after"), [
    ({"perms": {"new_domain", "manage_users"}}, {"perms": ["-new_domain"]}, 200, {"manage_users"}),
    ({"perms": set()}, {"perms": ["+create_users", "+x", "-x"]}, 200, {"create_users"}),  # x comes and goes
    ({"perms": {"new_domain"}}, {"perms": ["manage_users", "create_users"]}, 200, {"manage_users", "create_users"}),
    ({"perms": {"new_domain"}}, {"perms": []}, 200, set()),
    ({"perms": {"new_domain"}}, {"perms": ["+manage_users", "create_users"]}, 422, {"new_domain"}),
    ({"perms": {"new_domain"}}, {"perms": ["+unheld"]}, 403, {"new_domain"}),
    ({"perms": {"new_domain"}}, {"acls": ["+a", "b"], "perms": ["-new_domain"]}, 422, {"new_domain"}),
])
def test_the_list_edit_model_follows_dimails_rule(user: dict[str, set[str]], body: dict[str, list[str]], status: int,
                                                  after: set[str]) -> None:
    start = {name: frozenset(user.get(name, set())) for name in edits.FIELDS}
    outcome = edits.patch(start, body, frozenset({"new_domain", "create_users", "manage_users"}))
    assert (outcome.status, outcome.user["perms"]) == (status, after), outcome.why


# --- against fakes, through the library -------------------------------------------------------------------------

@contextmanager
def world_on(factory: Callable[[], Any] | None = None, admin: tuple[str, str] | None = ADMIN) -> Iterator[World]:
    with in_process(factory) as (base, transport, _):
        target = Target(base, admin, PEOPLE, transport=transport)
        target.load_openapi()
        target.provisioner(retries=0).initialise(admin=ADMIN)
        try:
            yield World(target)
        finally:
            target.close()


def judge_rows(world: World, rows: list[matrix.Row]) -> tuple[dict[tuple[str, str], str], set[str]]:
    broken, unjudged = {}, set()
    for row in rows:
        found, notes = judge(world, row)
        broken.update({(row.id, key): problem for key, problem in found.items()})
        unjudged.update(notes)
    return broken, unjudged


def leftovers(world: World) -> list[str]:
    """What carries the run's prefix on the target once the world is closed (an admin looks)."""
    prefix = world.target.prefix
    users = world.target.call("GET", "/users/", auth=ADMIN).json()
    domains = world.target.call("GET", "/domains/", auth=ADMIN).json()
    limits = world.target.call("GET", "/system/rate_limits", auth=ADMIN).json()
    return [item["name"] for item in [*users, *domains, *limits] if item["name"].startswith(prefix)]


SENT = [row for row in matrix.ROWS if not row.platform]


# The authz family runs whole in tests/test_contracts.py (in-process, and over HTTP where nothing may be left
# behind) and below against the first blind spot; a mutant here is judged on the whole matrix when its rule
# could show anywhere, else on the rows of the operations it changes (and every class of those rows).
WHOLE = {"users_manage_themselves"}  # `_manages` decides many operations


@pytest.mark.parametrize("mutant", sorted(mutants_matrix.CAUGHT))
def test_a_wrong_rule_breaks_exactly_its_cells_naming_class_and_answers(mutant: str) -> None:
    caught = mutants_matrix.CAUGHT[mutant]
    operations = {matrix.BY_ID[row_id].operation for row_id, _ in caught}
    rows = SENT if mutant in WHOLE else [row for row in SENT if row.operation in operations]
    with world_on(getattr(mutants_matrix, mutant)) as world:
        broken, _ = judge_rows(world, rows)
        assert world.close() == [] and leftovers(world) == []
        cost = world.cost()
    assert set(broken) == caught
    for (row_id, key), problem in broken.items():
        assert problem.startswith(f"as {key} ({matrix.BY_KEY[key].title}): "), problem
        assert "expected" in problem and ("answered" in problem), problem
    assert re.fullmatch(r"\d+ requests; created .*; removed all of it", cost), cost


def test_without_admin_credentials_the_admins_cells_are_named_as_not_judged() -> None:
    rows = [matrix.BY_ID[i] for i in ("GET /users/", "DELETE /users/{user_name}", "POST /system/rate_limits/{name}",
                                      "PATCH /system/rate_limits/{name}", "GET /logs/crashes/{crash_name}", _BOX)]
    with world_on(admin=None) as world:
        broken, unjudged = judge_rows(world, rows)
        assert broken == {}
        assert unjudged == {"admin: no admin credentials (give --dimail-admin USER:PASSWORD)"}
        assert world.close() == [] and leftovers(world) == []


def test_platform_rows_refuse_everyone_but_the_admin_whose_cell_is_never_sent() -> None:
    """Sent only with --dimail-system-writes (test_contracts checks they are skipped otherwise)."""
    with world_on() as world:
        broken, unjudged = judge_rows(world, [row for row in matrix.ROWS if row.platform])
        assert world.close() == []
    assert broken == {}
    assert unjudged == {"admin: not sent (it would stop or move the run's own objects; the schema family sends it "
                        "with --dimail-system-writes)"}


# --- through pytest --pyargs contracts ---------------------------------------------------------------------------

def test_the_families_report_a_wrong_rule_by_operation_class_and_answers(tmp_path: Path) -> None:
    runs = {
        "mailbox": (("contracts.test_authz",), ("--dimail-app", "tests.mutants_matrix:mailbox_on_any_allowed_domain",
                                                "--dimail-report", f"{tmp_path}/mailbox")),
        "minus": (("contracts.test_list_edits",), ("--dimail-app", "tests.mutants_matrix:minus_perm_ignored",
                                                   "--dimail-no-shrink")),
    }
    done = _batch({key: (*run, str(tmp_path / key)) for key, run in runs.items()}, tmp_path)
    mailbox = done["mailbox"]
    assert mailbox.returncode == 1, stdout_of(mailbox)
    failed = [line for line in mailbox.stdout.splitlines() if line.startswith("FAILED ")]
    assert failed and failed[0].startswith(
        f"FAILED contracts/test_authz.py::test_authorization[{_BOX}]: contracts.expect.ContractBroken: {_BOX}: "
        "1 cell broken: as other_domain (other domain): answered 201 {\"email\":"), failed
    assert 'expected 403 {"detail":"Permisison denied"} — §3.5 [real-2024]' in failed[0]
    assert len(failed) == 1 and "verdict: NOT compatible" in mailbox.stdout
    report = json.loads((tmp_path / "mailbox.json").read_text())
    assert report["families"]["authz"] == {"passed": 85, "failed": 1, "skipped": 7, "blocked": 0}
    assert re.fullmatch(r"\d+ requests; created .*; removed all of it", report["costs"]["authz"])
    assert report["cleanup"] == []

    minus = done["minus"]
    assert minus.returncode == 1, stdout_of(minus)
    failed = [line for line in minus.stdout.splitlines() if line.startswith("FAILED ")]
    assert failed[0].startswith("FAILED contracts/test_list_edits.py::test_list_edits_follow_dimails_rule[perms]: "
                                "contracts.expect.ContractBroken: step 1: PATCH /users/{user} {'perms': ['-new_domain']}")
    assert ("the 200 answer has perms ['create_users', 'manage_users', 'new_domain'], the rule gives ['create_users', "
            "'manage_users'] (every item signed: +x adds x, -x removes it, in order [spec])") in failed[0]
    assert "edits       2 passed   1 failed" in minus.stdout
