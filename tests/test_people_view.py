"""People's status rule (`fake_dimail.people_status`) and the fake's prediction (`GET /_fake/domains/{d}/people`).

The rule is checked branch by branch against CHECKS.md §8; the prediction, which runs
/fix's repair on a copy instead of calling it, against what the provisioner (People's
status fetch, calling /check and /fix/ for real) concludes on the same set-up.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from fake_dimail import FakeDimail
from fake_dimail import people_status as people
from provisioner import Provisioner

DOCS = Path(__file__).resolve().parents[1] / "docs" / "howto" / "dashboard.md"
NEW = {"features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}


def block(ok: Any, internal: Any, detail: str = "texte") -> dict[str, Any]:
    return {"ok": ok, "internal": internal, "errors": [] if ok else [{"code": "c", "detail": detail}]}


def never() -> dict[str, Any]:
    raise AssertionError("People calls /fix/ only when internal checks alone fail")


# --- the rule --------------------------------------------------------------------------------


def test_ok_sends_pending_mailboxes_unless_people_shows_it_enabled_already() -> None:
    answer = {"state": "ok", "mx": block(True, False)}
    first = people.fetch(answer, never, "action_required")
    assert (first.status, first.changed, first.send_pending, first.fixed) == ("enabled", True, True, False)
    again = people.fetch(answer, never, "enabled")
    assert (again.status, again.send_pending, again.calls) == ("enabled", False, (people.CHECK_CALL,))


def test_an_external_failure_is_action_required_with_each_first_error() -> None:
    answer = {"state": "broken", "mx": block(False, False, "le MX"), "spf": block(False, False, "le SPF"),
              "cert": block(False, True), "dkim": block(True, False)}
    outcome = people.fetch(answer, never, "enabled")
    assert (outcome.status, outcome.branch, outcome.details) == ("action_required", "external", ("le MX", "le SPF"))
    assert (outcome.check.external, outcome.check.internal) == (("mx", "spf"), ("cert",))
    assert not outcome.send_pending and "kept pending" in outcome.pending_mailboxes


@pytest.mark.parametrize(("fixed", "status", "branch"), [
    ({"state": "ok", "cert": block(True, True)}, "enabled", "fixed"),
    ({"state": "broken", "cert": block(False, True)}, "failed", "unfixed"),
    ({"state": "broken", "mx": block(False, False), "cert": block(True, True)}, "pending", "nothing"),
    (None, "pending", "error"),  # /fix/ gave no 200 answer
])
def test_internal_failures_alone_call_fix_and_read_its_answer(fixed: Any, status: str, branch: str) -> None:
    calls: list[str] = []
    answer = {"state": "broken", "mx": block(True, False), "cert": block(False, True)}
    outcome = people.fetch(answer, lambda: calls.append("fix") or fixed, "pending")
    assert (outcome.status, outcome.branch, calls) == (status, branch, ["fix"])
    assert outcome.calls == (people.CHECK_CALL, people.FIX_CALL)
    assert not outcome.send_pending  # never on the /fix/ path
    assert outcome.changed is (branch in ("fixed", "unfixed"))


@pytest.mark.parametrize("answer", [
    {"state": "new", "mx": block(False, False)},  # never checked
    {"state": "broken", "mx": {"ok": False, "internal": "false"}},  # `internal` compared by identity
    {"state": "broken", "mx": block(1, False), "cert": block("yes", True)},  # `ok` by truthiness: all pass
    None,  # no 200 answer
])
def test_other_answers_change_nothing(answer: Any) -> None:
    outcome = people.fetch(answer, never, "failed")
    assert (outcome.status, outcome.changed) == ("failed", False)
    assert outcome.why


def test_the_docs_table_is_the_generated_one() -> None:
    assert people.section(DOCS.read_text(encoding="utf-8")) == people.table(), \
        "docs/howto/dashboard.md's table of People's statuses is stale: run `python -m fake_dimail.people_status --write " \
        "docs/howto/dashboard.md`"


def test_write_replaces_only_the_table(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"intro\n{people.BEGIN}\nold\n{people.END}\noutro\n", encoding="utf-8")
    assert people.write(page) is True
    assert page.read_text(encoding="utf-8") == f"intro\n{people.BEGIN}\n{people.table()}{people.END}\noutro\n"
    assert people.write(page) is False


# --- the fake's prediction ----------------------------------------------------------------------


@pytest.fixture()
def fake() -> FakeDimail:
    return FakeDimail(seed="people-dev")


def create(fake: FakeDimail, name: str) -> None:
    answer = fake.client(auth=("la_regie", "password")).post("/domains/", json={"name": name, "context_name": name,
                                                                              **NEW})
    assert answer.status_code == 201


def test_a_fresh_domain_reads_action_required_and_nothing_changes(fake: FakeDimail) -> None:
    create(fake, "fresh.fr")
    before = fake.state()
    view = fake.client().get("/_fake/domains/fresh.fr/people")
    assert view.status_code == 200
    assert view.json() == {
        "domain": "fresh.fr", "status": "action_required", "changed": True, "before": "pending", "branch": "external",
        "why": "external checks fail (domain_exist): the DNS is the domain owner's to fix, /fix/ cannot",
        "calls": ["GET /domains/fresh.fr/check/"],
        "pending_mailboxes": "kept pending: People sends mailboxes only to a domain it shows enabled",
        "state": "broken", "fix_state": None, "last_status": "action_required", "stale": False,
        "failing": [{"check": "domain_exist", "internal": False, "fixable": False, "code": "must_exist",
                     "detail": "Le domaine fresh.fr n'existe pas"}],
    }
    assert fake.state() == before


def test_the_prediction_runs_fix_on_a_copy(fake: FakeDimail) -> None:
    fake.add_domain("a.fr", status="new")  # never checked: no DKIM key yet either
    fake.publish("a.fr")
    fake.set_platform("a.fr", broken=["postfix"])
    before = fake.state()
    view = fake.client().get("/_fake/domains/a.fr/people", params={"before": "action_required"}).json()
    assert fake.people_status("a.fr", before="action_required") == view
    assert (view["status"], view["branch"], view["fix_state"], view["stale"]) == ("enabled", "fixed", "ok", True)
    assert view["last_status"] == "action_required"  # from the stored answer (`new`): People keeps its status
    assert [(f["check"], f["fixable"]) for f in view["failing"]] == [("postfix", True), ("cert", True)]
    assert view["calls"] == ["GET /domains/a.fr/check/", "GET /domains/a.fr/fix/"]
    assert fake.state() == before  # no repair, no certificate, no check stored
    assert fake.check("a.fr")["state"] == "broken"


def test_a_crashing_check_is_an_error_people_logs(fake: FakeDimail) -> None:
    fake.add_domain("crash.fr")
    fake.set_dns("crash.fr", [{"target": "", "type": "txt", "value": "v=spf1 include:_spf.ox.numerique.gouv.fr"}])
    view = fake.client().get("/_fake/domains/crash.fr/people", params={"before": "enabled"}).json()
    assert (view["status"], view["changed"], view["branch"], view["state"]) == ("enabled", False, "error", None)
    assert view["why"] == "/check gives no 200 answer: People logs the HTTP error and changes nothing"


def test_an_unknown_domain_is_dimails_404(fake: FakeDimail) -> None:
    answer = fake.client().get("/_fake/domains/nowhere.fr/people")
    assert (answer.status_code, answer.json()) == (404, {"detail": "Domain not found"})
    wrong = fake.client().get("/_fake/domains/nowhere.fr/people", params={"before": "happy"})
    assert wrong.status_code == 422


# Every zone, dimail's side and switch; People showing it pending, enabled or action required in turn.
SETUPS = [(*setup, ("pending", "enabled", "action_required")[i % 3]) for i, setup in enumerate(itertools.product(
    ["none", "spec", "wrong", "exists"],  # the zone
    [(), ("cert",), ("ox",)],  # unfixable
    [(), ("postfix",)],  # broken
    [False, True],  # certs_on_check
))]


@pytest.mark.parametrize(("zone", "unfixable", "broken", "certs_on_check", "before"), SETUPS)
def test_the_prediction_is_what_peoples_fetch_then_concludes(
    fake: FakeDimail, zone: str, unfixable: tuple[str, ...], broken: tuple[str, ...], certs_on_check: bool, before: str,
) -> None:
    create(fake, "p.fr")
    if zone != "none":
        fake.publish("p.fr", zone)
    fake.set_platform("p.fr", unfixable=list(unfixable), broken=[*broken, *(c for c in unfixable if c != "cert")],
                      certs_on_check=certs_on_check)
    predicted = fake.client().get("/_fake/domains/p.fr/people", params={"before": before}).json()
    # /check is idempotent: the answer People's fetch reads next is this one.
    assert [f["check"] for f in predicted["failing"]] == [
        name for name, result in fake.check("p.fr").items() if isinstance(result, dict) and not result["ok"]]
    provisioner = Provisioner.for_fake(fake)
    provisioner.statuses["p.fr"] = before
    fetched = provisioner.domain_status("p.fr")
    assert (predicted["status"], predicted["fix_state"] is not None) == (fetched.status, fetched.fixed)
    if fetched.fixed:
        assert predicted["fix_state"] == fetched.check["state"]
        assert [f["check"] for f in predicted["failing"] if not f["fixable"]] == [
            name for name, result in fetched.check.items() if isinstance(result, dict) and not result["ok"]]
