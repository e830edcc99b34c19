"""The dashboard at `/_fake/ui`: what it serves in-process, and what a person sees in a real browser.

The browser tests drive Debian's Chromium (`/usr/bin/chromium`, `apt-get install
chromium`) with Playwright against a standalone `fake-dimail serve`; where either
is missing they are skipped with the reason. A failing one leaves a screenshot
under reports/dashboard/, and every run leaves the page at 1280×800 and 1920×1080
there (`dashboard-<size>.png`, what docs/howto/dashboard.md shows).
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


def test_the_operations_a_fault_can_match_are_the_documents(fake: FakeDimail) -> None:
    client = fake.client()
    listed = client.get("/_fake/operations").json()
    document = client.get("/openapi.json").json()["paths"]
    assert sorted((o["method"], o["path"]) for o in listed) == sorted(
        (method.upper(), path) for path, ops in document.items() if not path.startswith("/_fake") for method in ops)
    assert len(listed) == 91
    summaries = {(o["method"], o["path"]): (o["operation_id"], o["summary"]) for o in listed}
    check = document["/domains/{domain_name}/check"]["get"]
    assert summaries[("GET", "/domains/{domain_name}/check")] == (check["operationId"], check["summary"])
    for operation in listed[:: 10]:  # what the form offers, the fault registry takes
        added = client.post("/_fake/faults", json={"method": operation["method"], "path": operation["path"]})
        assert added.status_code == 201, (operation, added.text)


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


def _tab(page: Any, name: str) -> Any:
    """Show one of the domain's tabs; returns its pane."""
    page.locator(f".tabs button[data-tab='{name}']").click()
    pane = page.locator(f"#detail-body [data-pane='{name}']")
    pane.wait_for()
    return pane


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
    _tab(page, "dns")
    expect(page.locator("#zone")).to_contain_text("mx.ox.numerique.gouv.fr.")
    _tab(page, "status")
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

    # something to empty, whichever tests of this module ran before on this worker's server
    httpx.post(server + "/domains/", json={**NEW_DOMAIN, "name": "reset.example.fr"}, auth=REGIE)
    page.goto("/_fake/ui")
    expect(page.locator("#domains li[data-domain='reset.example.fr']")).to_be_visible()
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


# --- what the fake holds, what People will show, the journal's bodies, faults -----------------


def _create(server: str, name: str, **extra: Any) -> None:
    body = {"name": name, "context_name": name, "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}
    created = httpx.post(server + "/domains/", json={**body, **extra}, auth=REGIE)
    assert created.status_code == 201, created.text


def _bearer(server: str) -> dict[str, str]:
    token = httpx.get(server + "/token/", auth=REGIE).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _mailbox(server: str, domain: str, local: str, names: str) -> None:
    given, sur = names.split()
    created = httpx.post(f"{server}/domains/{domain}/mailboxes/{local}", headers=_bearer(server),
                         json={"givenName": given, "surName": sur, "displayName": names})
    assert created.status_code == 201, created.text


@screenshot_on_failure
def test_every_family_shows_on_its_domain_and_secrets_never(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    d = "families.example.fr"
    _create(server, d, public_alias=True)
    _mailbox(server, d, "jean", "Jean Dupont")
    _mailbox(server, d, "marie", "Marie Curie")
    api = _bearer(server)
    posted = [
        httpx.post(f"{server}/domains/{d}/forwards/relay", json={"nexthop": "smtp:relay.example.org"}, headers=api),
        httpx.post(f"{server}/aliases", json={"domain": d, "destination": f"jean@{d}", "description": "lettre"},
                   headers=api),
        httpx.post(f"{server}/domains/{d}/mailboxes/jean/app_passwords", json={"name": "thunderbird", "type": "imap"},
                   headers=api),
        httpx.post(f"{server}/domains/{d}/mailboxes/jean/master_of/marie@{d}", json={"displayName": "Marie partagée"},
                   headers=api),
        httpx.post(f"{server}/domains/{d}/mailboxes/jean/identities/sub-42", headers=api),
        httpx.post(f"{server}/_fake/faults", json={"method": "DELETE", "answer": 502, "times": 3,
                                                   "path": "/domains/{domain_name}/forwards/{user_name}"}),
    ]
    assert [p.status_code for p in posted] == [201] * 6, [p.text for p in posted]
    alias, secret = posted[1].json()["alias"], posted[2].json()["password"]

    page.goto(f"/_fake/ui#domain={d}")
    fault = page.locator(f"#faults tr[data-fault='{posted[-1].json()['id']}']")
    for text in ("DELETE", "/domains/{domain_name}/forwards/{user_name}", "502", "×3", "0 / 0"):
        expect(fault).to_contain_text(text)
    addresses = _tab(page, "addresses")
    expect(addresses.locator("#forwards")).to_contain_text(f"relay@{d}")
    expect(addresses.locator("#forwards")).to_contain_text("smtp:relay.example.org")
    expect(addresses.locator("#public-aliases")).to_contain_text(alias)
    expect(addresses.locator("#public-aliases")).to_contain_text("lettre")
    mailboxes = _tab(page, "mailboxes")
    expect(mailboxes.locator("#app-passwords")).to_contain_text("thunderbird")
    expect(mailboxes.locator("#app-passwords")).to_contain_text("never")
    expect(mailboxes.locator("#secondaries")).to_contain_text(f"marie@{d}")
    expect(mailboxes.locator("#secondaries")).to_contain_text("Marie partagée")
    expect(mailboxes.locator("#identities")).to_contain_text("sub-42")
    # dimail lists the OX context's admin: the row says why in its tooltip.
    oxadmin = mailboxes.locator(f"tr[data-email='oxadmin@{d}']")
    expect(oxadmin).to_contain_text("quirk")
    expect(oxadmin).to_have_attribute("title", re.compile("the OX context's admin .* faithful quirk"))
    expect(page.locator("#counts [data-store=public_aliases]")).to_contain_text("public aliases")
    assert secret not in page.content()  # an app password's secret is never on the page
    assert "password_hash" not in page.locator("body").inner_text()
    fault.get_by_role("button", name="remove").click()
    expect(fault).to_have_count(0)


@screenshot_on_failure
def test_a_fault_added_from_the_dashboard_fails_the_next_call_until_removed(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    d = "faulty.example.fr"
    _create(server, d)
    page.goto(f"/_fake/ui#domain={d}")
    page.locator("#fault-method").select_option("GET")
    page.locator("#fault-path").select_option("/domains/{domain_name}/check")
    page.locator("#fault-answer").select_option("503")
    page.locator("#fault-times").fill("")  # every request
    page.get_by_role("button", name="add fault", exact=True).click()
    fault = page.locator("#faults tr[data-fault]", has_text="GET /domains/{domain_name}/check")
    expect(fault).to_contain_text("every time")

    failed = httpx.get(f"{server}/domains/{d}/check", auth=REGIE)
    assert (failed.status_code, failed.text) == (503, "Service Unavailable")
    expect(fault).to_contain_text("1 / 1", timeout=5000)  # the journal's poll brings the hits
    expect(page.locator("#journal tr.faulted", has_text=f"/domains/{d}/check")).to_contain_text("503")

    fault.get_by_role("button", name="remove").click()
    expect(fault).to_have_count(0)
    assert [f["path"] for f in httpx.get(f"{server}/_fake/faults").json()] == []
    assert httpx.get(f"{server}/domains/{d}/check", auth=REGIE).status_code == 200


@screenshot_on_failure
def test_peoples_status_goes_from_action_required_to_enabled_after_publish_and_fix(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    from provisioner import Provisioner

    d = "people-view.example.fr"
    _create(server, d)
    page.goto(f"/_fake/ui#domain={d}")
    status = page.locator("#people-status").first
    expect(status).to_have_text("action required")
    expect(page.locator("#people")).to_contain_text("external checks fail (domain_exist)")
    expect(page.locator("#people")).to_contain_text("not by /fix")
    expect(page.locator("#people-pending")).to_contain_text("kept pending")
    people = Provisioner(server)
    assert people.domain_status(d).status == "action_required"  # People's own fetch agrees

    page.get_by_role("button", name="publish spec", exact=True).click()
    # The DNS changed, dimail's stored check not yet: People's next fetch would /fix/ and enable it.
    expect(page.locator("#people-stale")).to_contain_text("Press check")
    expect(status).to_have_text("enabled")
    expect(page.locator("#people")).to_contain_text(f"GET /domains/{d}/fix/")
    expect(page.locator("#people")).to_contain_text("/fix repairs it")
    page.get_by_role("button", name="fix", exact=True).click()
    expect(page.locator("#domain-state")).to_have_text("ok")
    expect(page.locator("#people-stale")).to_have_count(0)
    expect(status).to_have_text("enabled")
    expect(page.locator("#people-pending")).to_contain_text("sent, each")
    assert people.domain_status(d).status == "enabled"


@screenshot_on_failure
def test_a_journal_line_opens_on_its_bodies_secrets_redacted_and_filters_by_status(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    page.goto("/_fake/ui")
    expect(page.locator("#connection")).to_have_text("live")
    created = httpx.post(server + "/users/", auth=REGIE,
                         json={"name": "journal-user", "password": "pa55-w0rd-secret", "is_admin": False, "perms": []})
    assert created.status_code == 201
    missing = httpx.get(server + "/domains/nowhere.example/check", auth=REGIE)
    assert missing.status_code == 404
    line = page.locator("#journal tr.entry", has_text="POST").filter(has_text="/users/").first
    expect(line).to_be_visible(timeout=5000)
    line.click()
    bodies = page.locator("#journal tr.bodies")
    expect(bodies).to_contain_text('"name": "journal-user"')
    expect(bodies).to_contain_text('"password": "<redacted>"')
    expect(bodies).to_contain_text("response 201")
    expect(bodies).to_contain_text("auth: basic · operation: /users/")
    assert "pa55-w0rd-secret" not in bodies.inner_text()
    line.click()
    expect(bodies).to_have_count(0)

    page.locator("#journal-status").select_option("4")
    expect(line).to_be_hidden()
    expect(page.locator("#journal tr.entry", has_text="/domains/nowhere.example/check")).to_be_visible()
    page.locator("#journal-status").select_option("")
    expect(line).to_be_visible()
    page.locator("#journal-path").fill("/domains/nowhere")
    page.locator("#journal-path").press("Enter")
    expect(page.locator("#journal tr.entry:not(.own)")).to_have_count(1)


# --- the layout, at the two sizes the docs show ----------------------------------------------

LONG = "une-tres-longue-collectivite-territoriale.example.gouv.fr"


@pytest.fixture
def shown(server: str) -> str:
    """The module's fake, reset to hold a bit of everything (and nothing of the other tests), for the screenshots."""
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("ok.example.fr", allowed=["la_regie"])
    fake.add_domain(LONG, people_status="action_required", allowed=["la_regie"])
    fake.add_domain("failed.example.fr", people_status="failed", allowed=["la_regie"])
    fake.add_mailbox("ok.example.fr", "jean")
    fake.add_mailbox("ok.example.fr", "marie", given_name="Marie", sur_name="Curie", active=False)
    fake.add_alias("ok.example.fr", "contact", "jean@ok.example.fr")
    fake.add_forward("ok.example.fr", "relay", "smtp:relay.example.org")
    fake.add_app_password("ok.example.fr", "jean", "thunderbird")
    fake.add_identity("ok.example.fr", "jean", "sub-1234")
    fake.add_secondary("ok.example.fr", "jean", "marie@ok.example.fr", "Marie (shared)")
    assert httpx.post(server + "/_fake/reset").status_code == 200  # the other tests' faults go too
    assert httpx.put(server + "/_fake/state", json=fake.state()).status_code == 200
    assert httpx.delete(server + "/_fake/requests").status_code == 204
    _create(server, "new.example.fr")
    _mailbox(server, "ok.example.fr", "paul", "Paul Martin")
    assert httpx.post(server + "/_fake/faults", json={"method": "GET", "path": "/domains/{domain_name}/check",
                                                      "answer": 503, "times": 2}).status_code == 201
    assert httpx.get(server + "/domains/ok.example.fr/check", auth=REGIE).status_code == 503
    return server


# In the page: names broken inside a word (not after a dot, slash, @ or hyphen), and what sticks out of its box.
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  for (const el of document.querySelectorAll(".name")) {
    if (!el.getClientRects().length) continue;
    for (const node of el.childNodes) {
      if (node.nodeType !== Node.TEXT_NODE) continue;
      const text = node.textContent;
      let top = null;
      for (let i = 0; i < text.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getBoundingClientRect();
        if (top !== null && Math.abs(rect.top - top) > 3 && text[i - 1] !== "-") problems.push(`mid-word: ${text}`);
        top = rect.top;
      }
    }
  }
  const right = document.documentElement.clientWidth;
  for (const el of document.querySelectorAll("header *, #counts span, section h2, .tabs button, #fault-form *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > right + 0.5) problems.push(`cut at the right: ${el.tagName} ${el.textContent.slice(0, 40)}`);
  }
  for (const section of document.querySelectorAll("main > section")) {
    const box = section.getBoundingClientRect();
    for (const el of section.querySelectorAll("h2, h2 *, #fault-form *, #detail-head *")) {
      const inner = el.getBoundingClientRect();
      if (inner.width && inner.right > box.right + 0.5) problems.push(`out of ${section.id}: ${el.tagName} ${el.textContent.slice(0, 40)}`);
    }
    const scroller = section.querySelector(".scroll");
    if (!scroller || getComputedStyle(scroller).overflowY !== "auto") problems.push(`${section.id} does not scroll on its own`);
  }
  if (document.scrollingElement.scrollHeight > innerHeight + 1) problems.push("the page itself scrolls");
  return problems;
}"""


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1920, 1080)])
def test_the_layout_holds_and_leaves_a_screenshot(browser: Any, shown: str, width: int, height: int) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(base_url=shown, viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda r: None if urlsplit(r.url).path.startswith("/_fake/") else errors.append(r.url))
    try:
        page.goto(f"/_fake/ui#domain={LONG}")
        expect(page.locator("#people-status").first).to_have_text("action required")
        expect(page.locator("#faults tr[data-fault]")).to_contain_text("1 / 1")  # one of its two answers given
        expect(page.locator("#journal tr.faulted")).to_have_count(1)
        expect(page.locator("#users")).to_contain_text(LONG)
        assert page.evaluate(LAYOUT_PROBLEMS) == []
        store_names = set(page.evaluate("() => [...document.querySelectorAll('#counts [data-store]')]"
                                        ".map((e) => e.dataset.store)"))
        assert {"users", "domains", "mailboxes", "forwards", "app_passwords", "identities", "zones"} <= store_names
        assert page.locator("#counts .muted").get_attribute("title").startswith("nothing yet in: ")
        # The mailbox quirk is explained where it shows.
        _tab(page, "mailboxes")
        assert page.evaluate(LAYOUT_PROBLEMS) == []
        _tab(page, "status")
        REPORTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(REPORTS / f"dashboard-{width}x{height}.png"))
        assert errors == [], "the page's script failed, or it called outside /_fake/"
    finally:
        context.close()
