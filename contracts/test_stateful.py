"""Stateful schema contracts: schemathesis chains calls through the links the suite adds (`links.py`).

Every scenario starts with a new domain and follows links from each answer: domain → allow for the
run's member → mailbox → identity, access to the run's other mailbox (→ app password), alias;
users → allows, with the target's own document judging every answer (status declared, body
matching its schema, no 5xx beyond dimail's documented quirks).
This reaches what one generated request never does: the answers about things that exist.
After every successful write, every read that shows the written object is compared with what was
sent, field by field (`written.py`); a deletion is read back as gone.

The `name` of every domain and user created is the run's (prefix and counter), so scenarios never
collide, a replay meets the same answers, and clean-up finds them; every other field is generated
from the document. Calls go as People's user (Basic, or its token), as People sends them.
Failures are collected through the run and reported once per operation and message, with the
shortest scenario that showed it.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import Bundle, initialize, rule
from schemathesis.core.failures import Failure
from schemathesis.core.transport import Response
from schemathesis.generation.modes import GenerationMode
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput, normalize_name

from provisioner.provisioner import PEOPLE_FEATURES

from .conformance import CHECKS, authorization, excused, send
from .links import DOMAIN, LINKS, USER, depths, linked
from .expect import ContractBroken
from .plugin import examples, quick
from .readback import ReadBack
from .target import Target
from .written import Written

pytestmark = pytest.mark.contract("schema")

STEPS = 60
SCENARIOS_PER_EXAMPLE = 2
# The chain this contract exists for: each step must succeed at least once, or the run proved nothing.
CHAIN = ("POST /domains/", "POST /allows/", "POST /v2/domains/{domain_name}/mailboxes/{user_name}")
# The chains past the mailbox, which the fake must let through too (a real dimail may refuse generated data).
_BOX = "/domains/{domain_name}/mailboxes/{user_name}"
ON_THE_FAKE = (("POST", "/identities"), ("POST", f"{_BOX}/identities/{{identity}}"),
               ("POST", f"{_BOX}/master_of/{{secondary_email}}"), ("POST", f"{_BOX}/app_passwords"),
               ("GET", f"{_BOX}/app_passwords/{{uuid}}"))


@dataclass
class Run:
    """What the scenarios met: successes per operation, distinct failures, excused quirks."""

    scenarios: int = 0
    series: int = 0  # restarts after hypothesis found the generation inconsistent
    successes: dict[str, int] = field(default_factory=dict)
    # (operation, message) -> [count, shortest scenario]
    failures: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    quirks: set[str] = field(default_factory=set)

    def fail(self, operation: str, message: str, calls: list[str]) -> None:
        seen = self.failures.setdefault((operation, message), [0, calls])
        seen[0] += 1
        if len(calls) < len(seen[1]):
            seen[1] = calls

    def verdict(self) -> str:
        unread = sum(n for (_, message), (n, _) in self.failures.items() if message.startswith("read-back"))
        count = sum(n for n, _ in self.failures.values()) - unread
        operations = sorted({op for op, _ in self.failures})
        said = [f"{count} answers broke the document"] if count else []
        said += [f"{unread} writes did not read back as written"] if unread else []
        lines = [f"{', '.join(operations)}: {', '.join(said)}"]
        for (operation, message), (n, calls) in sorted(self.failures.items()):
            lines += [f"  {operation} (x{n}): {message}", f"    shortest scenario: {' ; '.join(calls)}"]
        return "\n".join(lines)


def _messages(failure: BaseException) -> list[str]:
    found = getattr(failure, "exceptions", None) or [failure]
    out = []
    for item in found:
        if isinstance(item, Failure):
            detail = next((line.strip() for line in item.message.splitlines() if line.strip()), "")
            out.append(f"{item.title}: {detail}" if detail else item.title)
        else:
            out.append(str(item).splitlines()[0] if str(item) else type(item).__name__)
    return out


def _json(response: Response) -> Any:
    try:
        return json.loads(response.content) if response.content else None
    except ValueError:
        return None


def _takes_public_aliases(case: schemathesis.Case) -> schemathesis.Case:
    """The scenario's domain takes public aliases from any destination, whatever was drawn for it: generated
    `public_alias_rules` accept nobody, so otherwise the links to `POST /aliases` would almost never succeed;"""
    if isinstance(case.body, dict):
        case.body = {**case.body, "public_alias": True, "public_alias_rules": None}
        # and has the features its chains need (a drawn list often lacks `mailbox` or `webmail`,
        # and every mailbox link then answers 422): People's, with what was drawn besides
        features = case.body.get("features")
        drawn = features if isinstance(features, list) else []
        case.body["features"] = list(dict.fromkeys([*PEOPLE_FEATURES, *drawn]))
        if case.body.get("context_name") is None:
            case.body["context_name"] = case.body.get("name")
    return case


@pytest.fixture(scope="module")
def member(dimail_target: Target) -> str:
    """The user the linked allows are for: a link carries values from one answer only."""
    name = dimail_target.name("user")
    answer = dimail_target.call("POST", "/users/", auth=dimail_target.people,
                         json={"name": name, "password": "no", "is_admin": False, "perms": []})
    assert answer.status_code == 201, f"POST /users/ for the run's member: {answer.status_code} {answer.text}"
    dimail_target.created_users.append(name)
    return name


def _creations_then_deepest(machine: type) -> None:
    """Order the machine's rules: links that create something first, then by how far along the chains their
    source is, deepest first; reads before changes, deletions last.

    Hypothesis tries rules in name order (the simplest choice first), and a rule's name starts with its
    source's path: left alone, a scenario spends its steps on the domain's and the allow's links and rarely
    gets past the mailbox. Renamed, each scenario first makes one of every kind of thing, then follows each
    new thing before the older ones.
    """
    depth = depths()
    for name in dir(machine):
        rule = getattr(getattr(machine, name, None), "hypothesis_stateful_rule", None)
        if rule is None:
            continue
        number = re.search(r"_L(\d\d)_", name)
        if number is None:  # roots come last, as they did when every name started with its source's method
            rank = "e"
        else:
            link = LINKS[int(number[1])]
            # creations, then reads, then changes, then deletions: a deletion never comes before a read
            kind = {"POST": "a", "GET": "b", "DELETE": "d"}.get(link.target[0], "c")
            rank = f"{kind}{9 - depth[link.source[:2]]}"
        rule.function.__name__ = f"{rank}_{rule.function.__name__}"


@pytest.fixture(scope="module")
def other_mailbox(dimail_target: Target) -> str:
    """An existing mailbox besides each scenario's own: what a linked secondary account gives access to."""
    domain, local = dimail_target.name("domain"), "secondary"
    answer = dimail_target.call("POST", "/domains/", auth=dimail_target.people, json={
        "name": domain, "context_name": domain, "features": PEOPLE_FEATURES, "delivery": "virtual"})
    assert answer.status_code == 201, f"POST /domains/ for the run's other mailbox: {answer.status_code} {answer.text}"
    dimail_target.created_domains.append(domain)
    names = {"given_name": "Contract", "sur_name": "Secondary", "display_name": "Contract Secondary"}
    answer = dimail_target.call("POST", f"/v2/domains/{domain}/mailboxes/{local}", bearer=dimail_target.token(),
                                json={"features": ["ox"], "extras": {"ox": names}})
    assert answer.status_code == 201, f"POST /v2/…/mailboxes/… for the run's other mailbox: {answer.status_code}"
    return f"{local}@{domain}"


@pytest.mark.dimail_needs(DOMAIN[:2], ("POST", "/allows/"), USER[:2],
                          ("POST", "/v2/domains/{domain_name}/mailboxes/{user_name}"))
def test_linked_scenarios_conform(dimail_target: Target, request: pytest.FixtureRequest) -> None:
    if not dimail_target.steerable and not request.config.getoption("--dimail-schema-writes"):
        pytest.skip("linked scenarios write generated data on a real dimail (--dimail-schema-writes to run them)")
    document, links = linked(dimail_target.openapi, request.getfixturevalue("member"),
                             request.getfixturevalue("other_mailbox"))
    schema = schemathesis.openapi.from_dict(document)
    # Valid requests only (refusals are test_rules' job), and only the suite's links, not guessed ones.
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    schema.config.phases.stateful.inference.algorithms = []
    run = Run()
    as_people = authorization(dimail_target, dimail_target.people)  # People's user, as People sends these calls
    written = Written(ReadBack(dimail_target))

    new_domain = schema[DOMAIN[1]][DOMAIN[0]].as_strategy(generation_mode=GenerationMode.POSITIVE).map(
        _takes_public_aliases)

    machine = schema.as_state_machine()

    class Scenario(machine):  # type: ignore[misc,valid-type]
        # schemathesis starts scenarios at the operations it deems safe roots; a domain's body names an OX
        # context that no operation produces, so POST /domains/ is never one. Here every scenario starts there.
        @initialize(target=Bundle("start"), input=new_domain.map(StepInput.initial))
        def start(self, input: StepInput) -> StepOutput | None:
            self.recorder.record_case(case=input.case)
            self.control.record_step(input, self.recorder)  # so that its links count against the cap too
            return self._step(input)

        @rule()
        def zz_every_link_followed(self) -> None:
            """Once a scenario has followed each of its links, hypothesis still needs a rule it may run."""

        def setup(self) -> None:
            run.scenarios += 1
            self.calls: list[str] = []
            # Each link once per scenario: the steps go to the next link rather than to a repeat.
            self.control.max_operations_per_source = 1

        def call(self, case: schemathesis.Case, **kwargs: Any) -> Response:
            answer = send(dimail_target, case, as_people)
            self.calls.append(f"{answer.request.method} {answer.request.url.path} -> {answer.status_code}")
            return Response.from_any(answer)

        def validate_response(self, response: Response, case: schemathesis.Case, *args: Any, **kwargs: Any) -> None:
            key = (case.operation.method.upper(), case.operation.path)
            label = " ".join(key)
            if response.status_code < 300:
                run.successes[label] = run.successes.get(label, 0) + 1
            quirk = excused(key[0], key[1], response)
            if quirk is not None:
                run.quirks.add(quirk)
                return
            try:
                case.validate_response(response, checks=CHECKS)
            except BaseException as failure:  # schemathesis raises exception groups
                if isinstance(failure, KeyboardInterrupt):
                    raise
                for message in _messages(failure):
                    run.fail(label, message, list(self.calls))
                return
            if response.status_code < 300:
                try:
                    written.after(*key, urlsplit(response.request.url).path, case.body, _json(response),
                                  response.status_code)
                except ContractBroken as broken:
                    run.fail(label, str(broken), list(self.calls))

    _creations_then_deepest(Scenario)

    # Other roots than a new user would send generated domain names: 403s, which test_rules covers.
    for root in machine.root_rules - {normalize_name("RANDOM -> POST /users/")}:
        setattr(Scenario, root, None)

    # Generation only: no shrinking or replay against a server whose state moved on since. Which links
    # can be followed, and with what, comes from that server's answers (schemathesis' coin is seeded by a
    # hypothesis draw), so two scenarios with the same draws can meet different answers and hypothesis
    # stops as "flaky"; like schemathesis' runner, start a new series (with the next seed) until the
    # budget of scenarios is spent. The constants hypothesis mixes in are pinned (contracts/constants.py).
    # In the default profile the `random` module is seeded per series too (restored afterwards: the
    # caller's random state is not ours).
    budget = examples(request.config) * SCENARIOS_PER_EXAMPLE
    further = [" ".join(step) for step in ON_THE_FAKE if dimail_target.steerable and not dimail_target.lacks(step)]
    needed = [*CHAIN, *further]

    def unproved() -> list[str]:
        return [step for step in needed if not run.successes.get(step)]

    # Whether a scenario gets through the whole chain also depends on the server's answers (ids it makes, the
    # order of its listings), not on the draws alone: a budget spent before the chain was walked is followed by
    # more series of as many scenarios, up to thrice the budget. A server whose links cannot be followed still
    # fails, after that; a run that got through on its budget (the fake's, every time) runs no more.
    stop, limit = budget, budget * 3
    outside = random.getstate()
    try:
        while True:
            before, flaked = run.scenarios, False
            seeded = Scenario
            if quick(request.config):
                seeded = hypothesis.seed(run.series)(Scenario)
                random.seed(f"dimail-linked-scenarios:{run.series}")
            try:
                seeded.run(settings=settings(
                    max_examples=stop - run.scenarios, stateful_step_count=STEPS, deadline=None, database=None,
                    phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
            except Flaky:
                run.series += 1
                if run.scenarios == before:  # a series that cannot start would loop for ever
                    break
                if run.scenarios < stop:
                    continue
                flaked = True
            if stop >= limit or run.failures or run.scenarios == before or not unproved():
                break
            stop = min(limit, max(stop, run.scenarios) + budget)
            run.series += 0 if flaked else 1
    finally:
        random.setstate(outside)

    reached = ", ".join(f"{k} x{v}" for k, v in sorted(run.successes.items()))
    summary = f"{run.scenarios} scenarios ({run.series} restarts) over {len(links)} links; answered 2xx: {reached}" \
              f" — {written.checked} writes read back ({written.rb.reads} reads)"
    print(summary)
    request.node.user_properties.append(("note", summary))
    if run.quirks:
        request.node.user_properties.append(("quirks", sorted(run.quirks)))
    assert not run.failures, run.verdict()
    missed = unproved()
    assert not missed, f"the chain never got through {', '.join(missed)} in {run.scenarios} scenarios: {reached}"
