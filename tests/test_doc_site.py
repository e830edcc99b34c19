"""The documentation site builds strictly (no broken link, anchor or page left out) and the README holds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "properdocs", "build", "--strict", "--quiet", "-f", str(ROOT / "mkdocs.yml"),
         "-d", str(tmp_path / "site")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    api = (tmp_path / "site" / "reference" / "python-api" / "index.html").read_text(encoding="utf-8")
    assert "mock_dimail" in api and "add_domain" in api  # mkdocstrings rendered the docstrings
    assert "fonts.googleapis.com" not in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n[gone](missing.md) and [here](#nowhere)\n", encoding="utf-8")
    (docs / "orphan.md").write_text("# Not in the nav\n", encoding="utf-8")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config = config.split("\nplugins:", 1)[0] + "\nnav:\n  - index.md\n"
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    build = subprocess.run([sys.executable, "-m", "properdocs", "build", "--strict", "-f", "mkdocs.yml"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert build.returncode == 1
    for warning in ("'missing.md'", "'#nowhere'", "orphan.md"):
        assert warning in build.stderr, build.stderr


def test_the_readme_fits_on_a_page() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 250


def links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r"<(https?://[^>]+)>", text)


@pytest.mark.parametrize("source", [README], ids=["README.md"])
def test_every_link_of_the_readme_resolves(source: Path) -> None:
    text = source.read_text(encoding="utf-8")
    checked = 0
    for link in links(text):
        if link.startswith(("http://127.0.0.1", "http://localhost")):
            continue  # the reader's own running fake
        assert not link.startswith(("http://", "https://")), f"{link}: the README links only into the repository"
        target, _, anchor = link.partition("#")
        path = (source.parent / target).resolve() if target else source
        assert path.exists(), f"README.md links to {link}: no such file"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), f"README.md links to {link}: no such heading in {target or 'README.md'}"
        checked += 1
    assert checked >= 10


def anchors(page: Path) -> set[str]:
    """The ids the Markdown toc gives a page's headings (lower case, punctuation dropped, spaces as -)."""
    found = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", title)).strip("-"))
    return found


def test_no_reference_to_notes_the_repository_lacks() -> None:
    """CHECKS.md, CONTRACT.md and PEOPLE.md are not in the repository: cited only with the account of them."""
    for page in [README, *(ROOT / "docs").rglob("*.md")]:
        text = page.read_text(encoding="utf-8")
        for name in ("CHECKS.md", "CONTRACT.md", "PEOPLE.md"):
            assert f"]({name}" not in text and f"/{name})" not in text, f"{page.name} links to {name}"
        if any(name in text for name in ("CHECKS.md", "CONTRACT.md", "PEOPLE.md")):
            assert "reference/dimail/README.md" in text, f"{page.name} cites dimail's notes without saying where"
