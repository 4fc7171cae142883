"""Random but reproducible workloads of commands over the test world."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from uuid import UUID

from domain.base import DomainError
from testbed.world import World

RECEIVER_STEPS = ["receive", "accept", "reject", "forward", "start", "hold", "resume",
                  "complete", "fail", "waitlist"]


def random_commands(world: World, count: int, seed: int = 7) -> int:
    """Runs ``count`` commands chosen at random (some are refused by the domain, as in real
    life); returns how many were recorded."""
    rng = random.Random(seed)
    application = world.application
    cases: list[UUID] = []
    referrals: list[UUID] = []
    recorded = 0
    for _ in range(count):
        choice = rng.random()
        try:
            if choice < 0.1 or not cases:
                case_id = world.open_case(residence_status=rng.choice(
                    ["gestattung", "duldung", "permit_25"]))
                world.consent(case_id)
                cases.append(case_id)
            elif choice < 0.35:
                referrals.append(world.send(rng.choice(cases),
                                            urgency=rng.choice(["crisis", "urgent",
                                                                "routine"])))
            elif choice < 0.4:
                application.cases.change_residence_status(world.anna, rng.choice(cases),
                                            rng.choice(["permit_25", "duldung",
                                                        "settlement_permit"]))
            elif choice < 0.45 and referrals:
                application.referrals.cancel_referral(world.anna, rng.choice(referrals),
                                                      "erledigt")
            elif referrals:
                step = rng.choice(RECEIVER_STEPS)
                referral_id = rng.choice(referrals)
                nadia = world.nadia
                if step == "forward":
                    application.referrals.forward_referral(nadia, referral_id,
                                                           world.org("gesundheitsamt"), "weiter")
                elif step in ("reject", "hold", "waitlist"):
                    getattr(application.referrals, f"{step}_referral")(nadia, referral_id, "Grund")
                elif step in ("complete", "fail"):
                    getattr(application.referrals, f"{step}_referral")(nadia, referral_id,
                                                                       "Ergebnis")
                else:
                    getattr(application.referrals, f"{step}_referral")(nadia, referral_id)
            recorded += 1
        except DomainError:
            pass
    return recorded


def days_ago(days: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days)
