"""Suggested receivers (DESIGN §7): the map's organisations first, then the closest match by
district, language and legal sphere, then the least loaded by load ÷ capacity; each with the
deadlines a referral sent now would get."""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

from domain.application import ReferralNetwork
from domain.deadlines import calendar_for, stage_deadline
from domain.routing import ServiceLoad, suggest_receivers
from domain.stamp import Stamp
from testbed.world import World

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
SYSTEM = Stamp.system("routing-test")


def practice(application: ReferralNetwork, key: str, district: str, languages: list[str],
             capacity: int | None) -> UUID:
    organisation_id = application.directory.register_organisation(
        SYSTEM, key, f"Praxis {key}", "health", f"{key}@test.invalid"
    )["organisation_id"]
    application.directory.add_service(SYSTEM, organisation_id, "sprechstunde", {
        "name": "Sprechstunde", "needs": ["health.paediatric"], "districts": [district],
        "languages": languages, "capacity": capacity})
    return organisation_id


def ranked(world: World, case_id: UUID, load: dict[tuple[UUID, str], int],
           need: str = "health.paediatric", urgency: str = "urgent") -> list:  # type: ignore[type-arg]
    application = world.application
    loads = {key: ServiceLoad(taken=taken) for key, taken in load.items()}
    return suggest_receivers(application.network, application.organisations(),
                             application.repository.get(case_id), need, urgency, loads, NOW)


def test_the_closest_match_comes_before_the_least_loaded(world: World) -> None:
    application = world.application
    near = practice(application, "kinderarzt-sachsendorf", "Sachsendorf", ["de", "ar"], 4)
    far = practice(application, "kinderarzt-mitte", "Mitte", ["de"], 4)
    case_id = world.open_case()  # Sachsendorf, speaks Arabic
    order = [s.organisation_id for s in ranked(world, case_id, {(near, "sprechstunde"): 3})]
    assert order == [near, far]


def test_equal_matches_are_spread_by_load_over_capacity(world: World) -> None:
    application = world.application
    small = practice(application, "kinderarzt-stroebitz", "Sachsendorf", ["ar"], 2)
    large = practice(application, "kinderarzt-sandow", "Sachsendorf", ["ar"], 10)
    case_id = world.open_case()
    # 1 of 2 (50 %) is fuller than 3 of 10 (30 %)
    suggestions = ranked(world, case_id, {(small, "sprechstunde"): 1,
                                          (large, "sprechstunde"): 3})
    assert [s.organisation_id for s in suggestions] == [large, small]
    assert [s.utilisation for s in suggestions] == [0.3, 0.5]
    full = ranked(world, case_id, {(small, "sprechstunde"): 2})
    assert [s.full for s in full] == [False, True]


def test_organisations_the_map_names_come_first_and_others_still_appear(world: World) -> None:
    application = world.application
    named = practice(application, "kinderarzt-mitte", "Mitte", ["de"], 4)
    unnamed = practice(application, "kinderpraxis-privat", "Sachsendorf", ["ar"], 4)
    case_id = world.open_case()
    suggestions = ranked(world, case_id, {})
    assert [(s.organisation_id, s.named_by_map) for s in suggestions] == [
        (named, True), (unnamed, False)]


def test_the_lead_and_inactive_organisations_are_not_suggested(world: World) -> None:
    application = world.application
    gone = practice(application, "kinderarzt-sachsendorf", "Sachsendorf", ["ar"], 4)
    application.directory.deactivate_organisation(SYSTEM, gone, "geschlossen")
    case_id = world.open_case()
    psychosocial = ranked(world, case_id, {}, need="health.psychosocial")
    assert [s.organisation_id for s in psychosocial] == [world.org("psz")]
    assert ranked(world, case_id, {}) == []


def test_each_suggestion_shows_the_deadlines_it_would_get(world: World) -> None:
    case_id = world.open_case()
    network = world.application.network
    suggestion = ranked(world, case_id, {}, need="health.psychosocial", urgency="crisis")[0]
    expected = [stage_deadline(network.deadlines, calendar_for(network.state),
                               urgency="crisis", lead_handoff=False, stage=stage,
                               sent_at=NOW).due_at
                for stage in ("receive", "decide", "first_contact")]
    assert [d.due_at for d in suggestion.deadlines] == expected
    assert expected == sorted(expected) and expected[0] > NOW
