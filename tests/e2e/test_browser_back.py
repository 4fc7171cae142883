"""Back, then send again (issue 20, point 1), in Debian's chromium: the case form records one
case and says the second send was the first's; the referral form records one referral and
warns that the same receiver already has an open one for this need, with the choice to
send another all the same."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.second_factor import sign_in_browser
from testbed.served import served_world, serving
from testbed.web import PASSWORD
from tests.e2e.test_browser_e2e import launch


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any, Any]]:
    with served_world(tmp_path, "back") as (app, world, views):
        case_id = world.open_case()
        world.consent(case_id)
        views.catch_up()
        with serving(app) as base:
            yield base, world, case_id


def _cases_named(world: Any, name: str) -> int:
    return sum(1 for case in world.application.all_cases()
               if case.person.get("display_name") == name)


def test_back_and_send_again_records_once(served: tuple[str, Any, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, world, case_id = served
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(locale="de-DE").new_page()
        sign_in_browser(page, base, "anna", PASSWORD)

        # -- a case ------------------------------------------------------------------------
        def fill_case_form() -> None:
            page.get_by_label("Name im Netzwerk (Pflichtfeld)").fill("Olena D.")
            page.get_by_label("Haushaltsgröße (Pflichtfeld)").fill("2")
            page.get_by_label("Sozialraum (Pflichtfeld)").select_option("Sandow")
            page.get_by_label("Unterbringung (Pflichtfeld)").select_option(index=1)
            page.get_by_label("Aufenthaltsstatus (Pflichtfeld)").select_option(index=1)

        page.goto(base + "/faelle/neu")
        fill_case_form()
        page.get_by_role("button", name="Fall eröffnen").click()
        expect(page.locator(".flash.success")).to_contain_text("wurde eröffnet")
        page.go_back()
        page.wait_for_url(re.compile(r"/faelle/neu$"))
        if not page.get_by_label("Name im Netzwerk (Pflichtfeld)").input_value():
            fill_case_form()  # the browser did not keep what was typed: typed again
        page.get_by_role("button", name="Fall eröffnen").click()
        expect(page.locator(".flashes")).to_contain_text("nicht doppelt angelegt")
        assert _cases_named(world, "Olena D.") == 1

        # -- a referral --------------------------------------------------------------------
        form = f"{base}/faelle/{case_id}/vermitteln?need=health.psychosocial&urgency=routine"

        def send() -> None:
            page.locator(".suggestion").filter(has_text="Psychosoziales Zentrum").first \
                .locator("input[type=radio]").check()
            page.get_by_label("Begründung und was die empfangende Stelle wissen sollte").fill(
                "Bitte um Erstgespräch.")
            page.get_by_role("button", name="Vermittlung senden").click()

        page.goto(form)
        send()
        page.wait_for_url(re.compile(r"/vermittlungen/"))
        page.go_back()
        page.wait_for_url(re.compile(r"/vermitteln\?"))
        send()
        summary = page.locator(".error-summary")
        expect(summary).to_contain_text("Es gibt bereits eine offene Vermittlung an "
                                        "Psychosoziales Zentrum für diesen Bedarf")
        assert len(world.case(case_id).referral_ids) == 1
        # The choice: it is meant.
        page.get_by_label("Trotzdem eine weitere Vermittlung senden").check()
        page.get_by_role("button", name="Vermittlung senden").click()
        page.wait_for_url(re.compile(r"/vermittlungen/"))
        assert len(world.case(case_id).referral_ids) == 2
        browser.close()
