"""Every example of README.md and docs/ runs, and prints what its page shows (tests/doc_examples.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.doc_examples import (
    ROOT, ExampleFailed, PageRun, matches, normalise, pages, parse, relative,
)


@pytest.mark.parametrize("page", pages(), ids=relative)
def test_the_examples_of_a_page_run(page: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    run = PageRun(page, tmp_path, update=request.config.getoption("--update-examples"))
    run.run()
    for skipped in run.skipped:
        print("not run:", skipped)


# --- the runner itself: a changed output fails, what it normalises, the directives ---------------------


def test_a_changed_output_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```console\n$ echo 'dimail v0.8.2'\ndimail v0.8.3\n```\n", encoding="utf-8")
    with pytest.raises(ExampleFailed, match=r"page.md:2: the output of `echo 'dimail v0.8.2'` differs") as failed:
        PageRun(page, tmp_path / "work").run()
    assert "-dimail v0.8.3\n+dimail v0.8.2" in str(failed.value)


def test_update_writes_the_real_output(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("intro\n\n```console\n$ printf 'a\\nb\\n'\nold\n$ echo same\nsame\n```\n", encoding="utf-8")
    PageRun(page, tmp_path / "work", update=True).run()
    assert page.read_text() == "intro\n\n```console\n$ printf 'a\\nb\\n'\na\nb\n$ echo same\nsame\n```\n"


def test_normalisation_hides_what_changes_from_run_to_run() -> None:
    run = ("2026-12-01 20:18:56,599 POST /domains/ 201 user=la_regie 49.6ms\n"
           "fake-dimail 0.1.0 on http://127.0.0.1:40123/ — docs: /docs\n"
           '{"email": "jean@example.fr", "password": "67pS_RAAJmqqexSS"}\n'
           "target: http://localhost:40123 (prefix ct531a5e)\n"
           "298 passed, 14 skipped in 25.26s (0:00:25)\n")
    page = ("2026-11-23 09:00:00,000 POST /domains/ 201 user=la_regie 80.9ms\n"
            "fake-dimail 0.1.0 on http://127.0.0.1:8001/ — docs: /docs\n"
            '{"email": "jean@example.fr", "password": "k3J-aaaaaaaaaaaa"}\n'
            "target: http://localhost:8001 (prefix ct0a84d3)\n"
            "298 passed, 14 skipped in 10.01s\n")
    assert normalise(run) == normalise(page)
    assert normalise("201 user=la_regie") != normalise("201 user=admin")  # what a user reads is compared


def test_an_ellipsis_line_stands_for_any_lines() -> None:
    assert matches(["a", "...", "z"], ["a", "z"]) and matches(["a", "...", "z"], ["a", "b", "c", "z"])
    assert matches(["...", "z"], ["x", "z"]) and matches(["a", "..."], ["a", "b"])
    assert not matches(["a", "...", "z"], ["a", "b"]) and not matches(["a"], ["a", "b"])


def test_directives_and_blocks_are_read_from_the_page(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- needs: fake-dimail serve --seed people-dev at $DIMAIL_URL -->\n\n"
                    "<!-- example: interrupt, skip not today -->\n"
                    "```console\n$ curl -s $DIMAIL_URL/ \\\n    -o /dev/null\n404\n```\n"
                    "- in a list:\n\n    ```python\n    assert True\n    ```\n", encoding="utf-8")
    first, second = parse(page)
    assert (first.language, first.needs, first.options) == ("console", "fake-dimail serve --seed people-dev "
                                                           "at $DIMAIL_URL", ["interrupt", "skip not today"])
    (command,) = first.commands()
    assert (command.line, command.text, command.output) == (5, "curl -s $DIMAIL_URL/ \\\n    -o /dev/null", ["404"])
    assert (second.language, second.body, second.needs) == ("python", ["assert True"], None)


def test_a_needed_server_is_started_shared_and_replaced(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    needs = "<!-- needs: fake-dimail serve --seed people-dev --state dev.db at $DIMAIL_URL -->\n"
    page.write_text(
        needs + "```console\n$ curl -s -o /dev/null -w '%{http_code}\\n' -u la_regie:password $DIMAIL_URL/domains/ "
        "-H 'content-type: application/json' -d '{\"name\":\"a.fr\",\"context_name\":\"a.fr\",\"features\":[]}'\n"
        "201\n```\n" + needs +
        "```python\nimport os, httpx\nurl = os.environ['DIMAIL_URL']\n"
        "assert httpx.get(url + '/domains/a.fr/spec').status_code == 200\n```\n"
        "<!-- needs: fake-dimail serve --state dev.db at $DIMAIL_URL -->\n"
        "```console\n$ curl -s -u la_regie:password $DIMAIL_URL/domains/ | python3 -c "
        "'import json,sys; print([d[\"name\"] for d in json.load(sys.stdin)])'\n['a.fr']\n```\n", encoding="utf-8")
    PageRun(page, tmp_path / "work").run()  # the third block's server reads the file the first one wrote


def test_an_excerpt_must_be_in_its_file(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- example: excerpt of pyproject.toml -->\n```toml\n[project]\n...\nname = \"fake-dimail\"\n```\n"
                    "<!-- example: excerpt of pyproject.toml -->\n```toml\nname = \"fake-dimail\"\n[project]\n```\n",
                    encoding="utf-8")
    with pytest.raises(ExampleFailed, match=r"page.md:8: not in pyproject.toml \(in this order\): '\[project\]'"):
        PageRun(page, tmp_path / "work").run()


def test_a_failing_python_example_names_its_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("text\n```python\nfrom fake_dimail import FakeDimail\nassert FakeDimail().state()['users'] == 1\n```\n",
                    encoding="utf-8")
    with pytest.raises(ExampleFailed, match=r"page.md:2: the Python example failed: AssertionError"):
        PageRun(page, tmp_path / "work").run()


def test_every_page_is_collected() -> None:
    assert ROOT / "README.md" in pages() and all(p.suffix == ".md" for p in pages())


def test_a_block_run_by_a_test_module_runs_there_only(tmp_path: Path) -> None:
    module, page = tmp_path / "test_x.py", tmp_path / "page.md"
    module.write_text(f"# runs the blocks of {page}\n")
    page.write_text(f"<!-- example: run by {module} -->\n```console\n$ echo one > one.txt; echo done\ndone\n```\n"
                    "```console\n$ echo two\ntwo\n```\n", encoding="utf-8")
    alone = PageRun(page, tmp_path / "alone")
    alone.run()
    assert alone.outputs == ["two\n"] and alone.skipped == [f"{page}:2: run by {module}"]
    there = PageRun(page, tmp_path / "there", runner=str(module))
    there.run()
    assert there.outputs == ["done\n"] and (tmp_path / "there" / "one.txt").read_text() == "one\n"
    module.write_text("# names no page\n")
    with pytest.raises(ExampleFailed, match=r"page.md:2: `example: run by .*test_x.py`: that module does not name"):
        PageRun(page, tmp_path / "again").run()
