"""The person's own voice in a real browser (Debian's chromium, Playwright): the caseworker
prints a slip; the person opens their page in Arabic (right to left), sees exactly their
two referrals' states, gives feedback on the completed one and asks to withdraw a consent;
the caseworker sees the feedback in the referral's history and the request in the inbox;
the coordination report counts the feedback. axe-core finds nothing; screenshots in
``test-artifacts/person/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.settings import PROJECT_ROOT
from testbed.second_factor import sign_in_browser
from testbed.browser import accessible_and_narrow
from testbed.served import served_world, serving
from testbed.web import PASSWORD
from tests.e2e.test_browser_e2e import launch

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "person"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any, Any]]:
    with served_world(tmp_path, "person") as (app, world, views):
        case_id, done, _waiting = world.case_with_two_referrals()
        other = world.open_case(person={"display_name": "Familie Z.", "birth_year": 1990,
                                        "household_size": 2, "district": "Sandow"})
        world.consent(other)
        world.send(other)
        views.catch_up()
        with serving(app) as base:
            yield base, world, (case_id, done, views)


def test_the_person_is_heard_in_their_language(served: tuple[str, Any, Any]) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright

    base, world, (case_id, done, views) = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        staff = browser.new_context(locale="de-DE", bypass_csp=True)
        desk = staff.new_page()
        sign_in_browser(desk, base, "anna", PASSWORD)
        desk.goto(f"{base}/faelle/{case_id}")
        desk.get_by_label("Sprache des Zettels").select_option("ar")
        desk.get_by_role("button", name="Zettel mit Zugangscode drucken").click()
        code = desk.locator(".slip-code").inner_text()
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
        expect(desk.locator("html")).to_have_attribute("dir", "rtl")
        desk.screenshot(path=ARTIFACTS / "slip.png", full_page=True)

        person = browser.new_context(locale="ar", bypass_csp=True).new_page()
        person.goto(f"{base}/mein-stand")
        expect(person.locator("html")).to_have_attribute("dir", "rtl")
        person.get_by_label("الرمز من ورقتك").fill(code)
        person.get_by_label("سنة ميلادك").fill("1990")
        person.get_by_role("button", name="عرض").click()
        expect(person.get_by_role("heading", level=1)).to_have_text("أين وصلت مساعدتك")
        assert code not in person.url
        requests = person.locator("article.person-request")
        expect(requests).to_have_count(2)
        expect(requests.nth(0)).to_contain_text("انتهت مساعدة Psychosoziales Zentrum")
        expect(requests.nth(1)).to_contain_text("Jobcenter")
        expect(person.locator("main")).not_to_contain_text("Familie")
        accessible_and_narrow(person, axe, ARTIFACTS, "status-ar")

        first = requests.nth(0)
        first.get_by_label("ساعدني كثيرًا").check()
        first.get_by_label("جزئيًا فقط").check()
        first.get_by_label("ما الذي كان سيساعدك؟ (اختياري)").fill("مترجمة")
        first.get_by_role("button", name="إرسال إجابتي").click()
        expect(person.locator(".flashes")).to_contain_text("شكرًا")
        person.get_by_role("button", name="أريد سحب هذه الموافقة").first.click()
        expect(person.locator(".flashes")).to_contain_text("تم إبلاغ رغبتك")
        accessible_and_narrow(person, axe, ARTIFACTS, "after-ar")

        views.catch_up()  # what the worker does after each command (none runs here)
        desk.goto(f"{base}/vermittlungen/{done}")
        feedback = desk.locator("#rueckmeldung")
        expect(feedback).to_contain_text("hat sehr geholfen")
        expect(feedback).to_contain_text("مترجمة")
        history = desk.locator("section", has=desk.locator("#h-history"))
        expect(history).to_contain_text("Rückmeldung der Person · die Person selbst")
        desk.goto(f"{base}/eingang")
        expect(desk.locator("#t-person")).to_contain_text("1 Bitte um Widerruf")
        accessible_and_narrow(desk, axe, ARTIFACTS, "inbox")

        coordination = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
        sign_in_browser(coordination, base, "katrin", PASSWORD)
        coordination.goto(f"{base}/netzwerk/versorgungsluecken")
        table = coordination.locator("table", has=coordination.locator("#cap-feedback"))
        expect(table).to_contain_text("Psychosoziale Beratung")
        expect(table).to_contain_text("< 5")
        browser.close()
