"""The command path: referrals sent, then accepted, through the application services,
against the bare eventsourcing library saving the same events (the referral's creation with
the case's note of the sharing in one transaction, then the acceptance) on the same
database; with one writer and with four concurrent writers (threads, as gunicorn's)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench import config
from runtime.bootstrap import bootstrap
from domain.settings import Settings
from testbed.world import World

CASES_PER_WRITER = 25  # referrals spread over cases, as in an office; none grows very long
# Engine and baseline take turns this often: a burst of load from elsewhere on the shared
# machine lasts seconds, and with three rounds it fell on one side often enough to move the
# ratio by a tenth between runs of the same code.
ROUNDS = 10


class BareCase(Aggregate):
    def __init__(self, reference: str) -> None:
        self.reference = reference
        self.referral_ids: list[UUID] = []

    @event("ConsentUsed")
    def consent_used(self, consent_id: str, referral_id: UUID, organisation_id: UUID,
                     by: dict[str, Any]) -> None:
        self.referral_ids.append(referral_id)


class BareReferral(Aggregate):
    @event("Created")
    def __init__(self, case_id: UUID, need: str, urgency: str, kind: str,
                 from_organisation_id: UUID, from_user: str, to_organisation_id: UUID,
                 to_service_id: str | None, reason: str, status: str,
                 consent_id: str | None, crisis_override_reason: str | None,
                 policy_version: str | None, parent_referral_id: UUID | None,
                 by: dict[str, Any]) -> None:
        self.case_id = case_id
        self.status = status

    @event("Accepted")
    def accept(self, by: dict[str, Any]) -> None:
        self.status = "accepted"


class BareNetwork(Application):
    pass


def _stamp(user: str, organisation_id: UUID) -> dict[str, Any]:
    return {"user": user, "organisation_id": organisation_id, "role": "caseworker",
            "correlation_id": uuid4().hex}


def engine_writer(world: World) -> Callable[[int], None]:
    application = world.application
    cases = [world.open_case() for _ in range(CASES_PER_WRITER)]
    for case in cases:
        world.consent(case)

    def run(count: int) -> None:
        for i in range(count):
            referral = world.send(cases[i % len(cases)])
            application.referrals.accept_referral(world.nadia, referral)
    return run


def bare_writer(app: BareNetwork, sender: UUID, receiver: UUID) -> Callable[[int], None]:
    cases = [BareCase(f"CB-2026-{i:05d}") for i in range(CASES_PER_WRITER)]
    app.save(*cases)

    def run(count: int) -> None:
        for i in range(count):
            case = app.repository.get(cases[i % len(cases)].id)
            consent_id = uuid4().hex
            referral = BareReferral(
                case_id=case.id, need="health.psychosocial", urgency="urgent", kind="service",
                from_organisation_id=sender, from_user="anna", to_organisation_id=receiver,
                to_service_id=None, reason="Bitte um Erstgespräch.", status="requested",
                consent_id=consent_id, crisis_override_reason=None, policy_version="1",
                parent_referral_id=None, by=_stamp("anna", sender))
            case.consent_used(consent_id=consent_id, referral_id=referral.id,
                              organisation_id=receiver, by=_stamp("anna", sender))
            app.save(referral, case)
            loaded = app.repository.get(referral.id)
            loaded.accept(by=_stamp("nadia", receiver))
            app.save(loaded)
    return run


def _seconds(writers: list[Callable[[int], None]], count: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(len(writers)) as pool:
        for done in [pool.submit(w, count) for w in writers]:
            done.result()
    return time.perf_counter() - started


def _rates(ours: list[Callable[[int], None]], bare: list[Callable[[int], None]],
           count: int) -> dict[str, float]:
    """Referrals (sent and accepted) per second over all writers. Engine and baseline take
    turns in rounds, so a burst of load from elsewhere on the machine hits both alike."""
    per_round = max(1, count // ROUNDS)
    spent = {"engine": 0.0, "bare": 0.0}
    for _ in range(ROUNDS):
        spent["engine"] += _seconds(ours, per_round)
        spent["bare"] += _seconds(bare, per_round)
    done = len(ours) * per_round * ROUNDS
    return {side: done / seconds for side, seconds in spent.items()}


def measure(sizes: config.Sizes) -> dict[str, dict[str, float]]:
    with config.scratch_schema("commands") as schema:
        results = _measure_on(config.schema_url(schema), "commands", sizes)
    # The embedded default: a SQLite file, one writer at a time (its lock).
    with tempfile.TemporaryDirectory() as folder:
        results |= _measure_on(f"sqlite:///{folder}/commands.sqlite3", "commands_sqlite",
                               sizes)
    return results


def _measure_on(url: str, key: str, sizes: config.Sizes) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    application = bootstrap(Settings(database_url=url)).application
    world = World.build(application)
    # The library's defaults: no aggregate cache and the library's own recorder, where the
    # engine has its cache and writes a command's events in one round trip on PostgreSQL.
    bare_env = Settings(database_url=url, aggregate_cache_size=0).persistence_env()
    bare_env.pop("APPLICATION_RECORDER_TOPIC", None)
    bare = BareNetwork(env=bare_env)
    sender, receiver = world.org("fsa-sachsendorf"), world.org("psz")
    try:
        for writers in (1, 4):
            engine_runs = [engine_writer(world) for _ in range(writers)]
            bare_runs = [bare_writer(bare, sender, receiver) for _ in range(writers)]
            # Warm both once, so neither pays for first imports and connections.
            _seconds([engine_writer(world)], 2)
            _seconds([bare_writer(bare, sender, receiver)], 2)
            results[f"{key}_{writers}"] = _rates(engine_runs, bare_runs,
                                                 sizes.referrals_per_writer)
    finally:
        application.close()
        bare.close()
    return results
