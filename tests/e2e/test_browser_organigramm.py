"""The responsibility map and the Organigramm in a real browser (Debian's chromium,
Playwright) served by the test: the coordinator changes a rule by keyboard and sees it in
the Organigramm; a stranger without an account reads the public page from the sign-in
page, in German and English, and prints it. Each page passes axe-core and fits 360 px.
Screenshots in ``test-artifacts/organigramm/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.organisation import contact_key
from domain.settings import PROJECT_ROOT
from domain.stamp import Stamp
from testbed.browser import accessible_and_narrow
from testbed.second_factor import sign_in_browser
from testbed.served import served_world, serving
from testbed.web import PASSWORD
from tests.e2e.test_browser_e2e import launch

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "organigramm"
SYSTEM = Stamp.system("test-setup")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with served_world(tmp_path, "organigramm") as (app, world, views):
        application = world.application
        directory = application.directory
        # A volunteer initiative working in Sachsendorf, and contacts: some public.
        initiative = directory.register_organisation(
            SYSTEM, "nachbarn", "Nachbarschaftshilfe Sachsendorf", "civil_society",
            "nachbarn@test.invalid")["organisation_id"]
        directory.add_service(SYSTEM, initiative, "paten", {
            "name": "Lernpatenschaften", "needs": ["school", "volunteer"],
            "districts": ["Sachsendorf"], "languages": ["de", "ar"]})
        public = {"name": "Beratungstelefon PSZ", "title": "Mo–Fr 10–14 Uhr",
                  "phone": "0355 000 44 00", "email": "kontakt@psz.invalid"}
        private = {"name": "Dr. Heimlich Privat", "email": "heimlich@psz.invalid"}
        directory.change_contacts(SYSTEM, world.org("psz"), [public, private])
        directory.choose_public_contacts(SYSTEM, world.org("psz"), [contact_key(public)])
        application.responsibilities.write_self_help(
            world.as_("katrin", "koordinierungsstelle"), "health.psychosocial",
            "shared_accommodation", "Beim Beratungstelefon anrufen; eine Sprachmittlung "
            "kommt dazu.", "Call the counselling line; an interpreter joins.")
        views.catch_up()
        with serving(app) as base:
            yield base


def test_the_coordinator_changes_the_map_and_everyone_reads_the_organigramm(
        served: str) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    base = served
    with sync_playwright() as playwright:
        browser = launch(playwright)
        # axe is injected by the test; the pages' own policy allows no foreign script.
        context = browser.new_context(locale="de-DE", bypass_csp=True)
        page = context.new_page()
        sign_in_browser(page, base, "katrin", PASSWORD)
        page.get_by_role("link", name="Zuständigkeiten", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Zuständigkeiten (Zuständigkeitsmatrix)")
        accessible_and_narrow(page, axe, ARTIFACTS, "responsibilities")

        # Rule r3 (psychosocial counselling → PSZ) gets the Migrationsberatung, by keyboard.
        link = page.get_by_role("link", name="Regel r3 ändern")
        link.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Regel r3 ändern")
        accessible_and_narrow(page, axe, ARTIFACTS, "rule")
        page.get_by_label("Migrationsberatung – Soziale Arbeit").focus()
        page.keyboard.press("Space")
        page.get_by_role("button", name="Speichern").press("Enter")
        expect(page.locator(".flash").first).to_contain_text("ab der nächsten Vermittlung")
        expect(page.locator("table.rules")).to_contain_text("Migrationsberatung")

        # Bad input comes back beside its field: no organisation ticked.
        page.goto(base + "/zustaendigkeiten/regel")
        page.get_by_label("Bedarf").select_option("legal")
        page.get_by_role("button", name="Speichern").click()
        expect(page.locator(".error-summary")).to_be_focused()
        expect(page.locator(".error-summary")).to_contain_text("mindestens eine Organisation")

        page.goto(base + "/organigramm")
        page.get_by_label("Sozialraum", exact=True).select_option("Sachsendorf")
        page.get_by_role("button", name="Anzeigen").press("Enter")
        first_stage = page.locator("table.organigramm").first
        expect(first_stage).to_contain_text("Migrationsberatung")
        expect(page.locator("svg.organigramm")).to_contain_text("Lernpatenschaften")
        accessible_and_narrow(page, axe, ARTIFACTS, "organigramm")
        page.goto(base + "/zustaendigkeiten/verlauf")
        expect(page.locator("table.history").first).to_contain_text("Regel geändert")
        expect(page.locator("table.history").first).to_contain_text("Katrin")
        accessible_and_narrow(page, axe, ARTIFACTS, "history")
        page.goto(base + "/zustaendigkeiten/kontakte")
        accessible_and_narrow(page, axe, ARTIFACTS, "contacts")

        # A volunteer without an account: from the sign-in page to the public page.
        stranger = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
        stranger.goto(base + "/anmelden")
        stranger.get_by_role("link", name="Wer hilft wobei").click()
        expect(stranger.get_by_role("heading", level=1)).to_have_text(
            "Wer hilft wobei in Ströbitz")
        stranger.get_by_label("Sozialraum", exact=True).select_option("Sachsendorf")
        stranger.get_by_label("Wohnform", exact=True).select_option("shared_accommodation")
        stranger.get_by_role("button", name="Anzeigen").click()
        expect(stranger.get_by_role("heading", level=1)).to_have_text(
            "Wer hilft wobei in Sachsendorf")
        body = stranger.locator("main")
        expect(body).to_contain_text("Beratungstelefon PSZ")
        expect(body).to_contain_text("Beim Beratungstelefon anrufen")
        expect(body).not_to_contain_text("Heimlich")
        expect(body).not_to_contain_text("Katrin")
        accessible_and_narrow(stranger, axe, ARTIFACTS, "public")
        stranger.get_by_role("link", name="English").click()
        expect(stranger.get_by_role("heading", level=1)).to_have_text(
            "Who helps with what in Sachsendorf")
        expect(stranger.locator("main")).to_contain_text("Call the counselling line")
        accessible_and_narrow(stranger, axe, ARTIFACTS, "public-en")
        _printed(stranger, ARTIFACTS / "public-print.png")
        browser.close()


def _printed(page: Any, path: Path) -> None:
    """As it prints: without the header and the filter; a chart of one or two housing
    stages within the page, one of three or four left to the tables (it would print at
    5 pt)."""
    from playwright.sync_api import expect

    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    expect(page.locator("header.site")).to_be_hidden()
    expect(page.locator("form.filter")).to_be_hidden()
    expect(page.locator(".print-only")).to_be_visible()
    chart = page.locator("svg.organigramm")
    if any(f"stages-{n}" in (chart.get_attribute("class") or "") for n in (3, 4)):
        expect(chart).to_be_hidden()
        expect(page.locator("table.organigramm").first).to_be_visible()
    else:
        box = chart.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 794, box
    page.screenshot(path=path, full_page=True)
    page.emulate_media(media="screen")
