"""The escalation scan: finds the deadlines due and issues the escalate commands, which are
idempotent in the Referral aggregate (two scanners, or a repeated scan, record one)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.application import ReferralNetwork
from domain.base import ConflictError
from workers.views.projector import parse
from workers.views.queries import due_deadlines
from workers.views.store import ViewStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Escalation:
    referral_id: str
    stage: str
    level: int
    due_at: datetime
    recorded: bool


def scan(engine: ReferralNetwork, store: ViewStore, now: datetime, *, dry_run: bool = False,
         limit: int = 500) -> list[Escalation]:
    """Every escalation due at ``now``; recorded unless ``dry_run``."""
    found: list[Escalation] = []
    for row in due_deadlines(store, now, limit):
        times = [parse(t) for t in json.loads(row["escalation_times"])]
        for level in range(int(row["next_level"]), len(times) + 1):
            if times[level - 1] > now:
                break
            recorded = False
            if not dry_run:
                recorded = _escalate(engine, row["referral_id"], row["stage"], level, now)
                if not recorded:
                    break
            found.append(Escalation(row["referral_id"], row["stage"], level,
                                    times[level - 1], recorded))
    return found


def _escalate(engine: ReferralNetwork, referral_id: str, stage: str, level: int,
              now: datetime) -> bool:
    try:
        return bool(engine.escalate_referral(UUID(referral_id), stage, level,
                                             now)["escalated"])
    except ConflictError:
        # Another scanner recorded it at the same moment.
        log.info("escalation %s/%s/%s recorded by another scanner", referral_id, stage, level)
        return False
    except Exception:
        # One broken row must not stop the others' escalations.
        log.exception("escalation %s/%s/%s failed", referral_id, stage, level)
        return False
