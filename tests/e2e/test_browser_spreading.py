"""Wohnortnahe Verteilung in a real browser (Debian's chromium, Playwright, headless), against
gunicorn and the embedded worker: the caseworker's suggestions put the neighbour's practice
with a free place first and the family's own district's full practice last, marked "voll –
nur nach Rücksprache"; sent there anyway, the practice sees that it is full, puts the family
on its waiting list, and accepts later only with a recorded reason. Screenshots in
``test-artifacts/spreading/``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.bootstrap import bootstrap
from domain.settings import PROJECT_ROOT, Settings
from domain.stamp import Role, Stamp
from testbed.processes import gunicorn, same_master_key, wait_until
from testbed.second_factor import sign_in_browser
from tests.e2e.test_browser_e2e import launch
from tests.unit.test_spreading import practice
from testbed.web import PASSWORD, give_passwords
from testbed.world import World
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "spreading"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two paediatric practices of one place each: Sachsendorf's is taken, Sandow's free."""
    url = f"sqlite:///{tmp_path / 'spreading.sqlite3'}"
    application = bootstrap(Settings(database_url=url)).application
    world = World.build(application)
    near = practice(application, "kinderarzt-sachsendorf", "Sachsendorf", 1, staff="pia")
    practice(application, "kinderarzt-sandow", "Sandow", 1)
    world.ids["kinderarzt-sachsendorf"] = near
    give_passwords(application)
    application.accounts.set_password(Stamp.system("test-setup"), "pia", PASSWORD)
    earlier = world.open_case(needs=["health.paediatric"])
    world.consent(earlier)
    taken = world.send(earlier, to="kinderarzt-sachsendorf", need="health.paediatric",
                       urgency="routine", to_service_id="sprechstunde")
    application.referrals.accept_referral(Stamp("pia", near, Role.CASEWORKER, "r"), taken)
    family = world.open_case(person={"display_name": "Familie K.", "household_size": 5,
                                     "languages": ["ar"], "district": "Sachsendorf"},
                             needs=["health.paediatric"])
    world.consent(family)
    ViewUpdater(application, ViewStore(Settings(database_url=url))).catch_up()
    application.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SQLITE_"))}
    env.update(DATABASE_URL=url, SECRET_KEY="spreading-" + "x" * 32, PYTHONUNBUFFERED="1",
               **same_master_key(), INSTANCE_DIR=str(tmp_path / "instance"),
               GUNICORN_WORKERS="2",
               VIEW_CATCH_UP_SECONDS="1")
    worker = subprocess.Popen([sys.executable, "-m", "workers.embedded"], cwd=PROJECT_ROOT,
                              env=env, start_new_session=True,
                              stdout=(tmp_path / "worker.log").open("w"),
                              stderr=subprocess.STDOUT)
    try:
        with gunicorn(env, tmp_path / "gunicorn.log") as base:
            yield base, str(family)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_a_full_practice_is_offered_last_and_keeps_a_waiting_list(
        served: tuple[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, case_id = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)

        def sign_in(user: str):  # type: ignore[no-untyped-def]
            page = browser.new_context(locale="de-DE").new_page()
            sign_in_browser(page, base, user, PASSWORD)
            expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
            return page

        anna = sign_in("anna")
        anna.goto(f"{base}/faelle/{case_id}/vermitteln?need=health.paediatric&urgency=routine")
        suggestions = anna.locator(".suggestion")
        expect(suggestions).to_have_count(2)
        expect(suggestions.nth(0)).to_contain_text("Praxis Sandow")
        expect(suggestions.nth(0)).to_contain_text("Freier Platz nebenan in Sandow, "
                                                   "Nachbarstadtteil von Sachsendorf")
        expect(suggestions.nth(1)).to_contain_text("Praxis Sachsendorf")
        expect(suggestions.nth(1)).to_contain_text("voll – nur nach Rücksprache")
        expect(suggestions.nth(1)).to_contain_text("1 belegt + 0 angefragt von 1 Plätzen")
        anna.locator("#f-receiver").screenshot(
            path=ARTIFACTS / "01-suggestions-with-a-full-practice.png")

        # Sent to the full practice all the same (the family's own district):
        suggestions.nth(1).locator("input[name=receiver]").check()
        anna.get_by_label("Begründung und was").fill("Geschwister sind dort in Behandlung.")
        anna.get_by_role("button", name="Vermittlung senden").click()
        expect(anna.get_by_text("Die Vermittlung wurde gesendet.")).to_be_visible()
        referral_url = anna.url

        pia = sign_in("pia")
        pia.goto(referral_url)
        expect(pia.locator("#capacity")).to_contain_text("Der Dienst ist voll: 1 von 1 "
                                                         "Plätzen sind belegt.")
        pia.screenshot(path=ARTIFACTS / "02-the-practice-sees-it-is-full.png", full_page=True)
        waiting = pia.locator("form[action$='/warteliste']")
        expect(waiting.get_by_label("Begründung")).to_have_value("Warteliste")
        waiting.get_by_role("button").click()
        expect(pia.get_by_text("Die Vermittlung steht auf der Warteliste")).to_be_visible()

        def listed() -> bool:
            pia.goto(f"{base}/eingang")
            return pia.locator("#waiting-list").count() == 1
        wait_until(listed, 60, "the waiting list on the inbox", interval=0.5)
        expect(pia.locator("#waiting-list + .table-scroll table")).to_contain_text(
            "Kinderärztliche Versorgung")
        pia.screenshot(path=ARTIFACTS / "03-the-inbox-with-its-waiting-list.png",
                       full_page=True)

        # Accepting beyond capacity names the missing reason, then records it.
        pia.goto(referral_url)
        accept = pia.locator("form[action$='/annehmen']")
        accept.get_by_role("button").click()
        expect(pia.locator(".error-summary")).to_contain_text("Begründung für die Annahme")
        accept = pia.locator("form[action$='/annehmen']")
        accept.get_by_label(re.compile("Begründung für die Annahme")).fill(
            "Rücksprache mit der Praxisleitung: Geschwisterkind")
        accept.get_by_role("button").click()
        expect(pia.get_by_text("Die Vermittlung wurde angenommen.")).to_be_visible()
        pia.screenshot(path=ARTIFACTS / "04-accepted-with-a-reason.png", full_page=True)
        browser.close()
