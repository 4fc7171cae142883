"""Notification: one message recorded before it is sent: about one escalation, or the
network's monthly report to the coordination office (with the report as a PDF attachment,
made when the mail is sent).

Its id derives from (referral, stage, level), or from (office, month), so an escalation or
a month can produce only one. Sending
is claimed by an event first; a crash after the mail left but before ``Delivered`` was
recorded leaves the claim standing, and nothing sends it again (at most once). Only a failure
that proves nothing was sent (no connection to the mail server, a refusal before the data,
an attachment that could not be made) returns it for a retry; a message that can never be
sent as it stands (an address with a line break) fails, with its reason.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, StampedAggregate
from domain.messages import _
from domain.stamp import Stamp

PENDING, SENDING, DELIVERED, RETRY, FAILED = "pending", "sending", "delivered", "retry", "failed"
MONTHLY_REPORT = "monthly_report"  # the stage of a monthly report's notification
# The stage of a missed agreement's notification (domain.agreement); its ``attachment``
# names the agreement ({"agreement": id}), which the mail links to instead of attaching.
AGREEMENT_MISSED = "agreement_missed"
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
           timedelta(hours=1))


class NotSendable(DomainError):
    code = "not_sendable"


class Notification(StampedAggregate):
    @staticmethod
    def id_for(referral_id: UUID, stage: str, level: int) -> UUID:
        return uuid5(referral_id, f"escalation:{stage}:{level}")

    @staticmethod
    def id_for_missed_agreement(agreement_id: UUID, due_on: date) -> UUID:
        """One per agreement and day it was due (a rescheduled one can be missed again)."""
        return uuid5(agreement_id, f"{AGREEMENT_MISSED}:{due_on.isoformat()}")

    @staticmethod
    def id_for_monthly_report(office_id: UUID, month: date) -> UUID:
        return uuid5(office_id, f"{MONTHLY_REPORT}:{month:%Y-%m}")

    @event("Created")
    def __init__(self, id: UUID, referral_id: UUID | None, stage: str, level: int,
                 recipients: list[dict[str, Any]], subject: str, body: str,
                 by: Stamp, attachment: dict[str, str] | None = None) -> None:
        self.referral_id = referral_id
        self.stage = stage
        self.level = level
        self.recipients = recipients
        self.subject = subject
        self.body = body
        # What to attach, made when sent: {"report": "monthly", "month": "YYYY-MM"}.
        self.attachment = attachment
        self.status = PENDING
        self.attempts = 0
        self.retry_at: datetime | None = None

    def sendable(self, now: datetime) -> bool:
        return self.status == PENDING or (
            self.status == RETRY and self.retry_at is not None and self.retry_at <= now)

    def start_sending(self, now: datetime, by: Stamp) -> None:
        if not self.sendable(now):
            raise NotSendable(_("This notification is {status}.", status=self.status))
        self._sending_started(attempt=self.attempts + 1, by=by)

    @event("SendingStarted")
    def _sending_started(self, attempt: int, by: Stamp) -> None:
        self.status, self.attempts = SENDING, attempt

    def record_delivery(self, by: Stamp) -> None:
        if self.status != SENDING:
            raise NotSendable(_("This notification is {status}.", status=self.status))
        self._delivered(attempt=self.attempts, by=by)

    @event("Delivered")
    def _delivered(self, attempt: int, by: Stamp) -> None:
        self.status = DELIVERED

    def record_unsent(self, error: str, now: datetime, by: Stamp) -> None:
        """Nothing was sent (the mail server could not be reached or refused, or the
        message could not be made): retry with backoff."""
        if self.status != SENDING:
            raise NotSendable(_("This notification is {status}.", status=self.status))
        wait = BACKOFF[min(self.attempts, len(BACKOFF)) - 1]
        self._not_sent(attempt=self.attempts, error=error[:200], retry_at=now + wait, by=by)

    @event("NotSent")
    def _not_sent(self, attempt: int, error: str, retry_at: datetime, by: Stamp) -> None:
        self.status, self.retry_at = RETRY, retry_at

    def record_failure(self, reason: str, by: Stamp) -> None:
        """The message can never be sent as it stands (e.g. an address with a line break):
        given up with the reason, for an operator to see; nothing was sent."""
        if self.status != SENDING:
            raise NotSendable(_("This notification is {status}.", status=self.status))
        self._failed(attempt=self.attempts, reason=reason[:200], by=by)

    @event("Failed")
    def _failed(self, attempt: int, reason: str, by: Stamp) -> None:
        self.status = FAILED

    def release(self, reason: str, now: datetime, by: Stamp) -> None:
        """An operator checked that a claimed notification never left (e.g. in the mail
        server's log) and releases it for sending."""
        if self.status != SENDING:
            raise NotSendable(_("Only a notification stuck in sending can be released; this "
                                "one is {status}.", status=self.status))
        if not (reason or "").strip():
            raise DomainError(_("{what} is required.", what=_("A reason")), field="reason")
        self._released(reason=reason.strip(), retry_at=now, by=by)

    @event("Released")
    def _released(self, reason: str, retry_at: datetime, by: Stamp) -> None:
        self.status, self.retry_at = RETRY, retry_at
