"""The permission-sequence table: the documentation's copy equals the code's, and journals follow the declarations."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_dimail.config import Settings
from fake_dimail.fake import FakeDimail
from provisioner.provisioner import Also, Provisioner
from provisioner.sequence import BEGIN, EVENTS, PAGE, declared, flatten, readme_section, table, undeclared, write

DOCS_PAGE = Path(__file__).resolve().parent.parent / PAGE
D = "seq.example.fr"


def test_the_documentations_table_is_the_generated_one() -> None:
    assert readme_section(DOCS_PAGE.read_text(encoding="utf-8")) == table(), \
        f"{PAGE}'s permission sequence is stale: run `python -m provisioner.sequence --write {PAGE}`"


def test_write_replaces_only_the_table(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nold\n<!-- /permission-sequence -->\noutro\n", encoding="utf-8")
    assert write(readme) is True
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("<!-- /permission-sequence -->\noutro\n")
    assert readme_section(text) == table()
    assert write(readme) is False


def test_every_event_method_is_in_the_table_and_every_also_names_one() -> None:
    methods = {m for _, m in EVENTS}
    decorated = {name for name in dir(Provisioner) if hasattr(getattr(Provisioner, name), "steps")}
    assert decorated == methods
    for method in methods:
        for step in declared(method):
            if isinstance(step, Also):
                assert step.event in methods, (method, step.event)


def test_flatten_expands_nested_events() -> None:
    calls = [(f.step.code, f.step.method, f.step.path) for f in flatten("domain_created")]
    assert calls == [
        ("D1", "POST", "/domains/"), ("", "POST", "/allows/"),
        ("U1", "POST", "/users/"), ("U2", "POST", "/allows/"),
        ("D2", "GET", "/domains/{d}/check"),
        ("T", "GET", "/token/"), ("M1", "POST", "/domains/{d}/mailboxes/{local}"),
        ("M2", "GET", "/domains/{d}/address/{local}/"),
        ("D3", "GET", "/domains/{d}/fix/"),
        ("D4", "GET", "/domains/{d}/spec/"),
    ]
    # the per-pending-mailbox group may repeat: its steps point at its start
    assert [f.group for f in flatten("domain_status")] == [None, 1, 1, 1, None]


# --- journals against declarations ------------------------------------------------------


def journal(p: Provisioner, since: int) -> list[tuple[str, str, int | None]]:
    return [(c.method, c.path, c.status) for c in p.journal[since:]]


def run(p: Provisioner, method: str, *args: object, **kwargs: object) -> list[tuple[str, str, int | None]]:
    mark = len(p.journal)
    getattr(p, method)(*args, **kwargs)
    return journal(p, mark)


@pytest.fixture
def fake() -> FakeDimail:
    return FakeDimail(Settings(dns_auto=True), seed="people-dev")


def test_every_event_journal_is_declared(fake: FakeDimail) -> None:
    p = Provisioner.for_fake(fake)
    scenario: list[tuple[str, tuple[object, ...], dict[str, object]]] = [
        ("initialise", (), {"admin": ("admin", "admin")}),
        ("initialise", (), {}),
        ("domain_created", (D, "owner"), {}),
        ("domain_created", (D, "owner"), {}),  # again: 409s
        ("user_created", ("someone",), {}),
        ("access_granted", (D, "admin-sub", "administrator"), {}),
        ("access_granted", (D, "viewer-sub", "viewer"), {}),
        ("access_revoked", (D, "admin-sub"), {}),
        ("mailbox_created", (D, "jean", "Jean", "Dupont"), {}),
        ("mailbox_created", (D, "jean", "Jean", "Dupont"), {}),  # duplicate 500 then M2
        ("mailbox_disabled", (D, "jean"), {}),
        ("mailbox_enabled", (D, "jean", "Jean", "Dupont"), {}),
        ("login_code", (D, "jean"), {}),
        ("password_reset", (D, "jean"), {}),
        ("alias_created", (D, "contact", f"jean@{D}"), {}),
        ("alias_deleted", (D, "contact", f"jean@{D}"), {}),
        ("domain_status", (D,), {}),
    ]
    seen = set()
    for method, args, kwargs in scenario:
        calls = run(p, method, *args, **kwargs)
        assert undeclared(method, calls) == [], (method, calls)
        seen.update((m, path.split("/")[1]) for m, path, _ in calls)
    assert ("DELETE", "allows") in seen and ("GET", "token") in seen


def test_pending_mailboxes_sent_by_a_status_fetch_follow_the_repeated_group() -> None:
    fake = FakeDimail(Settings(), seed="people-dev")
    p = Provisioner.for_fake(fake)
    p.domain_created(D, "owner")
    p.mailbox_created(D, "a", "Anne", "A")
    p.mailbox_created(D, "b", "Bob", "B")
    assert [m.local_part for m in p.pending[D]] == ["a", "b"]
    fake.publish(D)
    fake.set_platform(D, certs_on_check=True)
    calls = run(p, "domain_status", D)
    assert [c[:2] for c in calls].count(("GET", "/token/")) == 2
    assert undeclared("domain_status", calls) == []


@pytest.mark.parametrize(("method", "calls", "flagged"), [
    ("user_created", [("POST", "/users/", 201), ("POST", "/allows/", 201)], ["POST /allows/"]),
    ("mailbox_disabled", [("GET", "/token/", 200), ("DELETE", "/domains/x.fr/mailboxes/j", 204)],
     ["DELETE /domains/x.fr/mailboxes/j"]),
    # order matters: the spec comes after the status fetch, never before the domain
    ("domain_created", [("GET", "/domains/x.fr/spec/", 307), ("GET", "/domains/x.fr/spec", 200),
                        ("POST", "/domains/", 201)], ["POST /domains/"]),
    ("alias_deleted", [("GET", "/token/", 200), ("DELETE", "/domains/x.fr/aliases/a", 204)],
     ["DELETE /domains/x.fr/aliases/a"]),
])
def test_undeclared_calls_are_named(method: str, calls: list[tuple[str, str, int]], flagged: list[str]) -> None:
    assert undeclared(method, calls) == flagged


def test_retries_and_redirects_are_not_undeclared() -> None:
    calls = [("GET", "/token/", 200), ("PATCH", "/domains/x.fr/mailboxes/j", 502),
             ("PATCH", "/domains/x.fr/mailboxes/j", 200)]
    assert undeclared("mailbox_disabled", calls) == []
    calls = [("GET", "/token/", 200), ("POST", "/domains/x.fr/mailboxes/j/reset_password/", 307),
             ("POST", "/domains/x.fr/mailboxes/j/reset_password", 200)]
    assert undeclared("password_reset", calls) == []
