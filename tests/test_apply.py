"""`provisioner apply`: load a declared state, plan against what dimail holds, execute, report (apply.py).

In-process against `FakeDimail` (journal, fake state, idempotence, partial state,
not-enabled domains, scripted faults, dry runs), then the `provisioner apply`
command against standalone servers over HTTP.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from fake_dimail.config import Settings
from fake_dimail.fake import FakeDimail
from provisioner.apply import (
    Action,
    Desired,
    DesiredStateError,
    MailboxSpec,
    Outcome,
    Report,
    State,
    apply,
    execute,
    load,
    plan,
    read_state,
)
from provisioner.cli import _apply, build_parser
from provisioner.client import DimailConflict, DimailRefused, DimailServerError
from provisioner.provisioner import Provisioner
from tests.conftest import served, start_server
from tests.test_provisioner_cli import run
from tests.test_provisioner import Faults, admin_post_domain, calls, ox_user, seeded

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "people-dev.yaml"
T, M = "test.domain.com", "ministere.example.gouv.fr"
OWNER, ADMIN = "people-demo-owner", "people-demo-admin"
TOKEN = ("GET", "/token/", 200)

Journal = list[tuple[str, str, int | None]]


# --- helpers -----------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def desired(*domains: dict[str, Any]) -> Desired:
    return Desired.model_validate({"domains": list(domains)})


def example() -> Desired:
    return load(EXAMPLE)


def trace(outcomes: list[Outcome]) -> list[tuple[str, str, Journal]]:
    """Each outcome as (label, result, (method, path, status) of its calls)."""
    return [(str(o.action), o.result, [(c.method, c.path, c.status) for c in o.calls]) for o in outcomes]


def domain_calls(d: str, owner_status: int = 201, fixed: bool = True) -> Journal:
    """What `domain_created` sends for a new domain (the owner's POST /users/ may be a 409)."""
    fix = [("GET", f"/domains/{d}/fix/", 307), ("GET", f"/domains/{d}/fix", 200)] if fixed else []
    return [("POST", "/domains/", 201), ("POST", "/users/", owner_status), ("POST", "/allows/", 201),
            ("GET", f"/domains/{d}/check", 200), *fix,
            ("GET", f"/domains/{d}/spec/", 307), ("GET", f"/domains/{d}/spec", 200)]


def mailbox_calls(d: str, local: str) -> Journal:
    return [TOKEN, ("POST", f"/domains/{d}/mailboxes/{local}", 201)]


def reads_of(*domains: str) -> Journal:
    per_domain = [[("GET", f"/allows/?domain={d}", 200), TOKEN, ("GET", f"/v2/domains/{d}/mailboxes/", 200),
                   TOKEN, ("GET", f"/domains/{d}/aliases/", 200)] for d in domains]
    return [("GET", "/domains/", 200), ("GET", "/users/", 200), *(c for block in per_domain for c in block)]


def snapshot(fake: FakeDimail) -> dict[str, Any]:
    """What the fake holds, comparable before and after."""
    b = fake.backend
    return {"domains": {n: d.state for n, d in b.domains.items()}, "users": sorted(b.users),
            "allows": list(b.allows), "aliases": sorted(b.aliases),
            "mailboxes": {k: (m.imap_active, m.smtp_active) for k, m in b.mailboxes.items()}}


def faulty(fake: FakeDimail) -> tuple[Provisioner, Faults]:
    faults = Faults(fake)
    return Provisioner(fake.base_url, transport=httpx.MockTransport(faults), sleep=lambda s: None), faults


def admin_http(fake: FakeDimail) -> httpx.Client:
    return fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"})


def cli_apply(p: Provisioner, *argv: str) -> tuple[int, list[str]]:
    """The `apply` subcommand's logic with a given (in-process or faulty) provisioner."""
    lines: list[str] = []
    code = _apply(build_parser().parse_args(["apply", *argv]), p, lines.append)
    return code, lines


# The whole first run of examples/people-dev.yaml on the seeded fake with DNS published.
FIRST_RUN = [
    (f"create domain {T} (owner {OWNER})", "done", domain_calls(T)),
    (f"create user {ADMIN}", "done", [("POST", "/users/", 201)]),
    (f"allow {ADMIN} on {T}", "done", [("POST", "/allows/", 201)]),
    (f"create mailbox jean.dupont@{T}", "done", mailbox_calls(T, "jean.dupont")),
    (f"create mailbox marie.curie@{T}", "done", mailbox_calls(T, "marie.curie")),
    (f"create mailbox ancien.agent@{T}", "done", mailbox_calls(T, "ancien.agent")),
    (f"disable mailbox ancien.agent@{T}", "done", [TOKEN, ("PATCH", f"/domains/{T}/mailboxes/ancien.agent", 200)]),
    (f"create alias contact -> jean.dupont@{T} on {T}", "done", [TOKEN, ("POST", f"/domains/{T}/aliases/", 201)]),
    (f"create alias contact -> marie.curie@{T} on {T}", "done", [TOKEN, ("POST", f"/domains/{T}/aliases/", 201)]),
    (f"create domain {M} (owner {OWNER})", "done", domain_calls(M, owner_status=409)),
    (f"create mailbox accueil@{M}", "done", mailbox_calls(M, "accueil")),
]


@pytest.fixture
def fake() -> FakeDimail:
    return seeded()


@pytest.fixture
def p(fake: FakeDimail) -> Provisioner:
    return Provisioner.for_fake(fake)


@pytest.fixture
def applied(fake: FakeDimail, p: Provisioner) -> Provisioner:
    """examples/people-dev.yaml applied once (both domains enabled)."""
    assert apply(p, example()).converged
    return p


# --- 1. load -----------------------------------------------------------------------------


def test_load_yaml_and_json_give_the_same_desired_state(tmp_path: Path) -> None:
    as_json = write(tmp_path, "people.json", json.dumps(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))))
    from_yaml, from_json = load(EXAMPLE), load(as_json)
    assert from_yaml == from_json
    assert [d.name for d in from_yaml.domains] == [T, M]
    first = from_yaml.domains[0]
    assert (first.owners, first.administrators) == ([OWNER], [ADMIN])
    assert [(m.local_part, m.first_name, m.last_name, m.active) for m in first.mailboxes] == [
        ("jean.dupont", "Jean", "Dupont", True), ("marie.curie", "Marie", "Curie", True),
        ("ancien.agent", "Ancien", "Agent", False)]
    assert [(a.local_part, a.destinations) for a in first.aliases] == [
        ("contact", [f"jean.dupont@{T}", f"marie.curie@{T}"])]
    assert from_yaml.domains[1].administrators == [] and from_yaml.domains[1].aliases == []


def test_load_picks_the_parser_by_suffix(tmp_path: Path) -> None:
    # JSON is YAML, so a .yaml file may hold JSON; a .json file must hold JSON.
    assert load(write(tmp_path, "s.yaml", '{"domains": []}')) == Desired()
    with pytest.raises(DesiredStateError) as caught:
        load(write(tmp_path, "s.json", "domains: []\n"))
    assert str(caught.value) == f"{tmp_path / 's.json'}: Expecting value: line 1 column 1 (char 0)"


def test_load_lower_cases_local_parts_and_strips_names(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "domains:\n  - name: a.fr\n    owners: [o]\n    mailboxes:\n"
                                     "      - {local_part: Jean.Dupont, first_name: ' Jean ', last_name: Dupont}\n"
                                     "    aliases:\n      - {local_part: Contact, destinations: [Jean.Dupont@a.fr]}\n")
    spec = load(path).domains[0]
    assert spec.mailboxes[0] == MailboxSpec(local_part="jean.dupont", first_name="Jean", last_name="Dupont")
    assert (spec.aliases[0].local_part, spec.aliases[0].destinations) == ("contact", ["Jean.Dupont@a.fr"])


@pytest.mark.parametrize(("text", "problem"), [
    ("domains:\n  - {name: a.fr, owners: []}\n",
     "domains.0.owners: List should have at least 1 item after validation, not 0"),
    ("domains:\n  - {name: a.fr, owners: ['  ']}\n",
     "domains.0.owners.0: String should have at least 1 character"),
    ("domains:\n  - {name: a.fr, owners: [o], aliases: [{local_part: c, destinations: []}]}\n",
     "domains.0.aliases.0.destinations: List should have at least 1 item after validation, not 0"),
    ("domains:\n  - {name: a.fr, owners: [o], mailboxes: [{local_part: jean dupont, first_name: J, last_name: D}]}\n",
     "domains.0.mailboxes.0.local_part: String should match pattern '^[a-zA-Z0-9_.-]+$'"),
    ("domains:\n  - {name: a.fr, owners: [o], mailboxes: [{local_part: j, first_name: J}]}\n",
     "domains.0.mailboxes.0.last_name: Field required"),
    ("domains:\n  - {name: a.fr, owners: [o], colour: red}\n", "domains.0.colour: Extra inputs are not permitted"),
    ("domains:\n  - {name: a.fr, owners: [o], mailboxes: [{local_part: j, first_name: J, last_name: D, quota: 1}]}\n",
     "domains.0.mailboxes.0.quota: Extra inputs are not permitted"),
    ("domain: []\n", "domain: Extra inputs are not permitted"),
    ("- a.fr\n", "top level: Input should be a valid dictionary or instance of Desired"),
    ("domains:\n  - {name: a.fr, owners: [o]}\n  - {name: b.fr, owners: [p]}\n  - {name: a.fr, owners: [p]}\n"
     "  - {name: b.fr, owners: [o]}\n", "top level: Value error, domain declared twice: a.fr, b.fr"),
    ("domains:\n  - {name: a.fr, owners: [o], mailboxes: [{local_part: Jean, first_name: Jean, last_name: D},"
     " {local_part: jean, first_name: Jeanne, last_name: D}]}\n",
     "domains.0: Value error, mailbox local part declared twice: jean"),
    ("domains:\n  - {name: a.fr, owners: [o]}\n  - {name: b.fr, owners: [o], mailboxes: ["
     "{local_part: jd, first_name: Jean, last_name: Dupont},"
     " {local_part: j, first_name: JEAN, last_name: ' dupont '}]}\n",
     "domains.1: Value error, mailbox first+last name declared twice: jean dupont"),
], ids=["no-owner", "blank-owner", "no-destination", "bad-local-part", "missing-field", "unknown-domain-key",
        "unknown-mailbox-key", "unknown-top-key", "not-a-mapping", "duplicate-domains", "duplicate-local-parts",
        "duplicate-names"])
def test_load_refuses_an_invalid_state_naming_file_and_field(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, "state.yaml", text)
    with pytest.raises(DesiredStateError) as caught:
        load(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_load_reports_every_problem_of_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, "state.yaml", "domains:\n  - {name: a.fr, owners: []}\n  - {owners: [o]}\n")
    with pytest.raises(DesiredStateError) as caught:
        load(path)
    assert str(caught.value) == (f"{path}: domains.0.owners: List should have at least 1 item after validation, "
                                 "not 0; domains.1.name: Field required")


def test_load_unreadable_or_malformed_files_are_desired_state_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(DesiredStateError, match=r"missing\.yaml: \[Errno 2\] No such file or directory"):
        load(missing)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DesiredStateError, match=r"bin\.yaml: 'utf-8' codec can't decode byte 0xff"):
        load(binary)
    with pytest.raises(DesiredStateError, match=r"bad\.yaml: while parsing a flow node"):
        load(write(tmp_path, "bad.yaml", "domains: [\n"))
    with pytest.raises(DesiredStateError) as caught:
        load(write(tmp_path, "bad.json", '{"domains": [}'))
    assert str(caught.value) == f"{tmp_path / 'bad.json'}: Expecting value: line 1 column 14 (char 13)"


@pytest.mark.parametrize(("name", "text"), [("empty.yaml", ""), ("comments.yaml", "# nothing yet\n"),
                                            ("null.json", "null")])
def test_load_an_empty_file_is_an_empty_state(tmp_path: Path, name: str, text: str) -> None:
    assert load(write(tmp_path, name, text)) == Desired(domains=[])


# --- 2. plan (pure) ----------------------------------------------------------------------------

A = "a.fr"
JEAN = {"local_part": "jean", "first_name": "Jean", "last_name": "Dupont"}


def test_plan_for_a_missing_domain_in_peoples_order() -> None:
    want = desired({"name": A, "owners": ["o1", "o2"], "administrators": ["a1", "o1", "o2"],
                    "mailboxes": [JEAN, {"local_part": "x", "first_name": "X", "last_name": "Y", "active": False}],
                    "aliases": [{"local_part": "contact", "destinations": ["jean@a.fr", "x@a.fr"]}]})
    jean, x = want.domains[0].mailboxes
    # a1 exists (People's user manages it): allowed, not re-created; o1 comes with the domain.
    assert plan(want, State(users={"la_regie", "a1"})) == [
        Action("domain", A, "o1"),
        Action("user", A, "o2"), Action("allow", A, "o2"),
        Action("allow", A, "a1"),
        Action("mailbox", A, "jean", jean),
        Action("mailbox", A, "x", x), Action("disable", A, "x", x),
        Action("alias", A, "contact -> jean@a.fr"), Action("alias", A, "contact -> x@a.fr"),
    ]


def test_plan_for_an_existing_domain_sends_only_the_differences() -> None:
    mailboxes = [JEAN, {"local_part": "x", "first_name": "X", "last_name": "X", "active": False},
                 {"local_part": "y", "first_name": "Y", "last_name": "Y"},
                 {"local_part": "w", "first_name": "W", "last_name": "W", "active": False},
                 {"local_part": "z", "first_name": "Z", "last_name": "Z", "active": False}]
    want = desired({"name": A, "owners": ["o1", "o2"], "administrators": ["a1"], "mailboxes": mailboxes,
                    "aliases": [{"local_part": "contact", "destinations": ["jean@a.fr", "x@a.fr"]}]})
    _, x, y, _, z = want.domains[0].mailboxes
    state = State(domains={A: "ok"}, users={"la_regie", "o1", "a1"}, allows={A: {"la_regie", "o1"}},
                  mailboxes={A: {"jean": "yes", "x": "yes", "y": "no", "w": "no"}},
                  aliases={A: {("contact", "jean@a.fr"), ("other", "x@a.fr")}})
    assert plan(want, state) == [
        Action("user", A, "o2"), Action("allow", A, "o2"), Action("allow", A, "a1"),
        Action("disable", A, "x", x),  # active: false on an active mailbox
        Action("enable", A, "y", y),  # active: true on a disabled one
        Action("mailbox", A, "z", z), Action("disable", A, "z", z),  # new and inactive
        Action("alias", A, "contact -> x@a.fr"),  # contact -> jean@a.fr is there already
    ]


def test_plan_creates_a_user_once_across_domains() -> None:
    want = desired({"name": A, "owners": ["o"], "administrators": ["shared"]},
                   {"name": "b.fr", "owners": ["o"], "administrators": ["shared"]})
    assert plan(want, State()) == [
        Action("domain", A, "o"), Action("user", A, "shared"), Action("allow", A, "shared"),
        Action("domain", "b.fr", "o"), Action("allow", "b.fr", "shared"),
    ]


def test_plan_of_a_state_already_reached_is_empty() -> None:
    want = desired({"name": A, "owners": ["o"], "mailboxes": [JEAN],
                    "aliases": [{"local_part": "contact", "destinations": ["jean@a.fr"]}]})
    state = State(domains={A: "ok"}, users={"o"}, allows={A: {"o"}}, mailboxes={A: {"jean": "yes"}},
                  aliases={A: {("contact", "jean@a.fr")}})
    assert plan(want, state) == []
    assert plan(Desired(), State()) == []


@pytest.mark.parametrize(("action", "label"), [
    (Action("domain", A, "o"), "create domain a.fr (owner o)"),
    (Action("user", A, "u"), "create user u"),
    (Action("allow", A, "u"), "allow u on a.fr"),
    (Action("mailbox", A, "jean"), "create mailbox jean@a.fr"),
    (Action("disable", A, "jean"), "disable mailbox jean@a.fr"),
    (Action("enable", A, "jean"), "enable mailbox jean@a.fr"),
    (Action("alias", A, "contact -> jean@a.fr"), "create alias contact -> jean@a.fr on a.fr"),
])
def test_action_labels(action: Action, label: str) -> None:
    assert str(action) == label


# --- 3. apply end to end on the seeded fake -----------------------------------------------


def test_apply_example_sends_peoples_events_in_order(fake: FakeDimail, p: Provisioner) -> None:
    report = apply(p, example())
    assert [(c.method, c.path, c.status) for c in report.reads] == [("GET", "/domains/", 200), ("GET", "/users/", 200)]
    assert trace(report.outcomes) == FIRST_RUN
    assert {c.user for c in p.journal} == {"la_regie"}
    assert report.summary() == "11 changes: 11 done; 34 calls, 14 writes"
    assert (report.calls, report.writes, report.count("done"), report.count("failed")) == (34, 14, 11, 0)
    assert report.converged is True


def test_apply_example_leaves_the_declared_state_in_the_fake(fake: FakeDimail, applied: Provisioner) -> None:
    b = fake.backend
    assert {n: d.state for n, d in b.domains.items()} == {T: "ok", M: "ok"}
    assert list(b.users) == ["admin", "la_regie", OWNER, ADMIN]
    for sub in (OWNER, ADMIN):
        user = b.users[sub]
        assert (user.is_admin, user.perms, user.manager) == (False, [], "la_regie")
    assert list(b.allows) == [("la_regie", T), (OWNER, T), (ADMIN, T), ("la_regie", M), (OWNER, M)]
    assert snapshot(fake)["mailboxes"] == {(T, "jean.dupont"): ("yes", "yes"), (T, "marie.curie"): ("yes", "yes"),
                                           (T, "ancien.agent"): ("no", "no"), (M, "accueil"): ("yes", "yes")}
    names = {(d, local): (ox.given_name, ox.sur_name, ox.display_name)
             for d, local in b.mailboxes if (ox := ox_user(fake, d, local)) is not None}
    assert names == {(T, "jean.dupont"): ("Jean", "Dupont", "Jean Dupont"),
                     (T, "marie.curie"): ("Marie", "Curie", "Marie Curie"),
                     (T, "ancien.agent"): ("Ancien", "Agent", "Ancien Agent"),
                     (M, "accueil"): ("Accueil", "Ministère", "Accueil Ministère")}
    assert set(b.aliases) == {(T, "contact", f"jean.dupont@{T}"), (T, "contact", f"marie.curie@{T}")}


def test_apply_twice_changes_nothing_and_only_reads(fake: FakeDimail, applied: Provisioner) -> None:
    before = snapshot(fake)
    n = len(applied.journal)
    report = apply(applied, example())
    assert report.outcomes == []
    assert report.writes == 0
    assert calls(applied, n) == reads_of(T, M)
    assert {c.method for c in applied.journal[n:]} == {"GET"}
    assert report.summary() == "nothing to change: 12 calls, 0 writes"
    assert report.converged is True
    assert snapshot(fake) == before
    # a fresh provisioner (a new process) sees the same
    assert apply(Provisioner.for_fake(fake), example()).outcomes == []


def test_apply_recreates_only_a_mailbox_removed_from_dimail(fake: FakeDimail, applied: Provisioner) -> None:
    with admin_http(fake) as http:
        assert http.delete(f"/domains/{T}/mailboxes/marie.curie").status_code == 204
    assert (T, "marie.curie") not in fake.backend.mailboxes
    report = apply(applied, example())
    assert trace(report.outcomes) == [(f"create mailbox marie.curie@{T}", "done", mailbox_calls(T, "marie.curie"))]
    assert report.summary() == "1 change: 1 done; 14 calls, 1 writes"
    assert fake.backend.mailboxes[(T, "marie.curie")].imap_active == "yes"
    assert ox_user(fake, T, "marie.curie").display_name == "Marie Curie"


def test_apply_sends_only_what_was_added_to_the_file(fake: FakeDimail, applied: Provisioner) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["domains"][1]["administrators"] = [ADMIN]
    data["domains"][1]["mailboxes"].append({"local_part": "Paul.Martin", "first_name": "Paul", "last_name": "Martin"})
    data["domains"][0]["aliases"][0]["destinations"].append(f"accueil@{M}")
    report = apply(applied, Desired.model_validate(data))
    assert trace(report.outcomes) == [
        (f"create alias contact -> accueil@{M} on {T}", "done", [TOKEN, ("POST", f"/domains/{T}/aliases/", 201)]),
        (f"allow {ADMIN} on {M}", "done", [("POST", "/allows/", 201)]),  # the user exists: no POST /users/
        (f"create mailbox paul.martin@{M}", "done", mailbox_calls(M, "paul.martin")),
    ]
    assert (ADMIN, M) in fake.backend.allows
    assert (M, "paul.martin") in fake.backend.mailboxes
    assert (T, "contact", f"accueil@{M}") in fake.backend.aliases


def test_apply_switches_mailboxes_on_and_off(fake: FakeDimail, applied: Provisioner) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    boxes = data["domains"][0]["mailboxes"]
    boxes[0]["active"] = False  # jean.dupont
    boxes[2].update(active=True, first_name="Nouvel")  # ancien.agent
    report = apply(applied, Desired.model_validate(data))
    assert trace(report.outcomes) == [
        (f"disable mailbox jean.dupont@{T}", "done", [TOKEN, ("PATCH", f"/domains/{T}/mailboxes/jean.dupont", 200)]),
        (f"enable mailbox ancien.agent@{T}", "done", [TOKEN, ("PATCH", f"/domains/{T}/mailboxes/ancien.agent", 200)]),
    ]
    rows = fake.backend.mailboxes
    assert (rows[(T, "jean.dupont")].imap_active, rows[(T, "jean.dupont")].smtp_active) == ("no", "no")
    assert (rows[(T, "ancien.agent")].imap_active, rows[(T, "ancien.agent")].smtp_active) == ("yes", "yes")
    ox = ox_user(fake, T, "ancien.agent")
    assert (ox.given_name, ox.sur_name, ox.display_name) == ("Nouvel", "Agent", "Nouvel Agent")
    assert apply(applied, Desired.model_validate(data)).outcomes == []


# --- 4. partial existing state ---------------------------------------------------------------


def test_apply_on_a_domain_created_by_the_admin_is_refused_and_its_actions_skipped(
        fake: FakeDimail, p: Provisioner) -> None:
    # Not visible to la_regie: planned as new; dimail answers 409, and la_regie may not allow itself (403).
    admin_post_domain(fake, T)
    report = apply(p, example())
    first = report.outcomes[0]
    assert trace([first]) == [(f"create domain {T} (owner {OWNER})", "failed",
                               [("POST", "/domains/", 409), ("POST", "/allows/", 403)])]
    assert isinstance(first.error, DimailRefused)
    assert str(first.error) == "POST /allows/ answered 403: 'Permission denied'"
    assert [o.result for o in report.outcomes[1:9]] == ["skipped"] * 8
    assert all(o.calls == [] for o in report.outcomes[1:9])
    assert trace(report.outcomes[9:]) == [(f"create domain {M} (owner {OWNER})", "done", domain_calls(M)),
                                          FIRST_RUN[10]]  # the other domain goes on
    assert report.summary() == "11 changes: 2 done, 1 failed, 8 skipped; 14 calls, 4 writes"
    assert ("la_regie", T) not in fake.backend.allows and not any(k[0] == T for k in fake.backend.mailboxes)


def test_apply_on_a_domain_the_admin_shared_with_people_adds_the_accesses(fake: FakeDimail, p: Provisioner) -> None:
    admin_post_domain(fake, T)
    with fake.client(auth=("admin", "admin")) as http:
        assert http.post("/allows/", json={"user": "la_regie", "domain": T}).status_code == 201
    fake.publish(T)
    fake.set_platform(T, certs_on_check=True)
    report = apply(p, example())
    assert trace(report.outcomes[:4]) == [
        (f"create user {OWNER}", "done", [("POST", "/users/", 201)]),
        (f"allow {OWNER} on {T}", "done", [("POST", "/allows/", 201)]),
        (f"create user {ADMIN}", "done", [("POST", "/users/", 201)]),
        (f"allow {ADMIN} on {T}", "done", [("POST", "/allows/", 201)]),
    ]
    # dimail's state is not `ok` yet: the first mailbox fetches the status first
    assert trace(report.outcomes[4:5]) == [(f"create mailbox jean.dupont@{T}", "done",
                                            [("GET", f"/domains/{T}/check", 200), *mailbox_calls(T, "jean.dupont")])]
    assert report.converged and len(report.outcomes) == 12
    assert trace(report.outcomes[10:]) == FIRST_RUN[9:]


def test_apply_on_a_domain_created_meanwhile_tolerates_the_409s(fake: FakeDimail, p: Provisioner) -> None:
    want = example()
    state = read_state(p, want)
    Provisioner.for_fake(fake).domain_created(T, OWNER)  # another People instance, between read and send
    n = len(p.journal)
    outcomes = execute(p, plan(want, state), state)
    assert trace(outcomes[:1]) == [(f"create domain {T} (owner {OWNER})", "done", [
        ("POST", "/domains/", 409), ("POST", "/allows/", 409), ("POST", "/users/", 409), ("POST", "/allows/", 409),
        ("GET", f"/domains/{T}/check", 200), ("GET", f"/domains/{T}/spec/", 307), ("GET", f"/domains/{T}/spec", 200)])]
    assert all(o.result == "done" for o in outcomes)
    assert len(p.client.writes(since=n)) == 11


def test_apply_on_an_existing_domain_sends_only_the_missing_allows(fake: FakeDimail, p: Provisioner) -> None:
    earlier = Provisioner.for_fake(fake)
    earlier.domain_created(T, OWNER)
    earlier.user_created(ADMIN)  # exists, not yet allowed
    earlier.mailbox_created(T, "jean.dupont", "Jean", "Dupont")
    report = apply(p, example())
    labels = [str(o.action) for o in report.outcomes]
    assert labels[:2] == [f"allow {ADMIN} on {T}", f"create mailbox marie.curie@{T}"]
    assert trace(report.outcomes[:1]) == [(f"allow {ADMIN} on {T}", "done", [("POST", "/allows/", 201)])]
    assert f"create domain {T} (owner {OWNER})" not in labels and f"create user {ADMIN}" not in labels
    assert [c.path for c in p.client.writes() if c.path == "/allows/"] == ["/allows/"] * 2  # ADMIN on T, OWNER on M
    assert report.summary() == "8 changes: 8 done; 28 calls, 9 writes"
    assert list(fake.backend.allows) == [("la_regie", T), (OWNER, T), (ADMIN, T), ("la_regie", M), (OWNER, M)]


# --- 5. a domain not enabled: mailboxes pending ---------------------------------------------


@pytest.fixture
def no_dns() -> FakeDimail:
    return FakeDimail(Settings(), seed="people-dev")


def enable(fake: FakeDimail, *domains: str) -> None:
    for d in domains:
        fake.publish(d)
        fake.set_platform(d, certs_on_check=True)


def test_mailboxes_stay_pending_on_a_domain_not_enabled(no_dns: FakeDimail) -> None:
    p = Provisioner.for_fake(no_dns)
    report = apply(p, example())
    by_label = {label: (result, journal) for label, result, journal in trace(report.outcomes)}
    assert by_label[f"create domain {T} (owner {OWNER})"] == ("done", domain_calls(T, fixed=False))
    for local, d in (("jean.dupont", T), ("marie.curie", T), ("ancien.agent", T), ("accueil", M)):
        assert by_label[f"create mailbox {local}@{d}"] == ("pending", [])
    assert by_label[f"create alias contact -> jean.dupont@{T} on {T}"][0] == "done"  # aliases need no enabled domain
    assert not any("/mailboxes/" in c.path and c.method != "GET" for c in p.journal)
    assert report.converged is False
    assert report.count("pending") == 5  # the four mailboxes and the disable that waits for ancien.agent
    assert by_label[f"disable mailbox ancien.agent@{T}"] == ("pending", [])
    assert p.statuses == {T: "action_required", M: "action_required"}
    assert {d: [m.local_part for m in ms] for d, ms in p.pending.items()} == {
        T: ["jean.dupont", "marie.curie", "ancien.agent"], M: ["accueil"]}
    assert no_dns.backend.mailboxes == {}


def test_cli_exits_2_while_mailboxes_are_pending(no_dns: FakeDimail, tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", f"domains:\n  - name: {T}\n    owners: [{OWNER}]\n"
                                     "    mailboxes: [{local_part: jean, first_name: Jean, last_name: Dupont}]\n")
    code, lines = cli_apply(Provisioner.for_fake(no_dns), str(path))
    assert code == 2
    assert f"~ create mailbox jean@{T} [pending]" in lines
    assert lines[-1] == "-- 2 changes: 1 done, 1 pending; 8 calls, 3 writes"


def test_a_new_apply_creates_the_mailboxes_once_the_domain_is_enabled(no_dns: FakeDimail) -> None:
    apply(Provisioner.for_fake(no_dns), example())
    enable(no_dns, T, M)
    report = apply(Provisioner.for_fake(no_dns), example())
    assert trace(report.outcomes) == [
        (f"create mailbox jean.dupont@{T}", "done", [("GET", f"/domains/{T}/check", 200),
                                                     *mailbox_calls(T, "jean.dupont")]),
        (f"create mailbox marie.curie@{T}", "done", mailbox_calls(T, "marie.curie")),
        (f"create mailbox ancien.agent@{T}", "done", mailbox_calls(T, "ancien.agent")),
        (f"disable mailbox ancien.agent@{T}", "done", [TOKEN, ("PATCH", f"/domains/{T}/mailboxes/ancien.agent", 200)]),
        (f"create mailbox accueil@{M}", "done", [("GET", f"/domains/{M}/check", 200), *mailbox_calls(M, "accueil")]),
    ]
    assert report.converged and report.summary() == "5 changes: 5 done; 24 calls, 5 writes"
    assert snapshot(no_dns)["mailboxes"] == {(T, "jean.dupont"): ("yes", "yes"), (T, "marie.curie"): ("yes", "yes"),
                                             (T, "ancien.agent"): ("no", "no"), (M, "accueil"): ("yes", "yes")}


def test_disable_of_a_pending_mailbox_is_pending_and_the_cli_exits_2(no_dns: FakeDimail) -> None:
    p = Provisioner.for_fake(no_dns)
    code, lines = cli_apply(p, str(EXAMPLE))
    assert f"~ disable mailbox ancien.agent@{T} [pending]" in lines
    assert lines[-1] == "-- 11 changes: 6 done, 5 pending; 20 calls, 9 writes"
    assert code == 2


def test_a_reapply_with_the_same_provisioner_sends_the_mailboxes_once_dimail_says_ok(no_dns: FakeDimail) -> None:
    p = Provisioner.for_fake(no_dns)
    apply(p, example())
    enable(no_dns, T, M)
    no_dns.check(T)
    no_dns.check(M)
    assert {n: d.state for n, d in no_dns.backend.domains.items()} == {T: "ok", M: "ok"}
    report = apply(p, example())
    assert [o.result for o in report.outcomes] == ["done"] * 5
    assert (T, "jean.dupont") in no_dns.backend.mailboxes


# --- 6. failures ----------------------------------------------------------------------------

ANCIEN = f"/domains/{T}/mailboxes/ancien.agent"


@pytest.mark.parametrize(("status", "error_type", "journal", "message"), [
    (403, DimailRefused, [TOKEN, ("POST", ANCIEN, 403)], f"POST {ANCIEN} answered 403: 'Internal Server Error'"),
    (502, DimailServerError, [TOKEN, ("POST", ANCIEN, 502)], f"POST {ANCIEN} answered 502: 'Bad Gateway'"),
    # a 500 is dimail's duplicate answer: the provisioner probes the address (M2), which names no holder
    (500, DimailConflict, [TOKEN, ("POST", ANCIEN, 500), ("GET", f"/domains/{T}/address/ancien.agent/", 307),
                           ("GET", f"/domains/{T}/address/ancien.agent", 200)],
     f"ancien.agent@{T}: the names 'Ancien Agent' are already used in the OX context "
     "(the address probe names no holder: a display-name clash)"),
])
def test_a_failing_mailbox_is_recorded_and_the_next_actions_still_run(
        fake: FakeDimail, status: int, error_type: type[Exception], journal: Journal, message: str) -> None:
    p, faults = faulty(fake)
    faults.fail("POST", ANCIEN, [status])
    report = apply(p, example())
    expected = list(FIRST_RUN)
    expected[5] = (f"create mailbox ancien.agent@{T}", "failed", journal)
    expected[6] = (f"disable mailbox ancien.agent@{T}", "skipped", [])
    assert trace(report.outcomes) == expected
    failed = report.outcomes[5]
    assert isinstance(failed.error, error_type) and str(failed.error) == message
    assert report.outcomes[6].error is None
    assert report.summary() == f"11 changes: 9 done, 1 failed, 1 skipped; {32 + len(journal) - 2} calls, 12 writes"
    assert report.converged is False
    assert (T, "ancien.agent") not in fake.backend.mailboxes and (M, "accueil") in fake.backend.mailboxes
    # the next run sends exactly what is missing
    again = apply(p, example())
    assert trace(again.outcomes) == FIRST_RUN[5:7]
    assert fake.backend.mailboxes[(T, "ancien.agent")].imap_active == "no"


def test_a_failing_domain_creation_skips_the_domains_later_actions(fake: FakeDimail) -> None:
    p, faults = faulty(fake)
    faults.fail("POST", "/domains/", [500])  # the first domain's only: never retried
    report = apply(p, example())
    assert trace(report.outcomes) == [
        (f"create domain {T} (owner {OWNER})", "failed", [("POST", "/domains/", 500)]),
        *[(label, "skipped", []) for label, _, _ in FIRST_RUN[1:9]],
        (f"create domain {M} (owner {OWNER})", "done", domain_calls(M)),
        FIRST_RUN[10],
    ]
    assert str(report.outcomes[0].error) == "POST /domains/ answered 500: 'Internal Server Error'"
    assert report.summary() == "11 changes: 2 done, 1 failed, 8 skipped; 13 calls, 4 writes"
    assert set(fake.backend.domains) == {M} and ADMIN not in fake.backend.users


def test_cli_prints_the_failure_and_exits_1(fake: FakeDimail) -> None:
    p, faults = faulty(fake)
    faults.fail("POST", ANCIEN, [403])
    code, lines = cli_apply(p, str(EXAMPLE))
    assert code == 1
    at = lines.index(f"! create mailbox ancien.agent@{T} [failed]")
    assert [line.split()[:3] for line in lines[at + 1:at + 3]] == [["GET", "/token/", "200"], ["POST", ANCIEN, "403"]]
    assert lines[at + 3:at + 5] == [f"  error: POST {ANCIEN} answered 403: 'Internal Server Error'",
                                    f"- disable mailbox ancien.agent@{T} [skipped]"]
    assert lines[-1] == "-- 11 changes: 9 done, 1 failed, 1 skipped; 32 calls, 12 writes"


# --- 7. dry run ----------------------------------------------------------------------------------


def test_dry_run_plans_everything_and_writes_nothing(fake: FakeDimail, p: Provisioner) -> None:
    before = snapshot(fake)
    seen: list[Outcome] = []
    report = apply(p, example(), progress=seen.append, dry_run=True)
    assert trace(report.outcomes) == [(label, "planned", []) for label, _, _ in FIRST_RUN]
    assert seen == report.outcomes
    assert (report.calls, report.writes) == (2, 0)
    assert calls(p) == [("GET", "/domains/", 200), ("GET", "/users/", 200)]
    assert report.summary() == "11 changes: 11 planned; 2 calls, 0 writes"
    assert report.converged is False
    assert snapshot(fake) == before


def test_dry_run_on_a_partial_state_plans_only_the_differences(fake: FakeDimail, applied: Provisioner) -> None:
    with admin_http(fake) as http:
        assert http.patch(f"/domains/{T}/mailboxes/jean.dupont", json={"active": "no"}).status_code == 200
    before = snapshot(fake)
    n = len(applied.journal)
    report = apply(applied, example(), dry_run=True)
    assert trace(report.outcomes) == [(f"enable mailbox jean.dupont@{T}", "planned", [])]
    assert report.writes == 0 and calls(applied, n) == reads_of(T, M)
    assert snapshot(fake) == before


def test_report_summary_and_counts() -> None:
    outcome = Outcome(Action("user", A, "u"), "done", [])
    assert Report([], [outcome], 3, 1).summary() == "1 change: 1 done; 3 calls, 1 writes"
    mixed = [Outcome(Action("user", A, "u"), r, []) for r in ("failed", "done", "pending", "skipped", "done")]
    report = Report([], mixed, 9, 2)
    assert report.summary() == "5 changes: 2 done, 1 pending, 1 failed, 1 skipped; 9 calls, 2 writes"
    assert (report.count("done"), report.count("planned"), report.converged) == (2, 0, False)
    assert Report([], [], 2, 0).summary() == "nothing to change: 2 calls, 0 writes"
    assert Report([], [], 2, 0).converged is True


# --- 8. the command against standalone servers -------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    yield from served("--seed", "people-dev", "--dns", "auto")


def http_calls(lines: list[str]) -> list[tuple[str, str, int]]:
    return [(w[0], w[1], int(w[2])) for line in lines if line.startswith("  ") and (w := line.split())[0] in
            ("GET", "POST", "PATCH", "DELETE")]


def admin_domains(url: str) -> list[str]:
    return [d["name"] for d in httpx.get(url + "/domains/", auth=("admin", "admin")).json()]


def test_cli_dry_run_then_apply_then_nothing_to_change(server: str) -> None:
    code, lines = run(server, "apply", "--dry-run", str(EXAMPLE))
    assert code == 0
    assert lines[0] == f"= read {EXAMPLE}: 2 domains"
    assert [line for line in lines if line.startswith("?")] == [f"? {label} [planned]" for label, _, _ in FIRST_RUN]
    assert lines[-1] == "-- 11 changes: 11 planned; 2 calls, 0 writes"
    assert T not in admin_domains(server)

    code, lines = run(server, "apply", str(EXAMPLE))
    assert code == 0
    assert lines[0] == f"= read {EXAMPLE}: 2 domains"
    at = lines.index(f"+ create domain {T} (owner {OWNER})")
    assert http_calls(lines[at + 1:at + 9]) == domain_calls(T) and lines[at + 9] == f"+ create user {ADMIN}"
    events = [line for line in lines if not line.startswith(("  ", "= ", "-- "))]
    assert events == [f"+ {label}" for label, _, _ in FIRST_RUN]
    assert http_calls(lines) == [("GET", "/domains/", 200), ("GET", "/users/", 200),
                                 *(c for _, _, journal in FIRST_RUN for c in journal)]
    assert lines[-1] == "-- 11 changes: 11 done; 34 calls, 14 writes"

    code, lines = run(server, "apply", str(EXAMPLE))
    assert code == 0
    assert lines == [f"= read {EXAMPLE}: 2 domains", *[line for line in lines if line.startswith("  ")],
                     "-- nothing to change: 12 calls, 0 writes"]
    assert http_calls(lines) == reads_of(T, M)


def test_cli_refuses_a_bad_file_before_sending_anything(
        server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bad.yaml", "domains:\n  - {name: bad.example.fr, owners: [o], colour: red}\n")
    code, lines = run(server, "apply", str(path))
    assert (code, lines) == (1, [])
    assert capsys.readouterr().err == f"error: {path}: domains.0.colour: Extra inputs are not permitted\n"
    assert "bad.example.fr" not in admin_domains(server)


def test_cli_refused_read_is_an_error_exit(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(server, "--password", "wrong", "apply", str(EXAMPLE))
    assert code == 1
    assert lines[0] == f"= read {EXAMPLE}: 2 domains"
    assert http_calls(lines) == [("GET", "/domains/", 403), ("GET", "/token/", 403)]
    assert capsys.readouterr().err == ("error: dimail refused la_regie's credentials (GET /token/ answered 403: "
                                       "'Permission denied'): check --password\n")


def test_console_script_applies_a_file(server: str, tmp_path: Path) -> None:
    path = write(tmp_path, "script.yaml", "domains:\n  - name: script.example.fr\n    owners: [script-owner]\n"
                                          "    mailboxes: [{local_part: Jean, first_name: Jean, last_name: Script}]\n")
    script = Path(sys.executable).with_name("provisioner")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "provisioner.cli"]
    result = subprocess.run([*command, "--url", server, "--quiet", "apply", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        f"= read {path}: 1 domains",
        "+ create domain script.example.fr (owner script-owner)",
        "+ create mailbox jean@script.example.fr",
        "-- 2 changes: 2 done; 12 calls, 4 writes",
    ]
    assert "script.example.fr" in admin_domains(server)


def test_cli_admin_bootstraps_an_empty_dimail_then_applies() -> None:
    process, url = start_server("--seed", "empty", "--dns", "auto")
    try:
        code, lines = run(url, "apply", "--admin", "admin:admin", str(EXAMPLE))
        assert code == 0
        assert lines[0] == "= initialise"
        assert http_calls(lines[1:5]) == [("POST", "/users/", 201), ("POST", "/users/", 201),
                                          ("GET", "/users/la_regie", 200), ("GET", "/token/", 200)]
        assert lines[5] == f"= read {EXAMPLE}: 2 domains"
        assert lines[-1] == "-- 11 changes: 11 done; 34 calls, 14 writes"
        code, lines = run(url, "apply", str(EXAMPLE))
        assert (code, lines[-1]) == (0, "-- nothing to change: 12 calls, 0 writes")
    finally:
        process.terminate()
        process.wait(timeout=10)
