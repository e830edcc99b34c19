"""The authorization matrix (contracts/matrix.py), cell by cell: every secured operation, sent by every caller
class on scratch objects of the run, answers what the matrix says — refusals with dimail's status and text,
successes with the operation's status, listings showing what the class may see, and writes taking effect
exactly when allowed (read back after each one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .authz import World, judge, needs
from .conformance import PLATFORM_SKIP
from .conftest import REPORT_KEY
from .expect import ContractBroken
from .matrix import ROWS, Row
from .plugin import platform_writes
from .target import Target

pytestmark = pytest.mark.contract("authz")


@pytest.fixture(scope="module")
def world(dimail_target: Target, request: pytest.FixtureRequest) -> Iterator[World]:
    made = World(dimail_target)
    yield made
    dimail_target.cleanup_problems += made.close()
    report = request.config.stash.get(REPORT_KEY, None)
    if report is not None and made.requests:
        report.costs["authz"] = made.cost()


# Every row needs People's user with its perms: it makes the classes' users, and the rules are v0.8.2's perms.
ROW_PARAMS = [pytest.param(row, id=row.id, marks=[pytest.mark.dimail_needs(*needs(row)),
                                                  pytest.mark.dimail_people_perms]) for row in ROWS]


@pytest.mark.parametrize("row", ROW_PARAMS)
def test_authorization(world: World, row: Row, request: pytest.FixtureRequest) -> None:
    if row.platform and not platform_writes(request.config):
        pytest.skip(f"{row.method} {row.path} {PLATFORM_SKIP}")
    broken, unjudged = judge(world, row)
    if unjudged:
        request.node.user_properties.append(("note", "not judged: " + "; ".join(unjudged)))
    if broken:
        raise ContractBroken(f"{row.id}: {len(broken)} cell{'s' if len(broken) > 1 else ''} broken: "
                             + " | ".join(broken.values()))
