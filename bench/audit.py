"""The audit: the supervisor's history page of a case with many events, served in-process
by the Flask app (test client, no network), without and with a snapshot of the case;
against the bare library reading the same events from the same store."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from bench import config
from bench.timing import median_ms
from domain.application import ReferralNetwork
from runtime.bootstrap import bootstrap
from domain.case import Case
from domain.settings import Settings
from testbed.web import give_passwords, sign_in
from testbed.world import World
from web import create_app

CHUNK = 100  # changes saved per command while the history is written


def _long_case(world: World, events: int) -> UUID:
    """A case with ``events`` events: opened, consent given, then its language need
    recorded and resolved again and again (as a long-running case's needs come and go)."""
    case_id = world.open_case(needs=[])
    world.consent(case_id)
    application = world.application
    remaining = events - application.repository.get(case_id).version
    while remaining > 0:
        by = world.anna
        count = min(CHUNK, remaining)

        def decide(count: int = count, by: Any = by) -> Any:
            case = application.load(Case, case_id, what="case")
            for _ in range(count):
                if case.needs.get("language", {}).get("status") == "open":
                    case.resolve_need("language", "", by=by)
                else:
                    case.record_need("language", "Deutschkurs B1", by=by)
            return [case], {}
        application.execute("bench_history", by, decide)
        remaining -= count
    return case_id


def _page_ms(application: ReferralNetwork, settings: Settings, case_id: UUID,
             repeats: int) -> float:
    app = create_app(settings, application=application, config={"NUDGE_WORKERS": False})
    client = sign_in(app, "birgit")

    def page() -> None:
        response = client.get(f"/pruefung/faelle/{case_id}")
        assert response.status_code == 200, response.status_code
    return median_ms(page, repeats)


def measure(sizes: config.Sizes) -> dict[str, dict[str, float]]:
    with config.scratch_schema("audit") as schema:
        settings = Settings(database_url=config.schema_url(schema), secret_key="bench-secret")
        application = bootstrap(settings).application
        world = World.build(application)
        give_passwords(application)
        case_id = _long_case(world, sizes.audit_events)
        events = application.repository.get(case_id).version

        def bare() -> None:
            assert len(list(application.repository.event_store.get(case_id))) == events
        bare_ms = median_ms(bare, sizes.repeats)
        plain_ms = _page_ms(application, settings, case_id, sizes.repeats)
        snapshotting = ReferralNetwork(application.network, env={
            **settings.persistence_env(), "IS_SNAPSHOTTING_ENABLED": "y"})
        snapshotting.take_snapshot(case_id)
        snapshot_ms = _page_ms(snapshotting, settings, case_id, sizes.repeats)
        snapshotting.close()
        application.close()
    return {"audit_plain": {"engine": plain_ms, "bare": bare_ms, "events": events},
            "audit_snapshot": {"engine": snapshot_ms, "bare": bare_ms, "events": events}}
