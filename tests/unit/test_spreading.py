"""Wohnortnahe Verteilung (issue: spreading families over nearby providers): suggestions
that respect capacity and geography, acceptance that knows capacity, the waiting list.

The rules, each a test named after it, then a property test over random networks, then
the scenario on SQLite and PostgreSQL: more families in Sachsendorf need a paediatric
practice than its practice can take; sending along the top suggestion fills Sachsendorf's
practice, then the neighbour's, then the one further away, none over capacity until all are
full; the family after that meets a full practice that offers its waiting list."""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.application import ReferralNetwork
from runtime.bootstrap import bootstrap
from domain.network import load_network
from domain.referral import CapacityReached, IllegalTransition
from domain.routing import ServiceLoad, load_kind, place_of, service_full, suggest_receivers
from domain.settings import PROJECT_ROOT, Settings
from domain.stamp import Role, Stamp
from testbed.world import World
from readmodel import queries
from readmodel.runner import ViewUpdater

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
SYSTEM = Stamp.system("spreading-test")
NETWORK = load_network(PROJECT_ROOT / "networks" / "cottbus")
# Sachsendorf borders Sandow and Spremberger Vorstadt in the demo network; Mitte does not.
PRACTICES = {"kinderarzt-sachsendorf": "Sachsendorf", "kinderarzt-sandow": "Sandow",
             "kinderarzt-mitte": "Mitte"}


def practice(application: ReferralNetwork, key: str, district: str, capacity: int | None,
             staff: str | None = None) -> UUID:
    organisation_id = application.directory.register_organisation(
        SYSTEM, key, f"Praxis {district}", "health", f"{key}@test.invalid"
    )["organisation_id"]
    application.directory.add_service(SYSTEM, organisation_id, "sprechstunde", {
        "name": "Sprechstunde", "needs": ["health.paediatric"], "districts": [district],
        "languages": ["de", "ar"], "capacity": capacity})
    if staff:
        application.directory.register_user(SYSTEM, staff, staff.title())
        application.directory.add_member(SYSTEM, organisation_id, staff, Role.CASEWORKER)
    return organisation_id


def suggestions(world: World, case_id: UUID, load: dict[UUID, ServiceLoad]) -> list:  # type: ignore[type-arg]
    application = world.application
    return suggest_receivers(application.network, application.organisations(),
                             application.repository.get(case_id), "health.paediatric", "routine",
                             {(oid, "sprechstunde"): l for oid, l in load.items()}, NOW)


# -- the rules ------------------------------------------------------------------------------
def test_the_network_names_neighbours_both_ways() -> None:
    assert "Sandow" in NETWORK.next_to("Sachsendorf")
    assert "Sachsendorf" in NETWORK.next_to("Sandow")
    assert "Mitte" not in NETWORK.next_to("Sachsendorf")
    assert place_of(NETWORK, ["Sandow"], "Sachsendorf") == "neighbour"
    assert place_of(NETWORK, [], "Sachsendorf") == "district"  # serves the whole network
    assert place_of(NETWORK, ["Mitte"], "Sachsendorf") == "elsewhere"


def test_a_service_with_room_in_the_district_comes_first(world: World) -> None:
    near = practice(world.application, "kinderarzt-sachsendorf", "Sachsendorf", 5)
    next_door = practice(world.application, "kinderarzt-sandow", "Sandow", 5)
    case_id = world.open_case()
    ranked = suggestions(world, case_id, {near: ServiceLoad(taken=4), next_door: ServiceLoad()})
    assert [s.organisation_id for s in ranked] == [near, next_door]
    assert ranked[0].why()[0] == "room_district" and ranked[1].why()[0] == "room_neighbour"


def test_a_neighbour_with_room_comes_before_a_full_service_in_the_district(
        world: World) -> None:
    near = practice(world.application, "kinderarzt-sachsendorf", "Sachsendorf", 5)
    far = practice(world.application, "kinderarzt-mitte", "Mitte", 5)
    next_door = practice(world.application, "kinderarzt-sandow", "Sandow", 5)
    case_id = world.open_case()
    ranked = suggestions(world, case_id, {near: ServiceLoad(taken=5)})
    assert [s.organisation_id for s in ranked] == [next_door, far, near]
    assert [s.why()[0] for s in ranked] == ["room_neighbour", "room_elsewhere", "full"]


def test_a_full_service_is_still_offered_last_and_marked(world: World) -> None:
    near = practice(world.application, "kinderarzt-sachsendorf", "Sachsendorf", 2)
    case_id = world.open_case()
    (only,) = suggestions(world, case_id, {near: ServiceLoad(taken=2)})
    assert only.full and only.why()[0] == "full"


def test_referrals_sent_and_received_count_against_capacity(world: World) -> None:
    near = practice(world.application, "kinderarzt-sachsendorf", "Sachsendorf", 3)
    next_door = practice(world.application, "kinderarzt-sandow", "Sandow", 3)
    case_id = world.open_case()
    # Three sent this morning and not yet decided: the practice is full for suggestions.
    ranked = suggestions(world, case_id, {near: ServiceLoad(requested=3)})
    assert [s.organisation_id for s in ranked] == [next_door, near]
    assert ranked[1].full and ranked[1].load.committed == 3
    assert load_kind("requested", False) == load_kind("received", False) == "requested"
    assert load_kind("on-hold", True) == "waiting" and load_kind("on-hold", False) == "taken"
    assert load_kind("rejected", False) is None


def test_families_on_the_waiting_list_come_before_new_ones(world: World) -> None:
    near = practice(world.application, "kinderarzt-sachsendorf", "Sachsendorf", 4)
    next_door = practice(world.application, "kinderarzt-sandow", "Sandow", 4)
    case_id = world.open_case()
    # One place came free, but a family waits for it: it is not free for a new one.
    ranked = suggestions(world, case_id, {near: ServiceLoad(taken=3, waiting=1)})
    assert [s.organisation_id for s in ranked] == [next_door, near]
    assert ranked[1].full and ranked[1].load.committed == 4


def test_the_explanation_names_map_language_and_legal_sphere(world: World) -> None:
    practice(world.application, "kinderarzt-sachsendorf", "Sachsendorf", 3)
    case_id = world.open_case()
    (only,) = suggestions(world, case_id, {})
    assert only.why() == ("room_district", "named_by_map", "speaks_language",
                          "serves_legal_sphere")


def referral_to_a_practice_of_one_place(world: World) -> tuple[Stamp, UUID]:
    """Sachsendorf's practice with one place and its staff member pia; a family's referral
    to it. Returns pia's stamp and the referral."""
    near = world.ids["kinderarzt-sachsendorf"] = practice(
        world.application, "kinderarzt-sachsendorf", "Sachsendorf", 1, staff="pia")
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id, to="kinderarzt-sachsendorf", need="health.paediatric",
                             to_service_id="sprechstunde")
    return Stamp("pia", near, "caseworker", "r"), referral_id


def test_accepting_into_a_full_service_needs_a_recorded_reason(world: World) -> None:
    application = world.application
    pia, referral_id = referral_to_a_practice_of_one_place(world)
    application.places_taken = lambda organisation_id, service_id: 1  # the one place is in use
    with pytest.raises(CapacityReached) as refused:
        application.referrals.accept_referral(pia, referral_id)
    assert refused.value.field == "over_capacity_reason"
    assert world.referral(referral_id).status == "requested"
    application.referrals.accept_referral(pia, referral_id,
                                          over_capacity_reason="Geschwisterkind, Rücksprache")
    accepted = world.referral(referral_id)
    assert (accepted.status, accepted.over_capacity_reason) == (
        "accepted", "Geschwisterkind, Rücksprache")
    assert service_full(1, 1) and not service_full(None, 99) and not service_full(2, 1)


def test_a_referral_on_the_waiting_list_pauses_and_leaves_it_by_accept(world: World) -> None:
    application = world.application
    pia, referral_id = referral_to_a_practice_of_one_place(world)
    application.referrals.receive_referral(pia, referral_id)
    application.referrals.waitlist_referral(pia, referral_id, "Warteliste")
    waiting = world.referral(referral_id)
    assert (waiting.status, waiting.waitlisted, waiting.current_stage) == ("on-hold", True,
                                                                          None)
    with pytest.raises(IllegalTransition):  # resume is for paused work, not the list
        application.referrals.resume_referral(pia, referral_id)
    application.referrals.accept_referral(pia, referral_id)
    accepted = world.referral(referral_id)
    assert (accepted.status, accepted.waitlisted) == ("accepted", False)
    assert accepted.holds[-1][1] is not None, "the pause ended with the acceptance"


# -- the property ---------------------------------------------------------------------------
PROPERTY_APPLICATION = bootstrap(Settings(database_url="sqlite:///:memory:"), network=NETWORK).application
PROPERTY_WORLD = World.build(PROPERTY_APPLICATION)
PROPERTY_CASE = PROPERTY_WORLD.open_case()  # Sachsendorf


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(services=st.lists(st.tuples(st.sampled_from(
    ["Sachsendorf", "Sandow", "Spremberger Vorstadt", "Mitte", "Schmellwitz"]),
    st.integers(min_value=0, max_value=4)), min_size=1, max_size=5),
    families=st.integers(min_value=1, max_value=25))
def test_sending_along_the_top_suggestion_overfills_nothing_while_room_is_near(
        services: list[tuple[str, int]], families: int) -> None:
    """For any services and any number of families sent along the top suggestion, no
    service goes beyond its capacity while a service of the need in the district or a
    neighbour still has room."""
    application = PROPERTY_APPLICATION
    keys = [f"p{uuid4().hex[:10]}" for _ in services]
    ids = {practice(application, key, district, capacity): (district, capacity)
           for key, (district, capacity) in zip(keys, services, strict=True)}
    load = dict.fromkeys(ids, 0)
    near = {oid for oid, (district, _c) in ids.items()
            if place_of(NETWORK, [district], "Sachsendorf") != "elsewhere"}
    try:
        for _family in range(families):
            ranked = [s for s in suggest_receivers(
                application.network, [o for o in application.organisations() if o.id in ids],
                PROPERTY_APPLICATION.repository.get(PROPERTY_CASE), "health.paediatric", "routine",
                {(oid, "sprechstunde"): ServiceLoad(taken=n) for oid, n in load.items()}, NOW)]
            top = ranked[0].organisation_id
            capacity = ids[top][1]
            if load[top] >= capacity:
                room_near = [oid for oid in near if load[oid] < ids[oid][1]]
                assert not room_near, "a full service was suggested while one near had room"
                assert ranked[0].full
            load[top] += 1
    finally:
        for oid in ids:
            application.directory.deactivate_organisation(SYSTEM, oid, "test over")


# -- the scenario ---------------------------------------------------------------------------
def test_families_fill_the_district_then_the_neighbours_then_the_waiting_list(
        world: World, updater: ViewUpdater) -> None:
    application = world.application
    staff = {key: f"staff-{key.rsplit('-', 1)[1]}" for key in PRACTICES}
    ids = {key: practice(application, key, district, 2, staff=staff[key])
           for key, district in PRACTICES.items()}
    world.ids.update(ids)
    receivers = {oid: Stamp(staff[key], oid, "caseworker", "r") for key, oid in ids.items()}
    application.places_taken = lambda organisation_id, service_id: queries.places_taken(
        updater.store, str(organisation_id), service_id)

    def loads() -> dict[tuple[UUID, str], ServiceLoad]:
        updater.catch_up()
        return {(UUID(r["organisation_id"]), r["service_id"]): ServiceLoad(
            taken=int(r["active_referrals"]), requested=int(r["requested_referrals"]),
            waiting=int(r["waiting_referrals"])) for r in queries.service_load(updater.store)}

    chosen, reasons = [], []
    for family in range(7):
        case_id = world.open_case(needs=["health.paediatric"])
        world.consent(case_id)
        top = suggest_receivers(
            application.network,
            application.organisations(),
            world.case(case_id),
            "health.paediatric",
            "routine",
            loads(),
            application.clock(),
        )[0]
        chosen.append(next(k for k, oid in ids.items() if oid == top.organisation_id))
        reasons.append(top.why()[0])
        referral_id = world.send(case_id, to=chosen[-1], need="health.paediatric",
                                 urgency="routine", to_service_id=top.service_id)
        receiver = receivers[top.organisation_id]
        if family < 6:
            application.referrals.accept_referral(receiver, referral_id)
            for row in queries.service_load(updater.store):
                assert int(row["active_referrals"]) <= int(row["capacity"]), row
        else:  # all are full: the practice may not overfill silently, it offers its list
            updater.catch_up()
            with pytest.raises(CapacityReached):
                application.referrals.accept_referral(receiver, referral_id)
            application.referrals.waitlist_referral(receiver, referral_id, "Warteliste")
            updater.catch_up()
            waiting = queries.waiting_list(updater.store, str(top.organisation_id))
            assert [row["referral_id"] for row in waiting] == [str(referral_id)]
    # The full practice offered first is the family's own district's.
    assert chosen == ["kinderarzt-sachsendorf"] * 2 + ["kinderarzt-sandow"] * 2 + \
        ["kinderarzt-mitte"] * 2 + ["kinderarzt-sachsendorf"]
    assert reasons == ["room_district"] * 2 + ["room_neighbour"] * 2 + \
        ["room_elsewhere"] * 2 + ["full"]
    final = {row["organisation_id"]: row for row in queries.service_load(updater.store)}
    assert [int(final[str(ids[k])]["active_referrals"]) for k in PRACTICES] == [2, 2, 2]
    assert int(final[str(ids["kinderarzt-sachsendorf"])]["waiting_referrals"]) == 1


# -- through the API ------------------------------------------------------------------------
def test_the_api_explains_the_suggestions_and_guards_a_full_service(
        web_app, updater: ViewUpdater) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_api import assert_problem, token

    application = web_app.extensions["fallnetz.application"]
    world = World.build(application)
    world.ids["kinderarzt-sachsendorf"] = practice(application, "kinderarzt-sachsendorf",
                                                   "Sachsendorf", 1)
    world.ids["kinderarzt-sandow"] = practice(application, "kinderarzt-sandow", "Sandow", 1)
    client = web_app.test_client()
    fsa = token(web_app, world, "fsa-sachsendorf", "fachverfahren", Role.CASEWORKER)
    praxis = token(web_app, world, "kinderarzt-sachsendorf", "praxis", Role.CASEWORKER)
    case_id = world.open_case(needs=["health.paediatric"])
    world.consent(case_id)
    url = f"/api/v1/cases/{case_id}/suggestions?need=health.paediatric&urgency=routine"

    def ranked() -> list[dict]:  # type: ignore[type-arg]
        updater.catch_up()
        response = client.get(url, headers=fsa)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    first = ranked()
    assert [(s["organisation_id"], s["place"], s["why"][0], s["rank"]) for s in first] == [
        (str(world.org("kinderarzt-sachsendorf")), "district", "room_district", 1),
        (str(world.org("kinderarzt-sandow")), "neighbour", "room_neighbour", 2)]
    assert first[0]["capacity"] == 1 and first[0]["taken"] == 0 and first[0]["deadlines"]
    assert_problem(client.get(url.split("?")[0] + "?urgency=routine", headers=fsa), 422,
                   "#/need")

    sent = [world.send(case_id, to="kinderarzt-sachsendorf", need="health.paediatric",
                       urgency="routine", to_service_id="sprechstunde") for _ in range(2)]
    accepted = client.post(f"/api/v1/referrals/{sent[0]}/accept", headers=praxis, json={})
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    after = ranked()
    assert [(s["why"][0], s["full"]) for s in after] == [("room_neighbour", False),
                                                        ("full", True)]
    assert (after[1]["taken"], after[1]["requested"]) == (1, 1)

    refused = client.post(f"/api/v1/referrals/{sent[1]}/accept", headers=praxis, json={})
    body = assert_problem(refused, 422, "#/over_capacity_reason")
    assert body["type"].endswith("capacity_reached")
    waiting = client.post(f"/api/v1/referrals/{sent[1]}/waitlist", headers=praxis,
                          json={"reason": "Warteliste"})
    assert waiting.status_code == 200 and waiting.get_json()["status"] == "on-hold"
    assert ranked()[1]["waiting"] == 1
    over = client.post(f"/api/v1/referrals/{sent[1]}/accept", headers=praxis,
                       json={"over_capacity_reason": "Geschwisterkind"})
    assert over.status_code == 200 and over.get_json()["status"] == "accepted"
    assert world.referral(sent[1]).over_capacity_reason == "Geschwisterkind"


def test_the_capacity_check_counts_what_the_views_have_not_taken_in_yet(
        web_app, updater: ViewUpdater) -> None:  # type: ignore[no-untyped-def]
    """With the workers stopped (or behind), an acceptance still sees the places taken a
    moment ago: the projected load plus the referral events after the views' position."""
    # Its places_taken is the web's.
    application = web_app.extensions["fallnetz.application"]
    world = World.build(application)
    near = world.ids["kinderarzt-sachsendorf"] = practice(
        application, "kinderarzt-sachsendorf", "Sachsendorf", 1, staff="pia")
    pia = Stamp("pia", near, "caseworker", "r")
    case_id = world.open_case()
    world.consent(case_id)
    first, second = (world.send(case_id, to="kinderarzt-sachsendorf", need="health.paediatric",
                                to_service_id="sprechstunde") for _ in range(2))
    updater.catch_up()
    application.referrals.accept_referral(pia, first)  # the views do not know yet
    with pytest.raises(CapacityReached):
        application.referrals.accept_referral(pia, second)
    # The place is free again, still unseen.
    application.referrals.complete_referral(pia, first, "erledigt")
    application.referrals.accept_referral(pia, second)
    assert world.referral(second).over_capacity_reason == ""
