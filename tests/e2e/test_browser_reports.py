"""The network's reports in a real browser (Debian's chromium, Playwright, headless) under
gunicorn: each page at desk width and at 360 px, axe-core (bundled by
axe-playwright-python) finds no violations, nothing scrolls sideways, and the PDF downloads.
Screenshots in ``test-artifacts/reports/``."""

from __future__ import annotations

import os
from datetime import date
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.settings import PROJECT_ROOT, Settings
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore
from runtime.bootstrap import bootstrap
from testbed.browser import WIDEST
from testbed.processes import gunicorn, same_master_key
from testbed.reports import ReferredInMarch
from testbed.web import PASSWORD, give_passwords
from testbed.world import World
from testbed.second_factor import sign_in_browser
from tests.e2e.test_browser_e2e import launch

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "reports"
PAGES = {"health": "/netzwerk", "map": "/netzwerk/karte",
         "gaps": "/netzwerk/versorgungsluecken", "capacity": "/netzwerk/kapazitaet",
         "directory": "/verzeichnis"}
MARCH = "?von=2026-03&bis=2026-03"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'reports.sqlite3'}"
    application = bootstrap(Settings(database_url=url)).application
    world = World.build(application)
    give_passwords(application)
    ReferredInMarch(world)
    application.planning.record_demand(world.as_("katrin", "koordinierungsstelle"),
                                       "health.psychosocial", date(2026, 3, 1),
                                       date(2026, 3, 1), 30)
    ViewUpdater(application, ViewStore(Settings(database_url=url))).catch_up()
    application.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SQLITE_"))}
    env.update(DATABASE_URL=url, SECRET_KEY="reports-" + "x" * 32, PYTHONUNBUFFERED="1",
               **same_master_key(), INSTANCE_DIR=str(tmp_path / "instance"),
               GUNICORN_WORKERS="1")
    with gunicorn(env, tmp_path / "gunicorn.log") as base:
        yield base


def test_the_reports_read_well_at_desk_and_phone_width(served: str) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        # axe is injected by the test; the pages' own policy allows no foreign script.
        context = browser.new_context(locale="de-DE", bypass_csp=True,
                                      accept_downloads=True)
        page = context.new_page()
        sign_in_browser(page, served, "katrin", PASSWORD)
        page.get_by_role("link", name="Netzwerk", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Zustand des Netzwerks")
        for width in (1280, 360):
            page.set_viewport_size({"width": width, "height": 900})
            for name, path in PAGES.items():
                page.goto(served + path + MARCH)
                page.screenshot(path=ARTIFACTS / f"{name}-{width}.png", full_page=True)
                violations = axe.run(page).response["violations"]
                assert violations == [], (name, width, [
                    (v["id"], [n["target"] for n in v["nodes"]]) for v in violations])
                sideways = page.evaluate(
                    "document.documentElement.scrollWidth - window.innerWidth")
                assert sideways <= 0, (name, width, sideways, page.evaluate(WIDEST))
        # The filter by keyboard: a district narrows the map to its flows.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(served + PAGES["map"] + MARCH)
        page.get_by_label("Sozialraum").select_option("Schmellwitz")
        page.get_by_role("button", name="Anzeigen").press("Enter")
        expect(page.locator("table").last).to_contain_text("Kinderarztpraxis Schmellwitz")
        expect(page.locator("table").last).not_to_contain_text("Psychosoziales Zentrum")
        with page.expect_download() as download:
            page.get_by_role("link", name="PDF").click()
        saved = ARTIFACTS / "netzwerkkarte.pdf"
        download.value.save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF")
        browser.close()


def test_a_failed_form_low_on_the_page_shows_its_errors(served: str) -> None:
    """The consent form sits at the bottom of the case page: sent incomplete, the page
    comes back with the error summary in view and focused (issue 20)."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(locale="de-DE").new_page()
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(served + "/anmelden")
        page.get_by_label("Benutzername").fill("anna")
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_label("Passwort").press("Enter")
        page.goto(served + "/faelle")
        page.locator("main table a").first.click()
        page.get_by_role("button", name="Einwilligung erfassen").click()
        summary = page.locator(".error-summary").first
        expect(summary).to_be_focused()
        box = summary.bounding_box()
        assert box is not None and 0 <= box["y"] and box["y"] + 40 <= 800, box
        page.screenshot(path=ARTIFACTS / "failed-consent-form.png")
        browser.close()
