"""The network's instruments counted from a small network whose every figure is worked out
by hand below from the commands of testbed/reports.py (SQLite and PostgreSQL); a rebuild
gives the same."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timezone

import pytest

from domain.base import DomainError, PermissionDenied
from readmodel.reports import (
    Flow, GapRow, Overdue, Period, ReportFilter, capacity_against_demand, care_gaps,
    drawn, median_for_export, network_health, network_map, rate_for_export, suppressed)
from readmodel.runner import ViewUpdater
from testbed.reports import MARCH, ReferredInMarch as Network
from testbed.world import World


@pytest.fixture
def referred(world: World, updater: ViewUpdater) -> Network:
    built = Network(world)
    updater.catch_up()
    return built


def test_the_network_map_counts_each_flow_by_hand(referred: Network,
                                                  updater: ViewUpdater) -> None:
    found = network_map(updater.store, MARCH)
    fsa, psz, jobcenter, practice = (referred.org(k) for k in (
        "fsa-sachsendorf", "psz", "jobcenter", "kinderarzt-schmellwitz"))
    assert sorted(found.flows, key=lambda f: f.to_organisation_id) == sorted([
        # sent, accepted, rejected, escalated, accepted ÷ decided, days to receive (R1 1.0,
        # R2 2.0), days to accept (R1 2.0), escalated ÷ sent (R2)
        Flow(fsa, psz, 2, 1, 1, 1, 0.5, 1.5, 2.0, 0.5),
        Flow(fsa, jobcenter, 1, 1, 0, 0, 1.0, None, 1.0, 0.0),
        Flow(fsa, practice, 2, 0, 2, 0, 0.0, None, None, 0.0),
    ], key=lambda f: f.to_organisation_id)
    assert {n.organisation_id: (n.sent, n.received) for n in found.nodes} == {
        fsa: (5, 0), psz: (0, 2), jobcenter: (0, 1), practice: (0, 2)}
    # A district and a need narrow it: Schmellwitz had the paediatric referrals only.
    narrowed = network_map(updater.store, ReportFilter(MARCH.period, district="Schmellwitz"))
    assert [(f.to_organisation_id, f.sent) for f in narrowed.flows] == [(practice, 2)]
    group = network_map(updater.store, ReportFilter(MARCH.period, need="health"))
    assert sum(f.sent for f in group.flows) == 4
    assert network_map(updater.store, ReportFilter(Period.months("2026-04", "2026-04"))
                       ).flows == []


def test_the_care_gap_report_by_hand(referred: Network, updater: ViewUpdater,
                                     world: World) -> None:
    rows = care_gaps(updater.store, world.application.network, MARCH)
    by_key = {(r.district, r.need): r for r in rows}
    trend = [0] * 11
    assert by_key[("Sachsendorf", "health.psychosocial")] == GapRow(
        # needs recorded C1 C2; sent R1 R2; accepted R1; R2 rejected for capacity and
        # escalated; first contact 4.0 days after R1 was sent; the PSZ: 1 of 25 places
        "Sachsendorf", "health.psychosocial", 2, 2, 1, 1, 0, 0, 1, 4.0, 1, 0.04, trend + [2])
    assert by_key[("Sachsendorf", "benefits")] == GapRow(
        "Sachsendorf", "benefits", 1, 1, 1, 0, 0, 0, 0, None, 1, 0.002, trend + [1])
    assert by_key[("Schmellwitz", "health.paediatric")] == GapRow(
        "Schmellwitz", "health.paediatric", 2, 2, 0, 1, 1, 0, 0, None, 1, 0.0, trend + [2])
    assert by_key[("Sachsendorf", "health.psychosocial")].gaps == ["rejected_for_capacity"]
    assert by_key[("Schmellwitz", "health.paediatric")].gaps == [
        "no_acceptance", "rejected_for_capacity"]
    assert by_key[("Sachsendorf", "benefits")].gaps == []
    # No service offers paediatrics outside Schmellwitz: a gap without demand.
    assert by_key[("Sachsendorf", "health.paediatric")].gaps == ["no_provider"]
    # 6 districts × 14 needs, of which 13 are offered (psychosocial and benefits in all six,
    # paediatrics in one): 71 without a service, plus the 3 with demand.
    assert len(rows) == 74
    assert sum(1 for r in rows if r.no_provider) == 71


def test_the_network_health_by_hand(referred: Network, updater: ViewUpdater,
                                    world: World) -> None:
    now = datetime(2026, 4, 30, 12, tzinfo=timezone.utc)
    health = network_health(updater.store, MARCH, now)
    # 5 sent, 3 ended (R2, R4, R5 rejected); receipt R1 1.0, R2 2.0; decision R1 1.0, R2
    # 1.0, R3 1.0 (from sending), R4 0.25, R5 1.0; first contact R1 2.0 after acceptance.
    assert (health.sent, health.with_outcome, health.outcome_share) == (5, 3, 0.6)
    assert (health.median_days_to_receive, health.median_days_to_decide,
            health.median_days_to_first_contact) == (1.5, 1.0, 2.0)
    # Only R3 is open with a running deadline (the Jobcenter owes the first contact).
    due = world.application.escalations.deadline_of(world.referral(referred.r3),
                                                    "first_contact").due_at
    late = round((now - due).total_seconds() / 86400, 1)
    assert health.overdue_by_receiver == [
        Overdue(referred.org("jobcenter"), "Jobcenter", 1, late, late)]


def test_a_rebuild_gives_the_same_reports(referred: Network, updater: ViewUpdater,
                                          world: World) -> None:
    now = datetime(2026, 4, 30, 12, tzinfo=timezone.utc)

    def everything() -> tuple[object, ...]:
        return (network_map(updater.store, MARCH),
                [asdict(r) for r in care_gaps(updater.store, world.application.network, MARCH)],
                network_health(updater.store, MARCH, now))
    before = everything()
    updater.rebuild()
    assert everything() == before


def test_a_referral_entered_in_error_leaves_every_report(referred: Network,
                                                        updater: ViewUpdater,
                                                        world: World) -> None:
    """The monthly rows change by the difference a change makes: R3 (to the Jobcenter) was
    never meant, and the reports count as if it had not been sent."""
    world.application.referrals.mark_referral_entered_in_error(world.birgit, referred.r3,
                                                               "Falscher Fall.")
    updater.catch_up()
    assert referred.org("jobcenter") not in {
        f.to_organisation_id for f in network_map(updater.store, MARCH).flows}
    benefits = {(r.district, r.need): r for r in care_gaps(
        updater.store, world.application.network, MARCH)}[("Sachsendorf", "benefits")]
    assert (benefits.needs_recorded, benefits.sent, benefits.accepted) == (1, 0, 0)
    now = datetime(2026, 4, 30, 12, tzinfo=timezone.utc)
    health = network_health(updater.store, MARCH, now)
    # R1, R2, R4, R5 sent, of them R2, R4, R5 ended; decisions 1.0, 1.0, 0.25, 1.0
    assert (health.sent, health.with_outcome, health.median_days_to_decide) == (4, 3, 1.0)
    assert health.overdue_by_receiver == []  # R3 owed the only running deadline
    before = network_map(updater.store, MARCH), network_health(updater.store, MARCH, now)
    updater.rebuild()
    assert (network_map(updater.store, MARCH), network_health(updater.store, MARCH, now)) \
        == before


def test_a_supervisors_slice_counts_the_needs_their_organisation_recorded(
        referred: Network, updater: ViewUpdater, world: World) -> None:
    """The FSA recorded every need; the PSZ received two of the referrals."""
    def psychosocial(organisation: str) -> GapRow:
        rows = care_gaps(updater.store, world.application.network,
                         ReportFilter(MARCH.period, organisation_id=referred.org(organisation)))
        return {(r.district, r.need): r for r in rows}[("Sachsendorf", "health.psychosocial")]
    assert (psychosocial("fsa-sachsendorf").needs_recorded,
            psychosocial("fsa-sachsendorf").sent) == (2, 2)
    assert (psychosocial("psz").needs_recorded, psychosocial("psz").sent) == (0, 2)


def test_small_counts_do_not_leave_the_office() -> None:
    assert [suppressed(n) for n in (0, 1, 4, 5, 7, 8, 12, 13)] == [
        0, "< 5", "< 5", 5, 5, 10, 10, 15]
    # 12 sent in all, 10 and "< 5" shown in two rows: the rest is 2 only up to rounding.
    assert [drawn(n) for n in (0, 1, 4, 12)] == [0, 2, 2, 10]
    assert median_for_export(2.5, 4) is None and median_for_export(2.5, 5) == 2.5
    assert rate_for_export(0.5, 1, 2) == "< 5"
    assert rate_for_export(0.5, 5, 10) == 0.5
    assert rate_for_export(None, 0, 0) is None
    # 5 sent and 60 % ended would give the 3 ended away; 83 % of 6 the one not ended.
    assert rate_for_export(0.6, 3, 5) == "< 5"
    assert rate_for_export(0.833, 5, 6) == "< 5"
    assert rate_for_export(0.0, 0, 7) == 0.0 and rate_for_export(1.0, 7, 7) == 1.0


def test_rejection_grounds_are_checked(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    with pytest.raises(DomainError) as refused:
        world.application.referrals.reject_referral(world.nadia, referral_id, "x",
                                                    grounds="weather")
    assert refused.value.field == "grounds"
    assert world.referral(referral_id).status == "requested"
    world.application.referrals.reject_referral(world.nadia, referral_id, "voll",
                                                grounds="no_capacity")
    assert world.referral(referral_id).rejection_grounds == "no_capacity"


def test_capacity_against_demand_by_hand(referred: Network, updater: ViewUpdater,
                                         world: World) -> None:
    planning = world.application.planning
    katrin = world.as_("katrin", "koordinierungsstelle")
    # 40, then revised: 30 people expected to need psychosocial help in March.
    planning.record_demand(katrin, "health.psychosocial", date(2026, 3, 1), date(2026, 3, 1),
                           40)
    planning.record_demand(katrin, "health.psychosocial", date(2026, 3, 1), date(2026, 3, 1),
                           30)
    # Health care of any kind in Schmellwitz over a quarter.
    planning.record_demand(katrin, "health", date(2026, 3, 1), date(2026, 5, 1), 10,
                           district="Schmellwitz")
    withdrawn = planning.record_demand(katrin, "housing", date(2026, 1, 1),
                                       date(2026, 12, 1), 450)["estimate_id"]
    planning.withdraw_demand(katrin, withdrawn)
    updater.catch_up()
    rows = {(r.need, r.district): r for r in capacity_against_demand(updater.store, MARCH)}
    # The PSZ's 25 places, 1 taken (R1): 24 free for 30 people, 6 missing.
    psychosocial = rows[("health.psychosocial", None)]
    assert (psychosocial.people, psychosocial.places, psychosocial.taken, psychosocial.free,
            psychosocial.missing) == (30, 25, 1, 24, 6)
    # In Schmellwitz the PSZ (everywhere) and the practice (2 places, none taken).
    schmellwitz = rows[("health", "Schmellwitz")]
    assert (schmellwitz.places, schmellwitz.taken, schmellwitz.missing) == (27, 1, 0)
    assert ("housing", None) not in rows  # withdrawn
    assert capacity_against_demand(
        updater.store, ReportFilter(Period.months("2026-06", "2026-12"))) == []


def test_only_the_coordination_office_plans_and_absurd_numbers_are_refused(
        world: World) -> None:
    planning = world.application.planning
    katrin = world.as_("katrin", "koordinierungsstelle")
    with pytest.raises(PermissionDenied):
        planning.record_demand(world.birgit, "housing", date(2026, 1, 1), date(2026, 1, 1), 5)
    for people, months, field in ((0, (1, 1), "people"), (2_000_000, (1, 1), "people"),
                                  (5, (3, 1), "last_month")):
        with pytest.raises(DomainError) as refused:
            planning.record_demand(katrin, "housing", date(2026, months[0], 1),
                                   date(2026, months[1], 1), people)
        assert refused.value.field == field
    with pytest.raises(DomainError) as unknown:
        planning.record_demand(katrin, "weather", date(2026, 1, 1), date(2026, 1, 1), 5)
    assert unknown.value.field == "need"
