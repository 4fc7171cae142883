"""Escalations of missed deadlines (DESIGN §6), the network's monthly report to the
coordination office, and the delivery of their notifications."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.account import UserAccount
from domain.base import ConflictError
from domain.deadlines import StageDeadline, calendar_for, stage_deadline
from domain.services.base import Service
from domain.messages import _, in_language
from domain.notification import MONTHLY_REPORT, Notification
from domain.organisation import Organisation
from domain.referral import Referral
from domain.stamp import Role, Stamp

STAGE_NAMES = {"receive": _("acknowledgement of receipt"),
               "decide": _("decision to accept or reject"), "first_contact": _("first contact")}
# The language of the escalation mails: the network's staff read German.
MAIL_LANGUAGE = "de"


log = logging.getLogger(__name__)


def _inbox(organisation: Organisation | None) -> list[dict[str, Any]]:
    if organisation is None:
        return []
    return [{"kind": "organisation", "organisation_id": organisation.id,
             "address": organisation.inbox_address}]


def _members(organisation: Organisation, role: Role) -> list[str]:
    return [user for user, held in organisation.members.items() if held == role]


def _unique(recipients: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique: dict[tuple[str, str], dict[str, Any]] = {}
    for r in recipients:
        unique.setdefault((r["kind"], r["address"]), r)
    return list(unique.values())


@dataclass(frozen=True)
class DueDeadline:
    """A referral's stage whose next escalation is due, as the deadlines view lists it."""

    referral_id: str
    stage: str
    next_level: int
    escalation_times: tuple[datetime, ...]  # when each level falls due, level 1 first


@dataclass(frozen=True)
class Escalation:
    referral_id: str
    stage: str
    level: int
    due_at: datetime
    recorded: bool


def levels_due(deadline: DueDeadline, now: datetime) -> list[tuple[int, datetime]]:
    """The escalation levels of ``deadline`` that have fallen due by ``now``, in order."""
    return [(level, deadline.escalation_times[level - 1])
            for level in range(deadline.next_level, len(deadline.escalation_times) + 1)
            if deadline.escalation_times[level - 1] <= now]


def escalations_due(due: Iterable[DueDeadline], now: datetime) -> list[Escalation]:
    """What a scan at ``now`` would escalate, recording nothing (a dry run)."""
    return [Escalation(d.referral_id, d.stage, level, at, recorded=False)
            for d in due for level, at in levels_due(d, now)]


class EscalationService(Service):
    def escalate_due(self, due: Iterable[DueDeadline], now: datetime) -> list[Escalation]:
        """Records every escalation of ``due`` that has fallen due by ``now``, each level in
        turn (a level not recorded stops its stage's later ones). Idempotent in the
        Referral: two scanners, or a repeated scan, record one."""
        found: list[Escalation] = []
        for deadline in due:
            for level, at in levels_due(deadline, now):
                if not self._escalate(deadline.referral_id, deadline.stage, level, now):
                    break
                found.append(Escalation(deadline.referral_id, deadline.stage, level, at,
                                        recorded=True))
        return found

    def _escalate(self, referral_id: str, stage: str, level: int, now: datetime) -> bool:
        try:
            return bool(self.escalate_referral(UUID(referral_id), stage, level,
                                               now)["escalated"])
        except ConflictError:
            # Another scanner recorded it at the same moment.
            log.info("escalation %s/%s/%s recorded by another scanner", referral_id, stage,
                     level)
            return False
        except Exception:
            # One broken row must not stop the others' escalations.
            log.exception("escalation %s/%s/%s failed", referral_id, stage, level)
            return False

    def deadline_of(self, referral: Referral, stage: str) -> StageDeadline:
        assert referral.sent_at is not None
        return stage_deadline(
            self.application.network.deadlines, calendar_for(self.application.network.state),
            urgency=referral.urgency, lead_handoff=referral.is_lead_handoff, stage=stage,
            sent_at=referral.sent_at, holds=[(start, end) for start, end in referral.holds])

    def escalate_referral(self, referral_id: UUID, stage: str, level: int,
                          now: datetime) -> dict[str, Any]:
        """Records the escalation (referral, stage, level) and its notification, if it is
        due at ``now`` and has not happened; otherwise records nothing (idempotent)."""
        by = Stamp.system(f"escalation:{referral_id}:{stage}:{level}")

        def decide() -> Any:
            referral = self.application.load(Referral, referral_id, what="referral")
            if referral.escalation_due(stage) != level or level > len(
                    self.application.network.deadlines.escalation):
                return [], {"escalated": False}
            deadline = self.deadline_of(referral, stage)
            if now < deadline.escalations[level - 1]:
                return [], {"escalated": False}
            referral.escalate(stage, level, self.application.network.deadlines.version, by=by)
            notification = Notification(
                id=Notification.id_for(referral.id, stage, level), referral_id=referral.id,
                stage=stage, level=level, recipients=self.recipients(referral, level),
                subject=in_language(_(
                    "[Fallnetz] Deadline missed: {stage} (escalation level {level})",
                    stage=STAGE_NAMES[stage], level=level), MAIL_LANGUAGE),
                body=in_language(_(
                    "The deadline \"{stage}\" of a referral has been missed since {due} (UTC). "
                    "Escalation level {level}. Please open the referral:",
                    stage=STAGE_NAMES[stage], level=level,
                    due=deadline.due_at.isoformat(timespec="minutes")), MAIL_LANGUAGE),
                by=by)
            return [referral, notification], {"escalated": True,
                                              "notification_id": notification.id}
        return self.application.execute("escalate_referral", by, decide)

    def recipients(self, referral: Referral, level: int) -> list[dict[str, Any]]:
        """Who DESIGN §6 names for this level; an organisation's inbox stands in for people
        who cannot be found."""
        policy_level = self.application.network.deadlines.escalation[level - 1]
        receiver = self.application.load(Organisation, referral.to_organisation_id)
        sender = self.application.load(Organisation, referral.from_organisation_id)
        coordination = self.application.organisation_by_key(
            self.application.network.coordination_office)
        found: list[dict[str, Any]] = []
        for recipient in policy_level.recipients:
            if recipient == "receiving_inbox":
                found += _inbox(receiver)
            elif recipient == "receiving_supervisor":
                found += self._people(receiver, _members(receiver, Role.SUPERVISOR))
            elif recipient == "sending_caseworker":
                found += self._people(sender, [referral.from_user])
            elif recipient == "sending_supervisor":
                found += self._people(sender, _members(sender, Role.SUPERVISOR))
            elif recipient == "coordination_office":
                found += _inbox(coordination)
        return _unique(found)

    def office_recipients(self, office: Organisation | None) -> list[dict[str, Any]]:
        """The coordination office: its inbox and its coordinators (monthly report, missed
        agreements of the needs register)."""
        if office is None:
            return []
        return _unique(_inbox(office) + self._people(office, _members(office, Role.COORDINATOR)))

    def _people(self, organisation: Organisation | None,
                users: list[str]) -> list[dict[str, Any]]:
        """The users' mail addresses; the organisation's inbox when none has one."""
        accounts = [self.application.find(UserAccount, UserAccount.id_for(u)) for u in users]
        reachable = [a for a in accounts if a is not None and a.email]
        if not reachable:
            return _inbox(organisation)
        return [{"kind": "user", "user": account.username,
                 "organisation_id": organisation.id if organisation else None,
                 "address": account.email} for account in reachable]

    # -- the monthly report -------------------------------------------------------------------
    def queue_monthly_report(self, month: date) -> dict[str, Any]:
        """Records the notification that mails the network's report of ``month`` to the
        coordination office (its inbox and its coordinators); once per month: a second
        call records nothing. The PDF is made when the mail is sent."""
        office = self.application.organisation_by_key(
            self.application.network.coordination_office)
        if office is None:
            return {"queued": False}
        notification_id = Notification.id_for_monthly_report(office.id, month)
        if self.application.find(Notification, notification_id) is not None:
            return {"queued": False}  # the usual answer: asked with every mail run
        by = Stamp.system(f"monthly-report:{month:%Y-%m}")

        def decide() -> Any:
            if self.application.find(Notification, notification_id) is not None:
                return [], {"queued": False}  # another worker was quicker
            label = f"{month:%m/%Y}"
            notification = Notification(
                id=notification_id, referral_id=None, stage=MONTHLY_REPORT, level=0,
                recipients=self.office_recipients(office),
                subject=in_language(_("[Fallnetz] Monthly report of the network {month}",
                                      month=label), MAIL_LANGUAGE),
                body=in_language(_(
                    "The network's report of {month} is attached as a PDF: its health, its "
                    "care gaps and its capacity against the expected demand, aggregated, "
                    "without any person's data. The reports in Fallnetz:", month=label),
                    MAIL_LANGUAGE),
                attachment={"report": "monthly", "month": f"{month:%Y-%m}"}, by=by)
            return [notification], {"queued": True, "notification_id": notification.id}
        try:
            return self.application.execute("queue_monthly_report", by, decide)
        except ConflictError:  # two workers at the same moment: the other one recorded it
            return {"queued": False}

    # -- delivery -----------------------------------------------------------------------------
    def claim_notification(self, notification_id: UUID, now: datetime) -> Notification | None:
        """Claims a notification for sending; None when it is not (or no longer) sendable or
        another sender claimed it first."""
        from domain.base import ConflictError

        by = Stamp.system(f"mail:{notification_id}")

        def decide() -> Any:
            notification = self.application.load(Notification, notification_id,
                                                 what="notification")
            if not notification.sendable(now):
                return [], {"claimed": False}
            notification.start_sending(now, by=by)
            return [notification], {"claimed": True}
        try:
            claimed = self.application.execute("claim_notification", by, decide)["claimed"]
        except ConflictError:
            return None
        return self.application.load(Notification, notification_id) if claimed else None

    def record_delivery(self, notification_id: UUID) -> None:
        self._notification_command("record_delivery", notification_id, "mail",
                                   lambda n, by: n.record_delivery(by=by))

    def record_unsent(self, notification_id: UUID, error: str, now: datetime) -> None:
        self._notification_command("record_unsent", notification_id, "mail",
                                   lambda n, by: n.record_unsent(error, now, by=by))

    def record_failure(self, notification_id: UUID, reason: str) -> None:
        self._notification_command("record_failure", notification_id, "mail",
                                   lambda n, by: n.record_failure(reason, by=by))

    def release_notification(self, notification_id: UUID, reason: str,
                             now: datetime) -> None:
        self._notification_command("release_notification", notification_id,
                                   "operator-release",
                                   lambda n, by: n.release(reason, now, by=by))

    def _notification_command(self, command: str, notification_id: UUID, origin: str,
                              change: Callable[[Notification, Stamp], None]) -> None:
        by = Stamp.system(f"{origin}:{notification_id}")

        def decide() -> Any:
            notification = self.application.load(Notification, notification_id,
                                                 what="notification")
            change(notification, by)
            return [notification], {}
        self.application.execute(command, by, decide)
