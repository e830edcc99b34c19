"""The dashboard at `/_fake/ui`: what it serves in-process, and what a person sees in a real browser.

The browser tests drive Debian's Chromium (`/usr/bin/chromium`, `apt-get install
chromium`) with Playwright against a standalone `fake-dimail serve`; where either
is missing they are skipped with the reason. A failing one leaves a screenshot
under reports/dashboard/.
"""

from __future__ import annotations

import functools
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from fake_dimail import FakeDimail

from tests.conftest import served

REPORTS = Path(__file__).resolve().parents[1] / "reports" / "dashboard"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As root (no sandbox), without a GPU, and where the network refuses Chromium's own background connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REGIE = ("la_regie", "password")
CONTROL_TOKEN = "s3cret-dashboard-token"
NEW_DOMAIN = {"name": "dash.example.fr", "context_name": "dash.example.fr",
              "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}


# --- in-process: what the fake serves -----------------------------------------------------


@pytest.fixture
def fake() -> FakeDimail:
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("people.example.fr", allowed=["la_regie"])
    return fake


def test_the_page_and_its_assets_are_served_without_any_outside_address(fake: FakeDimail) -> None:
    client = fake.client()
    page = client.get("/_fake/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/_fake/ui/app.js"' in page.text and 'href="/_fake/ui/style.css"' in page.text
    script, style = client.get("/_fake/ui/app.js"), client.get("/_fake/ui/style.css")
    assert (script.status_code, script.headers["content-type"]) == (200, "text/javascript; charset=utf-8")
    assert (style.status_code, style.headers["content-type"]) == (200, "text/css; charset=utf-8")
    for body in (page.text, script.text, style.text):
        assert "http://" not in body and "https://" not in body and '"//' not in body, "no CDN, no outside address"
    assert client.get("/_fake/ui/index.html").status_code == 404  # only the listed assets
    assert client.get("/_fake/ui/..%2Fapp.py").status_code == 404


def test_the_mailbox_listing_is_the_v1_one_of_an_admin(fake: FakeDimail) -> None:
    fake.add_mailbox("people.example.fr", "jean")
    fake.add_mailbox("people.example.fr", "marie", given_name="Marie", sur_name="Curie", active=False)
    listing = fake.client().get("/_fake/domains/people.example.fr/mailboxes")
    assert listing.status_code == 200
    assert [(m["email"], m["status"], m["active"], m["displayName"]) for m in listing.json()] == [
        ("jean@people.example.fr", "ok", "yes", "Jean Dupont"),
        ("marie@people.example.fr", "ok", "no", "Marie Curie"),
        ("oxadmin@people.example.fr", "broken", "unknown", "Context Admin"),  # dimail lists the context's admin
    ]
    assert fake.mailboxes("people.example.fr") == listing.json()
    as_regie = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    assert as_regie.get("/domains/people.example.fr/mailboxes/").json() == listing.json()
    missing = fake.client().get("/_fake/domains/nowhere.example/mailboxes")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Domain not found"})


# --- in a real browser --------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine: `apt-get install chromium` (as .ci/run does) to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: make install-test (pip install -e '.[contracts]' --group dev)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    yield from served("--seed", "people-dev")


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=server, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The page reads and steers through the control plane alone, never dimail's own routes.
    elsewhere: list[str] = []
    page.on("request", lambda r: None if urlsplit(r.url).path.startswith("/_fake/") else elsewhere.append(r.url))
    yield page
    context.close()
    assert errors == [], "the page's script failed"
    assert elsewhere == [], "the page called outside /_fake/"


def screenshot_on_failure(test: Callable[..., None]) -> Callable[..., None]:
    """A failing browser test leaves what the page showed in reports/dashboard/<test>.png."""

    @functools.wraps(test)
    def run(page: Any, **kwargs: Any) -> None:
        try:
            test(page, **kwargs)
        except BaseException:
            REPORTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(REPORTS / f"{test.__name__}.png"), full_page=True)
            raise

    return run


def _pick(page: Any, domain: str) -> Any:
    page.locator(f"#domains li[data-domain='{domain}']").click()
    return page.locator("#domain-state")


def _check_row(page: Any, check: str) -> Any:
    return page.locator("table.checks tr", has=page.locator("td", has_text=re.compile(f"^{check}$")))


@screenshot_on_failure
def test_publish_spec_then_fix_makes_a_domain_ok(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    created = httpx.post(server + "/domains/", json=NEW_DOMAIN, auth=REGIE)
    assert created.status_code == 201
    page.goto("/_fake/ui")
    state = _pick(page, "dash.example.fr")
    expect(state).to_have_text("broken")
    expect(_check_row(page, "domain_exist")).to_contain_text("must_exist")
    expect(_check_row(page, "domain_exist")).to_contain_text("Le domaine dash.example.fr n'existe pas")

    page.get_by_role("button", name="publish spec", exact=True).click()
    expect(page.locator("#detail table").last).to_contain_text("mx.ox.numerique.gouv.fr.")
    page.get_by_role("button", name="fix", exact=True).click()
    expect(state).to_have_text("ok")
    expect(page.locator("#domains li[data-domain='dash.example.fr'] .state")).to_have_text("ok")
    checked = httpx.get(server + "/domains/dash.example.fr/check", auth=REGIE).json()
    assert (checked["state"], checked["valid"], checked["active"]) == ("ok", True, True)

    # Breaking dimail's side shows at the next check, with dimail's code and text.
    page.get_by_role("button", name="break postfix", exact=True).click()
    page.get_by_role("button", name="unbreak postfix", exact=True).wait_for()
    page.get_by_role("button", name="check", exact=True).click()
    expect(state).to_have_text("broken")
    expect(_check_row(page, "postfix")).to_contain_text("no_postfix")
    expect(_check_row(page, "postfix")).to_contain_text("Le domaine n'est pas déclaré dans postfix")


@screenshot_on_failure
def test_another_clients_request_appears_in_the_journal(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    page.goto("/_fake/ui")
    expect(page.locator("#connection")).to_have_text("live")
    httpx.get(server + "/domains/journal-probe.example/check", auth=REGIE)
    line = page.locator("#journal tr", has_text="/domains/journal-probe.example/check")
    expect(line).to_be_visible(timeout=5000)  # polled every second, no reload
    expect(line).to_contain_text("la_regie")
    expect(line).to_contain_text("404")
    # A write by someone else refreshes what the page shows.
    httpx.post(server + "/domains/", json={**NEW_DOMAIN, "name": "other.example.fr"}, auth=REGIE)
    expect(page.locator("#domains li[data-domain='other.example.fr']")).to_be_visible(timeout=5000)


@screenshot_on_failure
def test_reset_empties_the_fake(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    page.goto("/_fake/ui")
    expect(page.locator("#domains li[data-domain]").first).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="reset", exact=True).click()
    expect(page.locator("#domains")).to_have_text("no domain yet")
    assert httpx.get(server + "/domains/", auth=REGIE).json() == []
    expect(page.locator("#users")).to_contain_text("la_regie")  # re-seeded as the server started


@pytest.fixture(scope="module")
def guarded() -> Iterator[str]:
    """A standalone fake started with a control token."""
    yield from served("--seed", "people-dev", "--control-token", CONTROL_TOKEN)


@screenshot_on_failure
def test_with_a_control_token_the_page_asks_for_it_then_steers(page: Any, guarded: str) -> None:
    from playwright.sync_api import expect

    assert httpx.post(guarded + "/domains/", json={**NEW_DOMAIN, "name": "guarded.example.fr"}, auth=REGIE).is_success
    page.goto(guarded + "/_fake/ui")
    page.get_by_label("Control token").fill("not it")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Wrong control token: give the --control-token the server was started with")
    page.get_by_label("Control token").fill(CONTROL_TOKEN)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#connection")).to_have_text("live")
    state = _pick(page, "guarded.example.fr")
    page.get_by_role("button", name="publish wrong", exact=True).click()
    page.get_by_role("button", name="check", exact=True).click()
    expect(_check_row(page, "mx")).to_contain_text("wrong_mx")
    expect(state).to_have_text("broken")
    # The cookie is the page's alone: a script without the token is still refused.
    assert httpx.get(guarded + "/_fake/state").status_code == 401
