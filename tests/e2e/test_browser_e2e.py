"""The whole loop in a real browser (Debian's chromium, driven by Playwright, headless),
against the app served by gunicorn with a real Celery worker projecting the views:

a caseworker signs in, opens a case, records consent and sends a crisis referral to the
psychosocial centre; the receiver signs in, finds it at the top of the inbox and accepts it;
the supervisor opens the audit and sees the events with names and times. A screenshot of
each step is kept in ``test-artifacts/e2e/``."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from runtime.bootstrap import bootstrap
from domain.settings import PROJECT_ROOT, Settings
from testbed.processes import Worker, debian_program, gunicorn, wait_until, worker_env
from testbed.web import PASSWORD, give_passwords
from testbed.second_factor import sign_in_browser
from testbed.world import World

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "e2e"


def debian_chromium() -> str:
    return debian_program("chromium")


def launch(playwright):  # type: ignore[no-untyped-def]
    """Debian's chromium, headless, as the tests drive it."""
    return playwright.chromium.launch(
        executable_path=debian_chromium(), headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, World]]:
    """The app under gunicorn and a Celery worker, on a fresh SQLite database holding the
    test network, whose PSZ already has two routine referrals in its inbox."""
    database_url = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    application = bootstrap(Settings(database_url=database_url)).application
    world = World.build(application)
    give_passwords(application)
    earlier = world.open_case(person={"display_name": "Familie R.", "household_size": 3,
                                      "languages": ["fa"], "district": "Sandow"})
    world.consent(earlier)
    for need in ("health.psychosocial", "health.psychotherapy"):
        world.send(earlier, need=need, urgency="routine")
    application.close()

    env = worker_env(database_url, tmp_path / "instance", SECRET_KEY="e2e-secret",
                     GUNICORN_WORKERS="2")
    worker = Worker(env, tmp_path / "worker.log", beat=True)
    try:
        with gunicorn(env, tmp_path / "gunicorn.log") as base:
            yield base, world
    finally:
        worker.stop()


def test_caseworker_receiver_and_supervisor_close_the_loop(served: tuple[str, World]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, world = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    shots = iter(range(1, 100))

    def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
        page.screenshot(path=ARTIFACTS / f"{next(shots):02d}-{name}.png", full_page=True)

    with sync_playwright() as playwright:
        browser = launch(playwright)

        def sign_in(user: str):  # type: ignore[no-untyped-def]
            page = browser.new_context(locale="de-DE").new_page()
            page.goto(base)
            expect(page).to_have_url(re.compile(r"/anmelden"))
            sign_in_browser(page, base, user, PASSWORD)  # with the app's code where asked
            expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
            shot(page, f"{user}-signed-in")
            return page

        # -- the caseworker -------------------------------------------------------------------
        anna = sign_in("anna")
        anna.get_by_role("link", name="Fall eröffnen").click()
        anna.get_by_label("Name im Netzwerk (Pflichtfeld)").fill("Familie D.")
        anna.get_by_label("Haushaltsgröße (Pflichtfeld)").fill("3")
        anna.get_by_label("Sprachen").fill("ar, en")
        anna.get_by_label("Sozialraum (Pflichtfeld)").select_option("Sachsendorf")
        anna.get_by_label("Unterbringung (Pflichtfeld)").select_option("shared_accommodation")
        anna.get_by_label("Aufenthaltsstatus (Pflichtfeld)").select_option("gestattung")
        anna.get_by_label("Psychosoziale Beratung").check()
        shot(anna, "caseworker-opens-a-case")
        anna.get_by_role("button", name="Fall eröffnen").click()
        expect(anna.get_by_role("heading", level=1)).to_contain_text("Familie D.")
        reference = re.search(r"CB-\d{4}-\d{5}", anna.title())
        assert reference, anna.title()

        consent = anna.locator("form[action$='/einwilligungen']")
        consent.get_by_label("oder ein ganzer Bereich").select_option("health")
        consent.locator("input[name=purposes][value=health]").check()
        expires = (world.application.today() + timedelta(days=180)).isoformat()
        consent.get_by_label("Gültig bis").fill(expires)
        consent.get_by_role("button").click()
        expect(anna.get_by_text("Die Einwilligung wurde erfasst.")).to_be_visible()
        shot(anna, "caseworker-records-consent")

        anna.get_by_role("link", name="Vermittlung oder Übergabe erfassen").click()
        anna.get_by_label("Bedarf (Pflichtfeld)").select_option("health.psychosocial")
        anna.get_by_label("Dringlichkeit (Pflichtfeld)").select_option("crisis")
        anna.get_by_role("button", name="Empfangende Stellen vorschlagen").click()
        first = anna.locator("input[name=receiver]").first
        expect(anna.locator(".suggestion").first).to_contain_text("Psychosoziales Zentrum")
        first.check()
        anna.get_by_label("Begründung und was").fill("Akute Krise, bitte heute Kontakt.")
        shot(anna, "caseworker-chooses-the-suggested-receiver")
        anna.get_by_role("button", name="Vermittlung senden").click()
        expect(anna.get_by_text("Die Vermittlung wurde gesendet.")).to_be_visible()
        shot(anna, "caseworker-sent-the-crisis-referral")

        # -- the receiver -----------------------------------------------------------------------
        nadia = sign_in("nadia")
        nadia.get_by_role("link", name="Posteingang").click()
        top = nadia.locator("tbody tr").first

        def crisis_on_top() -> bool:
            nadia.reload()
            return reference.group(0) in top.inner_text() and "Krise" in top.inner_text()
        wait_until(crisis_on_top, 60, "the crisis referral at the top of the inbox",
                   interval=0.5)
        assert nadia.locator("tbody tr").count() == 3
        shot(nadia, "receiver-sees-it-on-top-of-the-inbox")
        top.get_by_role("link").click()
        expect(nadia.get_by_text("Familie D.")).to_be_visible()
        nadia.get_by_role("button", name="Annehmen").focus()
        nadia.keyboard.press("Enter")
        expect(nadia.get_by_text("Die Vermittlung wurde angenommen.")).to_be_visible()
        shot(nadia, "receiver-accepted")

        # -- the supervisor ---------------------------------------------------------------------
        birgit = sign_in("birgit")
        birgit.get_by_role("link", name=reference.group(0)).click()
        birgit.get_by_role("link", name="Vollständigen Verlauf prüfen").click()
        history = birgit.locator("table.history")
        for what in ("Fall eröffnet", "Einwilligung erteilt",
                     "Vermittlung erstellt und gesendet", "angenommen"):
            expect(history).to_contain_text(what)
        expect(history).to_contain_text("Anna")
        expect(history).to_contain_text("Nadia")
        assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", history.inner_text())
        shot(birgit, "supervisor-audits-the-history")
        browser.close()
    assert len(list(ARTIFACTS.glob("*.png"))) >= 10


def test_debian_chromium_is_used() -> None:
    path = debian_chromium()
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    assert "Chromium" in version



