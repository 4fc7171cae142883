"""The escalation scan: the deadlines due, read by index from the views, escalated by the
domain (:meth:`domain.services.escalations.EscalationService.escalate_due`), which records
each (referral, stage, level) at most once."""

from __future__ import annotations

from datetime import datetime

from domain.application import ReferralNetwork
from domain.services.escalations import Escalation, escalations_due
from readmodel.queries import due_escalations
from readmodel.store import ViewStore

__all__ = ["Escalation", "scan"]


def scan(application: ReferralNetwork, store: ViewStore, now: datetime, *, dry_run: bool = False,
         limit: int = 500) -> list[Escalation]:
    """Every escalation due at ``now``; recorded unless ``dry_run`` (which needs no
    application: it only reads the views)."""
    due = due_escalations(store, now, limit)
    return escalations_due(due, now) if dry_run else application.escalations.escalate_due(due, now)
