"""The coordinator's directory exchange in a real browser (Debian's chromium, Playwright)
served by the test: another publisher's HSDS directory uploaded, the report read, a term mapped
by keyboard; the page passes axe-core and fits 360 px with the report and the pending
list on it. Screenshots in ``test-artifacts/exchange/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.settings import PROJECT_ROOT
from readmodel.runner import ViewUpdater
from testbed.hsds_documents import publisher_document
from testbed.second_factor import sign_in_browser
from testbed.browser import accessible_and_narrow
from testbed.served import served_world, serving
from testbed.web import PASSWORD
from tests.e2e.test_browser_e2e import launch

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "exchange"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, ViewUpdater]]:
    with served_world(tmp_path, "exchange") as (app, _world, views):
        views.catch_up()
        with serving(app) as base:
            yield base, views


def test_the_coordinator_imports_and_maps_a_publishers_directory(served: tuple[str, Any],
                                                                  tmp_path: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    document = tmp_path / "landesverzeichnis.json"
    document.write_text(json.dumps(publisher_document(), ensure_ascii=False))
    axe = Axe()
    base, views = served
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(locale="de-DE", bypass_csp=True)
        page = context.new_page()
        sign_in_browser(page, base, "katrin", PASSWORD)
        page.get_by_role("link", name="Verzeichnis-Austausch").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Verzeichnis-Austausch (HSDS)")
        page.get_by_role("button", name="Importieren").click()  # no file chosen
        expect(page.locator(".error-summary")).to_contain_text("Bitte wählen Sie eine Datei")
        page.get_by_label("Datei").set_input_files(document)
        page.get_by_label("Herausgeber").fill("landesverzeichnis")
        page.get_by_label("Nur prüfen (Probelauf)").check()
        page.get_by_role("button", name="Importieren").click()
        expect(page.get_by_role("heading", name="Bericht des Probelaufs")).to_be_focused()
        expect(page.get_by_text("Nichts wartet.")).to_be_visible()
        page.get_by_label("Datei").set_input_files(document)
        page.get_by_role("button", name="Importieren").click()
        expect(page.get_by_role("heading", name="Bericht des Imports")).to_be_visible()
        expect(page.locator("#cap-pending")).to_contain_text("3 Organisationen")
        accessible_and_narrow(page, axe, ARTIFACTS, "report")

        # A term mapped by keyboard: open it, choose a need, save.
        summary = page.locator("summary", has_text="Wohnraumvermittlung")
        summary.focus()
        summary.press("Enter")
        details = page.locator("details", has=summary)
        details.get_by_label("Wohnungssuche").focus()
        page.keyboard.press("Space")
        details.get_by_label("Bereich (optional)").select_option("housing")
        details.get_by_role("button", name="Zuordnung speichern").press("Enter")
        expect(page.locator(".flash, [role=status]").first).to_contain_text(
            "1 Angebot nimmt jetzt Vermittlungen an")
        expect(page.locator("#cap-pending")).to_contain_text("2 Organisationen")
        accessible_and_narrow(page, axe, ARTIFACTS, "mapped")

        views.catch_up()  # what the worker does after each command (none runs here)
        page.get_by_role("link", name="Verzeichnis", exact=True).click()
        expect(page.locator("main")).to_contain_text("Wohnhilfe Süd (fiktiv)")
        accessible_and_narrow(page, axe, ARTIFACTS, "directory")
        browser.close()
