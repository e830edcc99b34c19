"""The register of guesses (fake_dimail/guesses.py): complete both ways, pointing at real operations and real
texts, rendered into the pages that show it, and recognised in the fake's own answers."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from fake_dimail import FakeDimail, Settings, errors, guesses
from fake_dimail.guesses import ANY, GUESSES, for_operation, render_page, render_table, shown_by
from tests.conftest import REFERENCE

ROOT = REFERENCE.parents[1]
PACKAGES = ("fake_dimail", "provisioner", "contracts")
# Registers of their own: the authorization matrix marks each cell the sources leave open (`Row.guess`,
# "(a guess)" on docs/contracts/authorization-matrix.md) and authz.py prints that mark in its failures.
OTHER_REGISTERS = ("contracts/matrix.py", "contracts/authz.py")
# The word, wherever it stands, and the id that must follow it.
MARKER = re.compile(r"\bguess\b(?:\s+(G-[a-z0-9]+(?:-[a-z0-9]+)*))?", re.IGNORECASE)


def markers() -> list[tuple[str, int, str | None]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix not in (".py", ".js", ".html", ".css") or path == ROOT / "fake_dimail" / "guesses.py" \
                    or str(path.relative_to(ROOT)) in OTHER_REGISTERS:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for match in MARKER.finditer(line):
                    found.append((f"{path.relative_to(ROOT)}:{number}", number, match.group(1)))
    return found


def test_every_marker_names_an_entry_and_every_entry_is_marked() -> None:
    found = markers()
    unnamed = [where for where, _, gid in found if gid is None]
    unknown = [(where, gid) for where, _, gid in found if gid is not None and gid not in guesses.BY_ID]
    assert not unnamed, f"a 'guess' in the code without its id (write 'guess G-<id>: …'): {unnamed}"
    assert not unknown, f"markers naming no entry of fake_dimail/guesses.py: {unknown}"
    marked = {gid for _, _, gid in found}
    assert [g.id for g in GUESSES if g.id not in marked] == [], "entries no code marker names"
    assert len(found) >= len(GUESSES) >= 60


def test_entries_are_well_formed_and_their_operations_exist() -> None:
    document = json.loads((REFERENCE / "openapi-v0.8.2.json").read_text())
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    ids = [g.id for g in GUESSES]
    assert len(ids) == len(set(ids))
    for guess in GUESSES:
        assert re.fullmatch(r"G-[a-z0-9]+(-[a-z0-9]+)*", guess.id), guess.id
        assert all(text.strip() for text in (guess.topic, guess.what, guess.why, guess.settle)), guess.id
        assert "|" not in guess.topic + guess.what + guess.why, guess.id  # they are table cells
        unknown = [op for op in guess.operations if op != ANY and op not in operations]
        assert not unknown, f"{guess.id}: not operations of the v0.8.2 document: {unknown}"


def _texts() -> set[str]:
    """Every text the fake can answer with, from errors.py (formatted texts with sample values)."""
    texts = {v for v in vars(errors).values() if isinstance(v, str)}
    texts |= {detail for _, detail in errors.INTERNAL_FAILURES.values()}
    texts |= {errors.unknown_feature("calendar"), errors.DOMAIN_HAS_MAILBOXES.format(feature="mailbox"),
              errors.not_in_domain("a@other.fr", "d.fr")}
    return texts


def test_signs_are_texts_the_fake_answers() -> None:
    texts = _texts()
    for guess in GUESSES:
        for sign in guess.signs:
            assert 100 <= sign.status <= 599
            if sign.text is not None:
                assert sign.text in texts, f"{guess.id}: {sign.text!r} is no text of errors.py"
            if sign.pattern is not None:
                assert any(re.fullmatch(sign.pattern, t) for t in texts), f"{guess.id}: {sign.pattern!r} matches none"


def test_the_reference_page_and_the_readme_table_come_from_the_register() -> None:
    page = ROOT / guesses.PAGE
    assert page.read_text(encoding="utf-8") == render_page(), "run: python -m fake_dimail.guesses --write"
    holders = guesses.table_files(ROOT)
    assert holders, f"no Markdown file has a heading {guesses.TABLE_TITLE!r} and its table"
    for path in holders:
        text = path.read_text(encoding="utf-8")
        assert guesses.replace_table(text) == text, f"{path}: stale table: run python -m fake_dimail.guesses --write"
    assert render_table().count("\n") == 2 + sum(g.readme for g in GUESSES)


def test_the_generator_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text(f"# x\n\n### {guesses.TABLE_TITLE}\n\n| topic | fake | reason |\n"
                                        "|---|---|---|\n| old | row | here |\n\nafter\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "choices.md").write_text(f"## {guesses.TABLE_TITLE}\n\n{render_table()}")
    assert guesses.main(["--check", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / guesses.PAGE}: stale: run python -m fake_dimail.guesses --write",
        f"{tmp_path / 'README.md'}: stale: run python -m fake_dimail.guesses --write"]
    assert guesses.main(["--write", str(tmp_path)]) == 0
    readme = (tmp_path / "README.md").read_text()
    assert readme == f"# x\n\n### {guesses.TABLE_TITLE}\n\n{render_table()}\nafter\n"
    assert guesses.table_files(tmp_path) == [tmp_path / "README.md", tmp_path / "docs" / "choices.md"]
    assert guesses.main(["--check", str(tmp_path)]) == 0
    assert guesses.main(["--bogus"]) == 2


def test_lookup_by_operation() -> None:
    forward = for_operation("post", "/domains/{domain_name}/forwards/{user_name}")
    assert [g.id for g in forward] == ["G-forward-in-use", "G-forward-texts", "G-bearer-403", "G-odd-tokens", "G-410"]
    assert [g.id for g in for_operation("GET", "/nowhere")] == ["G-bearer-403", "G-odd-tokens", "G-410"]


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("bearer_401", [False, True])
def test_the_fakes_answers_show_their_guesses(bearer_401: bool) -> None:
    fake = FakeDimail(Settings(bearer_401=bearer_401), seed="people-dev")
    admin = _basic("admin", "admin")
    client = fake.client(follow_redirects=False)

    def shown(method: str, template: str, path: str, **kwargs: object) -> list[str]:
        answer = client.request(method, path, **kwargs)
        body = answer.json() if answer.content else None
        return [g.id for g in shown_by(method, template, answer.status_code, body, answer.headers)]

    mailboxes = "/domains/{domain_name}/mailboxes/"
    assert shown("GET", mailboxes, "/domains/d.fr/mailboxes/") == ["G-bearer-403"]
    assert shown("GET", mailboxes, "/domains/d.fr/mailboxes/", headers={"Authorization": "Token x"}) == ["G-bearer-403"]
    # A Basic operation's 401 is dimail's recorded answer, no guess.
    assert shown("GET", "/users/", "/users/") == []
    client.post("/domains/", headers=admin, json={"name": "d.fr", "features": ["mailbox", "alias"]})
    bearer = {"Authorization": f"Bearer {fake.token('admin')}"}
    client.post("/domains/d.fr/mailboxes/jean", headers=bearer, json={})
    forward = "/domains/{domain_name}/forwards/{user_name}"
    assert shown("POST", forward, "/domains/d.fr/forwards/jean", headers=bearer,
                 json={"nexthop": "smtp:smtp.example.net"}) == ["G-forward-in-use"]
    assert shown("GET", forward, "/domains/d.fr/forwards/nobody", headers=bearer) == ["G-forward-texts"]
    alias = {"user_name": "contact", "destination": "jean@d.fr"}
    assert shown("POST", "/domains/{domain_name}/aliases/", "/domains/d.fr/aliases/", headers=bearer,
                 json=alias) == ["G-alias-201"]
    domain = "/domains/{domain_name}"
    assert shown("PATCH", domain, "/domains/d.fr", headers=admin, json={"features": ["+calendar"]}) == \
        ["G-unknown-feature"]
    assert shown("PATCH", domain, "/domains/d.fr", headers=admin, json={"features": ["+alias", "mailbox"]}) == \
        ["G-list-mix"]
    assert shown("DELETE", domain, "/domains/d.fr", headers=admin) == ["G-domain-not-empty"]
    assert shown("GET", domain, "/domains/d.fr", headers=bearer) == []
    assert shown("GET", domain, "/domains/d.fr", headers=admin) == ["G-bearer-403"]  # Basic on a Bearer operation


def test_judge_and_tally_as_a_differential_report_uses_them() -> None:
    template = "/domains/{domain_name}/forwards/{user_name}"
    in_use = {"detail": "Address already used by a mailbox or an alias"}
    assert guesses.judge("POST", template, 409, in_use, same=True) == (["G-forward-in-use"], [])
    assert guesses.judge("POST", template, 409, in_use, same=False) == ([], ["G-forward-in-use"])
    assert guesses.judge("POST", template, 201, {"username": "x"}, same=False) == ([], [])
    tally = guesses.Tally()
    tally.add(*guesses.judge("POST", template, 409, in_use, same=True))
    tally.add(*guesses.judge("POST", template, 409, in_use, same=False))
    tally.add([], ["G-bearer-403"])
    assert tally.lines("between two fakes") == [
        "guesses confirmed: G-forward-in-use ×1 (between two fakes)",
        "guesses contradicted: G-bearer-403 ×1, G-forward-in-use ×1"]
    assert tally.as_json() == {"confirmed": {"G-forward-in-use": 1},
                               "contradicted": {"G-bearer-403": 1, "G-forward-in-use": 1}}
    assert guesses.Tally().lines() == []
