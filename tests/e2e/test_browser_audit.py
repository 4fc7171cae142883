"""The audit a supervisor can read (issue 20, point 4), in Debian's chromium: a case with a
history of more than 20 events reads as German sentences of facts — no UUIDs, no internal
keys or codes — on the page, in the CSV and in the print, and the print of it fits on at
most three A4 pages."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.second_factor import sign_in_browser
from testbed.served import served_world, serving
from testbed.web import PASSWORD, sign_in
from tests.e2e.test_browser_e2e import launch

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Keys and codes of the domain that a supervisor would not understand.
INTERNAL = ("lead_organisation_id", "to_organisation_id", "shared_accommodation",
            "health.psychosocial", "health.paediatric", "gestattung", "consent_id",
            "policy_version", "display_name", "housing_stage", "residence_status", "own_flat",
            "shared_accommodation", "routine", "urgent")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any, Any]]:
    with served_world(tmp_path, "audit") as (app, world, _views):
        application = world.application
        case_id = world.open_case()
        world.consent(case_id, purposes=["health"])
        application.cases.record_need(world.anna, case_id, "health.paediatric", "Impfungen")
        application.cases.record_need(world.anna, case_id, "language", "Kita-Platz fehlt")
        application.cases.change_housing_stage(world.anna, case_id, "own_flat")
        for need in ("health.psychosocial", "health.paediatric"):
            referral = world.send(case_id, need=need)
            application.referrals.receive_referral(world.nadia, referral)
            application.referrals.accept_referral(world.nadia, referral)
            application.referrals.start_referral(world.nadia, referral)
            application.referrals.hold_referral(world.nadia, referral, "Urlaub der Therapeutin")
            application.referrals.resume_referral(world.nadia, referral)
            application.referrals.complete_referral(world.nadia, referral, "Therapie begonnen")
        application.cases.resolve_need(world.anna, case_id, "language", "Platz gefunden")
        application.cases.correct_person_data(world.anna, case_id, {"household_size": 5})
        with serving(app) as base:
            yield base, app, case_id


def _no_internals(text: str, where: str) -> None:
    assert not UUID_TEXT.search(text), f"{where} shows an id: {UUID_TEXT.search(text)}"
    found = [key for key in INTERNAL if re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", text)]
    assert not found, f"{where} shows internal keys: {found}"


def test_the_history_reads_as_words_and_prints_on_three_pages(
        served: tuple[str, Any, Any]) -> None:
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader

    base, app, case_id = served
    birgit = sign_in(app, "birgit")
    page_html = birgit.get(f"/pruefung/faelle/{case_id}").get_data(as_text=True)
    events = int(re.search(r"Vollständiger Verlauf, älteste zuerst: (\d+) Ereignisse",
                           page_html).group(1))  # type: ignore[union-attr]
    assert events >= 20, events
    history = page_html[page_html.index('<table class="history">'):]
    history = history[:history.index("</table>")]
    _no_internals(history, "the audit page")
    assert "Bedarf: Psychosoziale Beratung" in history
    assert "Anna (Fachkraft, FSA Sachsendorf)" in history
    csv = birgit.get(f"/pruefung/faelle/{case_id}/verlauf.csv").get_data(as_text=True)
    _no_internals(csv.replace(csv.splitlines()[0], ""), "the CSV")
    assert "Ergebnis: Therapie begonnen" in csv
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(locale="de-DE").new_page()
        sign_in_browser(page, base, "birgit", PASSWORD)
        page.goto(f"{base}/pruefung/faelle/{case_id}/druck")
        printed = page.locator("main").inner_text()
        _no_internals(printed, "the print")
        pdf = PdfReader(io.BytesIO(page.pdf(format="A4")))
        browser.close()
    assert len(pdf.pages) <= 3, f"{events} events print on {len(pdf.pages)} A4 pages"
