"""List edits by property: hypothesis draws a user (perms, acls, identities) and a few `PATCH /users/{user}`
bodies of `+x` / `-x` / plain items, and after each one the answer and the user read back must be what
dimail's rule makes of it (contracts/edits.py). People's user patches a user it created (it manages it), so
its own limit applies too: it may not add a perm it does not hold."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from provisioner.provisioner import PEOPLE_PERMS

from .conftest import REPORT_KEY
from .edits import FIELDS, Outcome, patch
from .expect import ContractBroken
from .plugin import examples, quick
from .target import Target

pytestmark = pytest.mark.contract("edits")

UNHELD = "authz_unheld"  # a perm People's user does not hold (unknown perms grant nothing, §3.2)
ACLS = ("domain:a.test", "domain:b.test", "user:c")
IDENTITIES = ("id1", "id2", "id3")  # prefixed with the run's prefix when sent
POOLS = {"perms": (*sorted(PEOPLE_PERMS), UNHELD), "acls": ACLS, "identities": IDENTITIES}
NEEDED = [("POST", "/users/"), ("PATCH", "/users/{user}"), ("GET", "/users/{user_name}"),
          ("DELETE", "/users/{user_name}")]


@st.composite
def _change(draw: st.DrawFn, pool: tuple[str, ...], held: frozenset[str]) -> list[str]:
    """A list for one field: signed edits (a removal mostly of a value held), plain items, or a mix of both."""
    def signed() -> str:
        sign = draw(st.sampled_from("-+"))
        return sign + draw(st.sampled_from(sorted(held) if sign == "-" and held else pool))
    kind = draw(st.sampled_from(["signed", "signed", "signed", "plain", "mixed"]))
    if kind == "plain":
        return draw(st.lists(st.sampled_from(pool), max_size=3))
    items = [signed() for _ in range(draw(st.integers(1, 3)))]
    if kind == "mixed":
        items.insert(draw(st.integers(0, len(items))), draw(st.sampled_from(pool)))
    return items


_FULL = {"perms": frozenset(PEOPLE_PERMS), "acls": frozenset(ACLS), "identities": frozenset(IDENTITIES)}
_EMPTY = {name: frozenset[str]() for name in FIELDS}
START = {name: st.one_of(st.just(_FULL[name]), st.frozensets(st.sampled_from(sorted(_FULL[name])))) for name in FIELDS}
# Per field, one body per branch of the rule before the drawn ones: remove, add and remove, set, set empty, a mix,
# and (perms) a perm the caller does not hold; then a mix in one field refusing the valid edits of the others.
BRANCHES: dict[str, list[tuple[dict[str, frozenset[str]], list[dict[str, list[str]]]]]] = {
    name: [(_FULL, [{name: [f"-{first}"]}, {name: [f"+{first}", f"-{second}"]}]),
           (_EMPTY, [{name: [second, first]}, {name: []}]),
           (_FULL, [{name: [f"+{second}", first]}])]
    for name, (first, second) in (("perms", ("new_domain", "manage_users")), ("acls", ACLS[:2]),
                                  ("identities", IDENTITIES[:2]))}
BRANCHES["perms"] += [(_FULL, [{"perms": ["+" + UNHELD]}]),
                      (_FULL, [{"perms": ["-new_domain"], "acls": ["-user:c"], "identities": ["id1", "+id2"]}])]


class Edits:
    """One example: a user of the run, patched by People's user body after body, compared with the model."""

    def __init__(self, target: Target, counts: dict[str, int]) -> None:
        self.target, self.counts = target, counts
        self.caller_perms = None if target.standing_in else frozenset(PEOPLE_PERMS)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        self.counts["requests"] += 1
        return self.target.call(method, path, auth=self.target.people, **kwargs)

    def named(self, name: str, values: Any) -> list[str]:
        """identities carry the run's prefix (a lookup by identity must find nothing but this run's user)."""
        return [f"{v[:1] if v[:1] in '+-' else ''}{self.target.prefix}-{v.lstrip('+-')}" if name == "identities"
                else v for v in values]

    def read(self, answer: Any) -> dict[str, frozenset[str]]:
        user = answer.json()
        prefix = f"{self.target.prefix}-"
        return {name: frozenset(v.removeprefix(prefix) if name == "identities" else v for v in user[name])
                for name in FIELDS}

    def run(self, start: Any, bodies: list[dict[str, list[str]]] | None = None,
            draw: Callable[[dict[str, frozenset[str]]], dict[str, list[str]]] | None = None, steps: int = 0) -> None:
        """Patch a new user with `bodies`, or with `steps` bodies `draw` makes from the user as it stands."""
        name = self.target.name("user")
        created = self.call("POST", "/users/", json={"name": name, "password": secrets.token_urlsafe(12),
                                                     "is_admin": False, **{f: self.named(f, sorted(v))
                                                                           for f, v in start.items()}})
        if created.status_code != 201:
            raise ContractBroken(f"POST /users/ as People's user for a user of the example answered "
                                 f"{created.status_code}: {created.text[:160]}")
        self.target.created_users.append(name)
        self.counts["users"] += 1
        try:
            user = self.read(created)
            for step in range(1, (len(bodies) if bodies is not None else steps) + 1):
                body = bodies[step - 1] if bodies is not None else draw(user)  # type: ignore[misc]
                user = self.step(name, user, body, step)
        finally:
            if self.call("DELETE", f"/users/{name}").status_code == 204:
                self.target.created_users.remove(name)
            else:  # the final clean-up tries again, and says so if it cannot
                self.counts["left"] += 1

    def step(self, name: str, user: dict[str, frozenset[str]], body: dict[str, list[str]], step: int) -> dict[str, frozenset[str]]:
        sent = {field: self.named(field, change) for field, change in body.items()}
        expected: Outcome = patch(user, body, self.caller_perms)
        answer = self.call("PATCH", f"/users/{name}", json=sent)
        call = f"step {step}: PATCH /users/{{user}} {sent} on {_show(user)}"

        if answer.status_code != expected.status:
            raise ContractBroken(f"{call}: answered {answer.status_code} {answer.text[:160]}, expected "
                                 f"{expected.status} ({expected.why['']})")
        if expected.detail is not None and answer.json() != {"detail": expected.detail}:
            raise ContractBroken(f"{call}: answered {answer.text[:160]}, expected {{'detail': {expected.detail!r}}}")
        for what, got in ((f"the {answer.status_code} answer", self.read(answer) if expected.status == 200 else None),
                          ("read back (GET /users/{user_name})", self.read(self.call("GET", f"/users/{name}")))):
            if got is not None and got != expected.user:
                wrong = [f for f in FIELDS if got[f] != expected.user[f]]
                raise ContractBroken(f"{call}: {what} has " + "; ".join(
                    f"{f} {sorted(got[f])}, the rule gives {sorted(expected.user[f])} ({expected.why[f]})"
                    for f in wrong))
        return expected.user


def _show(user: dict[str, frozenset[str]]) -> str:
    return "{" + ", ".join(f"{f}: {sorted(user[f])}" for f in FIELDS) + "}"


@pytest.fixture(scope="module")
def edit_counts(request: pytest.FixtureRequest) -> Iterator[dict[str, int]]:
    counts = {"requests": 0, "users": 0, "left": 0}
    yield counts
    report = request.config.stash.get(REPORT_KEY, None)
    if report is not None and counts["requests"]:
        report.costs["edits"] = (f"{counts['requests']} requests; created {counts['users']} users; " + (
            "removed all of them" if not counts["left"] else f"{counts['left']} left to the final clean-up"))


@pytest.mark.dimail_needs(*NEEDED)
@pytest.mark.dimail_people_perms  # People's user patches the users it manages, within its own perms
@pytest.mark.parametrize("field", FIELDS)
def test_list_edits_follow_dimails_rule(dimail_target: Target, edit_counts: dict[str, int],
                                        request: pytest.FixtureRequest, field: str) -> None:
    edits = Edits(dimail_target, edit_counts)
    for start, bodies in BRANCHES[field]:  # every branch of the rule, then what hypothesis draws
        edits.run(start, bodies)
    shrink = not request.config.getoption("--dimail-no-shrink")

    @settings(max_examples=examples(request.config), deadline=None, database=None, derandomize=quick(request.config),
              phases=[p for p in Phase if shrink or p is not Phase.shrink], print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(start=START[field], steps=st.integers(1, 3), data=st.data())
    def follows(start: frozenset[str], steps: int, data: st.DataObject) -> None:
        edits.run({**_FULL, field: start}, draw=lambda user: {field: data.draw(_change(POOLS[field], user[field]),
                                                                               label=field)}, steps=steps)

    follows()
