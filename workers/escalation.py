"""The escalation scan: the deadlines due, read by index from the views, escalated by the
domain (:meth:`domain.services.escalations.EscalationService.escalate_due`), which records
each (referral, stage, level) at most once; and the needs register's missed agreements,
escalated once each to the coordination office
(:meth:`domain.services.register.RegisterService.escalate_missed`)."""

from __future__ import annotations

from datetime import datetime

from domain.application import ReferralNetwork
from domain.services.escalations import Escalation, escalations_due
from readmodel.queries import due_escalations
from readmodel.register import missed_agreements
from readmodel.store import ViewStore

__all__ = ["Escalation", "scan", "scan_agreements"]


def scan(application: ReferralNetwork, store: ViewStore, now: datetime, *, dry_run: bool = False,
         limit: int = 500) -> list[Escalation]:
    """Every escalation due at ``now``; recorded unless ``dry_run`` (which needs no
    application: it only reads the views)."""
    due = due_escalations(store, now, limit)
    return escalations_due(due, now) if dry_run else application.escalations.escalate_due(due, now)


def scan_agreements(application: ReferralNetwork, store: ViewStore, now: datetime, *,
                    dry_run: bool = False, limit: int = 500) -> list[str]:
    """The ids of the agreements missed at ``now``; escalated unless ``dry_run``."""
    missed = missed_agreements(store, now, limit)
    if dry_run:
        return missed
    application.register.escalate_missed(missed, now)
    return missed
