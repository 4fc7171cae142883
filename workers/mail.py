"""Sends recorded notifications over SMTP: claim (event) → send → record delivery (event).

A notification is never sent twice: the claim is saved before the mail goes out, and a
claim that was never followed by a recorded delivery (a crash in between) is left for an
operator, not retried. Only a mail server that could not be reached (nothing was sent) puts
the notification back for a retry with backoff; other notifications go on meanwhile."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from uuid import UUID

from domain.application import ReferralNetwork
from domain.base import MAIL_ADDRESS
from domain.notification import AGREEMENT_MISSED, Notification
from readmodel.queries import sendable_notifications
from readmodel.store import ViewStore

log = logging.getLogger(__name__)

# Refusals that prove the server did not accept the message.
NOT_SENT = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPHeloError,
            smtplib.SMTPDataError, smtplib.SMTPConnectError, smtplib.SMTPNotSupportedError)


@dataclass(frozen=True)
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 1025
    sender: str = "fallnetz@localhost"
    base_url: str = "http://127.0.0.1:5000"
    timeout: float = 5.0


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/pdf"


# Makes the files a notification asks for (its ``attachment``), when it is sent.
AttachmentMaker = Callable[[Notification], list[Attachment]]


def no_attachments(notification: Notification) -> list[Attachment]:
    raise LookupError("this sender makes no attachments")


def send_due(application: ReferralNetwork, store: ViewStore, mail: MailSettings, now: datetime,
             limit: int = 100, attachments: AttachmentMaker = no_attachments) -> dict[str, int]:
    counts = {"delivered": 0, "retry": 0, "failed": 0, "skipped": 0, "unknown": 0}
    for row in sendable_notifications(store, now, limit):
        notification_id = UUID(row["notification_id"])
        # The message (and its attachment, the slow part) is made before the claim: a
        # worker stopped meanwhile leaves the notification pending, not claimed for good.
        try:
            message = _message(application.load(Notification, notification_id), mail,
                               attachments)
        except Undeliverable as error:
            # Never sendable as it stands: given up with the reason (claimed to record it).
            log.error("notification %s failed: %s", notification_id, error)
            if application.escalations.claim_notification(notification_id, now) is not None:
                application.escalations.record_failure(notification_id, str(error))
                counts["failed"] += 1
            continue
        except Exception as error:
            # Nothing went out: claimed only to be put back for a retry with backoff.
            log.exception("notification %s: its message could not be made", notification_id)
            if application.escalations.claim_notification(notification_id, now) is not None:
                application.escalations.record_unsent(notification_id, type(error).__name__,
                                                      now)
                counts["retry"] += 1
            continue
        if application.escalations.claim_notification(notification_id, now) is None:
            counts["skipped"] += 1
            continue
        try:
            smtp = smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout)
        except OSError as error:
            application.escalations.record_unsent(notification_id, type(error).__name__, now)
            counts["retry"] += 1
            break  # the server is unreachable: the rest waits for the next run
        try:
            with smtp:
                refused = smtp.send_message(message)
        except NOT_SENT as error:
            # The server refused before taking the message: it did not go out.
            application.escalations.record_unsent(notification_id, type(error).__name__, now)
            counts["retry"] += 1
            continue
        except (OSError, smtplib.SMTPException) as error:
            # The server may or may not have taken the mail; never risk sending it twice.
            log.error("delivery of notification %s unknown: %s", notification_id,
                      type(error).__name__)
            counts["unknown"] += 1
            continue
        if refused:
            log.warning("notification %s: %d recipients refused", notification_id,
                        len(refused))
        application.escalations.record_delivery(notification_id)
        counts["delivered"] += 1
    return counts


class Undeliverable(Exception):
    """A message that can never be sent as it stands; its text says why (no person data:
    the recipients are named by their position only)."""


def _message(notification: Notification, mail: MailSettings,
             attachments: AttachmentMaker) -> EmailMessage:
    message = EmailMessage()
    for index, recipient in enumerate(notification.recipients):
        if not MAIL_ADDRESS.match(recipient["address"] or ""):
            raise Undeliverable(f"recipient {index + 1} has no valid mail address")
    try:
        message["From"] = mail.sender
        message["To"] = ", ".join(r["address"] for r in notification.recipients)
        message["Subject"] = notification.subject
        message["Message-ID"] = f"<{notification.id}@fallnetz>"
    except ValueError as error:  # e.g. a line break in a header
        raise Undeliverable(f"a header cannot be written: {type(error).__name__}") from None
    attached_files = notification.attachment
    if notification.referral_id is not None:
        link = f"{mail.base_url}/vermittlungen/{notification.referral_id}"
    elif notification.stage == AGREEMENT_MISSED:  # names the agreement, attaches nothing
        link = f"{mail.base_url}/verabredungen/{(attached_files or {}).get('agreement', '')}"
        attached_files = None
    else:  # the monthly report: its month's reports in the web
        month = (notification.attachment or {}).get("month", "")
        link = f"{mail.base_url}/netzwerk?von={month}&bis={month}"
    message.set_content(f"{notification.body}\n\n{link}\n")
    for attached in attachments(notification) if attached_files else []:
        maintype, subtype = attached.mimetype.split("/")
        message.add_attachment(attached.content, maintype=maintype, subtype=subtype,
                               filename=attached.filename)
    return message
