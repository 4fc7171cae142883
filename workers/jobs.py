"""The workers' four jobs — catch the views up, scan for escalations, send mail (the
escalations' and the monthly report's), deliver webhooks — over one application and view
store. The Celery tasks (production) and the embedded
runner (``make run``) both call these; each records its success or failure in the runs
table, so that a job that stopped shows as stale instead of silently doing nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from eventsourcing.domain import datetime_now_with_tzinfo

from domain.application import ReferralNetwork
from domain.settings import Settings
from readmodel import runs
from readmodel.reports import previous_month
from readmodel.runner import ViewUpdater
from runtime.event_chain import EventChain
from workers.escalation import scan, scan_agreements
from workers.mail import AttachmentMaker, MailSettings, no_attachments, send_due
from workers.webhooks import WebhookSettings, deliver_due

log = logging.getLogger(__name__)


@dataclass
class Jobs:
    application: ReferralNetwork
    updater: ViewUpdater
    settings: Settings
    clock: Callable[[], datetime] = field(default=datetime_now_with_tzinfo)
    attachments: AttachmentMaker = no_attachments
    chain: EventChain | None = None

    def catch_up_views(self) -> int:
        with self._recorded(runs.VIEWS, success=False):  # catch_up records its success
            applied = self.updater.catch_up()
            if self.chain is not None:
                # The new events get their links of the tamper-evident chain.
                self.chain.extend()
        if applied:
            log.info("views caught up by %d events", applied)
        return applied

    def scan_escalations(self) -> int:
        with self._recorded(runs.ESCALATION_SCAN):
            self.updater.catch_up()
            now = self.clock()
            recorded = [e for e in scan(self.application, self.updater.store, now)
                        if e.recorded]
            missed = scan_agreements(self.application, self.updater.store, now)
            if recorded:
                log.info("%d escalations recorded", len(recorded))
            if missed:
                log.info("%d missed agreements escalated", len(missed))
            if recorded or missed:
                self.updater.catch_up()
            return len(recorded) + len(missed)

    def send_notifications(self) -> dict[str, int]:
        with self._recorded(runs.MAIL):
            now = self.clock()
            self._queue_monthly_report(now)
            self.updater.catch_up()
            counts = send_due(self.application, self.updater.store, self.mail_settings(),
                              now, attachments=self.attachments)
            if any(counts.values()):
                log.info("notifications: %s", counts)
                self.updater.catch_up()
            return counts

    def _queue_monthly_report(self, now: datetime) -> None:
        """The month just ended goes to the coordination office with the first mail run
        of the new one (once: the notification's id is the month's). A failure here is
        logged and tried again next run; it never holds up the escalations' mail."""
        try:
            if self.application.escalations.queue_monthly_report(
                    previous_month(now.date()))["queued"]:
                log.info("monthly report queued")
        except Exception:
            log.exception("the monthly report could not be queued")

    def deliver_webhooks(self) -> dict[str, int]:
        with self._recorded(runs.WEBHOOKS):
            counts = deliver_due(self.application, self.updater.store, self.clock(),
                                 self.webhook_settings())
            if any(counts.values()):
                log.info("webhooks: %s", counts)
            return counts

    def mail_settings(self) -> MailSettings:
        s = self.settings
        return MailSettings(host=s.smtp_host, port=s.smtp_port, sender=s.mail_from,
                            base_url=s.public_base_url)

    def webhook_settings(self) -> WebhookSettings:
        s = self.settings
        return WebhookSettings(first_retry_seconds=s.webhook_retry_seconds,
                               allow_http=s.webhook_allow_http,
                               allow_private=s.webhook_allow_private)

    @contextmanager
    def _recorded(self, job: str, *, success: bool = True) -> Iterator[None]:
        """Records the job's success when the block ends normally, its failure otherwise
        (the error goes on: the caller decides whether to retry)."""
        try:
            yield
        except Exception as error:
            try:
                runs.record_failure(self.updater.store, job, error)
            except Exception:  # the database itself is what failed: the log must do
                log.warning("could not record the failure of %s", job)
            raise
        if success:
            runs.record_success(self.updater.store, job)
