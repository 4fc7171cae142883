"""The needs register in a real browser (Debian's chromium, Playwright) served by the test:
the coordinator records a conference, its needs (a missing one named), groups them and
makes an agreement; the PSZ finds it in its inbox and marks it done. Every page passes
axe-core and fits 360 px. Screenshots in ``test-artifacts/register/``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.deadlines import calendar_for
from domain.settings import PROJECT_ROOT
from testbed.browser import accessible_and_narrow
from testbed.second_factor import sign_in_browser
from testbed.served import served_world, serving
from testbed.web import PASSWORD
from tests.e2e.test_browser_e2e import launch

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "register"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    with served_world(tmp_path, "register") as (_app, world, views):
        views.catch_up()
        with serving(_app) as base:
            yield base, world, views


def test_a_conference_its_needs_and_an_agreement_in_the_browser(served: tuple[str, Any, Any],
                                                                ) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    base, world, views = served
    application = world.application
    calendar = calendar_for(application.network.state)
    due = application.today() + timedelta(days=10)
    while not calendar.is_working_day(due):
        due += timedelta(days=1)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(locale="de-DE", bypass_csp=True)
        page = context.new_page()
        sign_in_browser(page, base, "katrin", PASSWORD)
        page.get_by_role("link", name="Bedarfsregister").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Bedarfsregister")
        page.locator("#c-f-kind").select_option("conference")
        page.locator("#c-f-name").fill("Stadtteilkonferenz Sandow")
        page.locator("#c-f-district").select_option("Sandow")
        page.locator("#c-f-held_on").fill(application.today().isoformat())
        page.locator("#c-f-participants").get_by_label("Psychosoziales Zentrum").check()
        page.locator("#c-f-participants").get_by_label("Migrationsberatung").check()
        page.get_by_role("button", name="Erfassen", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Stadtteilkonferenz Sandow")

        # A need without its text: the field is named, nothing is recorded.
        page.get_by_role("button", name="Bedarf erfassen").click()
        expect(page.locator(".error-summary")).to_contain_text("Bedarf: Bitte füllen Sie")
        for text, sector in (("Kitaplätze fehlen für neu zugezogene Familien", "education"),
                             ("Kein Schulplatz für Jugendliche ab 16", "education")):
            page.locator("#n-f-text").fill(text)
            page.locator("#n-f-sector").select_option(sector)
            page.locator("#n-f-raised_by").get_by_label("Migrationsberatung").check()
            page.get_by_role("button", name="Bedarf erfassen").click()
            expect(page.locator(".flash, [role=status]").first).to_contain_text("ist erfasst")
        views.catch_up()
        page.reload()
        # Both into a new group, by keyboard.
        page.locator("#g-need-1").focus()
        page.keyboard.press("Space")
        page.locator("#g-need-2").check()
        page.locator("#g-f-title").fill("Kinderbetreuung und Schule")
        page.locator("#g-f-need").select_option("childcare")
        page.get_by_role("button", name="Bedarfsgruppe bilden").press("Enter")
        expect(page.locator(".flash, [role=status]").first).to_contain_text("gebildet")
        views.catch_up()
        page.reload()
        # The agreement, for the PSZ.
        page.locator("#a-f-organisation_id").select_option(label="Psychosoziales Zentrum")
        page.locator("#a-f-what").fill("Sprechstunde in der Kita anbieten")
        page.locator("#a-f-due_on").fill(due.isoformat())
        page.locator("#a-f-group_id").select_option(label="Kinderbetreuung und Schule")
        page.get_by_role("button", name="Verabredung erfassen").click()
        expect(page.locator(".flash, [role=status]").first).to_contain_text(
            "im Posteingang der Organisation")
        views.catch_up()
        page.reload()
        expect(page.locator("#cap-agreements")).to_be_visible()
        accessible_and_narrow(page, axe, ARTIFACTS, "forum")
        page.get_by_role("link", name="Dokumentation", exact=True).click()
        expect(page.get_by_role("heading", name="Handreichung: An wen wende ich mich?")) \
            .to_be_visible()
        accessible_and_narrow(page, axe, ARTIFACTS, "pack")
        page.goto(f"{base}/netzwerk/bedarfsregister")
        expect(page.locator("#cap-groups")).to_be_visible()
        expect(page.get_by_role("link", name="Kinderbetreuung und Schule")).to_be_visible()
        accessible_and_narrow(page, axe, ARTIFACTS, "register")
        page.get_by_role("link", name="Kinderbetreuung und Schule").click()
        expect(page.get_by_text("Verabredung getroffen").first).to_be_visible()
        accessible_and_narrow(page, axe, ARTIFACTS, "group")
        page.goto(f"{base}/netzwerk/politik")
        accessible_and_narrow(page, axe, ARTIFACTS, "politics")
        context.close()

        # The PSZ finds it in its inbox and marks it done.
        context = browser.new_context(locale="de-DE", bypass_csp=True)
        page = context.new_page()
        sign_in_browser(page, base, "nadia", PASSWORD)
        page.get_by_role("link", name="Posteingang").first.click()
        page.get_by_role("link", name="Sprechstunde in der Kita anbieten").click()
        accessible_and_narrow(page, axe, ARTIFACTS, "agreement")
        page.get_by_label("Was getan wurde").fill("Sprechstunde jeden Dienstag")
        page.get_by_role("button", name="Als erledigt markieren").click()
        expect(page.locator(".flash, [role=status]").first).to_contain_text("erledigt")
        browser.close()
