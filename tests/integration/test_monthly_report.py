"""The monthly report: with the first mail run of April the coordination office gets
March's report as a PDF attachment through the outbox, once; the PDF carries the month's
figures (tests/integration/test_network_reports.py works them out) with small counts
suppressed, and nothing of a person."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime, timezone

from pypdf import PdfReader

from domain.settings import Settings
from readmodel.runner import ViewUpdater
from testbed.reports import ReferredInMarch
from tests.smtp import smtp_server
from testbed.world import World
from workers.context import report_attachments
from workers.jobs import Jobs
from workers.mail import Attachment, AttachmentMaker

APRIL_FIRST = datetime(2026, 4, 1, 6, tzinfo=timezone.utc)


def _jobs(world: World, updater: ViewUpdater, settings: Settings, port: int,
          attachments: AttachmentMaker | None = None) -> Jobs:
    application = world.application
    application.clock = lambda: APRIL_FIRST
    mail = replace(settings, smtp_port=port, public_base_url="https://fallnetz.example")
    return Jobs(application, updater, mail, clock=lambda: APRIL_FIRST,
                attachments=attachments or report_attachments(mail))


def test_march_goes_to_the_coordination_office_once_as_a_pdf(
        world: World, updater: ViewUpdater, settings: Settings) -> None:
    referred = ReferredInMarch(world)
    with smtp_server() as (inbox, port):
        jobs = _jobs(world, updater, settings, port)
        first = jobs.send_notifications()
        again = jobs.send_notifications()
    # The report, and R2's escalation of March (its receipt was overdue).
    assert first["delivered"] == 2 and again["delivered"] == 0
    [message] = [m for m in inbox.messages if "Monatsbericht" in m["Subject"]]
    assert message["Subject"] == "[Fallnetz] Monatsbericht des Netzwerks 03/2026"
    assert message["To"] == "koordinierungsstelle@test.invalid"  # no coordinator has mail
    body = message.get_payload()[0].get_payload(decode=True).decode()
    assert "https://fallnetz.example/netzwerk?von=2026-03&bis=2026-03" in body
    attached = message.get_payload()[1]
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_filename() == "monatsbericht-2026-03-bis-2026-03.pdf"
    pdf = PdfReader(io.BytesIO(attached.get_payload(decode=True)))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Monatsbericht des Netzwerks" in text and "03/2026 bis 03/2026" in text
    # 5 referrals sent, 3 with an outcome: 3 is suppressed, and so is the share (60 %)
    # that would give it away.
    assert "Vermittlungen gesendet 5" in text
    assert "Mit Ergebnis (abgeschlossen) < 5" in text
    assert "Anteil mit Ergebnis < 5" in text and "60 %" not in text
    assert "Versorgungslücken" in text and "Schmellwitz" in text
    assert "Kapazität und Bedarf" in text
    for person in ("Familie", "Keine Plätze frei", "Warteliste", "Nur Säuglinge", "CB-"):
        assert person not in text
    # In the outbox's view as delivered, and in nobody's in-app notifications.
    updater.catch_up()
    with updater.store.reading() as cur:
        rows = cur.all("SELECT stage, status, referral_id FROM {p}notifications "
                       "WHERE stage = 'monthly_report'")
        inapp = cur.all("SELECT referral_id FROM {p}inapp")
    assert rows == [{"stage": "monthly_report", "status": "delivered", "referral_id": None}]
    assert {r["referral_id"] for r in inapp} == {str(referred.r2)}


def test_a_report_that_cannot_be_made_is_tried_again_not_lost(
        world: World, updater: ViewUpdater, settings: Settings) -> None:
    failures = iter([RuntimeError("the views are being rebuilt")])

    def flaky(notification: object) -> list[Attachment]:
        error = next(failures, None)
        if error:
            raise error
        return [Attachment("bericht.pdf", b"%PDF-1.4 test")]
    with smtp_server() as (inbox, port):
        jobs = _jobs(world, updater, settings, port, attachments=flaky)
        assert jobs.send_notifications() == {"delivered": 0, "retry": 1, "failed": 0,
                                             "skipped": 0, "unknown": 0}
        assert inbox.messages == []
        later = datetime(2026, 4, 1, 7, tzinfo=timezone.utc)  # after the backoff
        jobs.clock = lambda: later
        assert jobs.send_notifications()["delivered"] == 1
    assert len(inbox.messages) == 1
