"""The network's instruments counted from a small network whose every figure is worked out
by hand below, from the commands given (SQLite and PostgreSQL); a rebuild gives the same."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta, timezone
import pytest

from domain.base import DomainError
from domain.stamp import Role, Stamp
from readmodel.reports import (
    Flow, GapRow, Health, Overdue, Period, ReportFilter, care_gaps, network_health,
    network_map, rate_for_export, suppressed)
from readmodel.runner import ViewUpdater
from testbed.world import World

MARCH = ReportFilter(Period.months("2026-03", "2026-03"))


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=timezone.utc)


class Network:
    """FSA Sachsendorf refers four families in March 2026 (all times UTC):

    - R1 case C1 (Sachsendorf) → PSZ, psychosocial: sent 2 Mar 10:00, received 3 Mar 10:00,
      accepted 4 Mar 10:00, first contact 6 Mar 10:00.
    - R2 case C2 (Sachsendorf) → PSZ, psychosocial: sent 2 Mar 10:00, escalated (receipt
      overdue), received 4 Mar 10:00, rejected for no capacity 5 Mar 10:00.
    - R3 case C2 → Jobcenter, benefits: sent 3 Mar 10:00, accepted 4 Mar 10:00 (no receipt
      step), no first contact.
    - R4 case C3 (Schmellwitz) → Kinderarztpraxis, paediatric: sent 3 Mar 10:00, rejected for
      no capacity 3 Mar 16:00.
    - R5 case C4 (Schmellwitz) → Kinderarztpraxis, paediatric: sent 4 Mar 10:00, rejected as
      not responsible 5 Mar 10:00.
    Needs recorded when the cases open (2 Mar 09:00): C1 psychosocial; C2 psychosocial and
    benefits; C3 and C4 paediatric. The practice offers paediatrics in Schmellwitz only (2
    places); the PSZ psychosocial help (25) and the Jobcenter benefits (500) everywhere."""

    def __init__(self, world: World) -> None:
        self.world = world
        application = world.application
        system = Stamp.system("test-setup")
        application.clock = lambda: at(1)
        practice = application.directory.register_organisation(
            system, "kinderarzt-schmellwitz", "Kinderarztpraxis Schmellwitz", "health",
            "praxis@test.invalid")["organisation_id"]
        world.ids["kinderarzt-schmellwitz"] = practice
        application.directory.register_user(system, "pia", "Pia")
        application.directory.add_member(system, practice, "pia", Role.CASEWORKER)
        application.directory.add_service(system, practice, "sprechstunde", {
            "name": "Sprechstunde", "needs": ["health.paediatric"], "capacity": 2,
            "districts": ["Schmellwitz"]})
        self.pia = Stamp("pia", practice, "caseworker", "t")
        self.jobcenter = world.claudia

        application.clock = lambda: at(2, 9)
        c1 = world.open_case()
        c2 = world.open_case(needs=["health.psychosocial", "benefits"])
        c3, c4 = (world.open_case(needs=["health.paediatric"], person={
            "display_name": "Familie S.", "birth_year": 1988, "household_size": 3,
            "languages": ["uk"], "interpreter_needed": False, "district": "Schmellwitz"})
            for _ in range(2))
        for case_id in (c1, c2, c3, c4):
            world.consent(case_id)
        world.consent(c2, ["benefits"], sector="employment")

        referrals = application.referrals
        application.clock = lambda: at(2)
        self.r1 = world.send(c1)
        self.r2 = world.send(c2)
        application.clock = lambda: at(3)
        referrals.receive_referral(world.nadia, self.r1)
        self.r3 = world.send(c2, to="jobcenter", need="benefits")
        self.r4 = world.send(c3, to="kinderarzt-schmellwitz", need="health.paediatric")
        due = application.escalations.deadline_of(world.referral(self.r2), "receive")
        application.clock = lambda: due.escalations[0] + timedelta(minutes=1)
        assert application.escalations.escalate_referral(
            self.r2, "receive", 1, due.escalations[0] + timedelta(minutes=1))["escalated"]
        application.clock = lambda: at(3, 16)
        referrals.reject_referral(self.pia, self.r4, "Keine Plätze frei.", grounds="no_capacity")
        application.clock = lambda: at(4)
        referrals.accept_referral(world.nadia, self.r1)
        referrals.receive_referral(world.nadia, self.r2)
        referrals.accept_referral(self.jobcenter, self.r3)
        self.r5 = world.send(c4, to="kinderarzt-schmellwitz", need="health.paediatric")
        application.clock = lambda: at(5)
        referrals.reject_referral(world.nadia, self.r2, "Warteliste voll.", grounds="no_capacity")
        referrals.reject_referral(self.pia, self.r5, "Nur Säuglinge.", grounds="not_responsible")
        application.clock = lambda: at(6)
        referrals.start_referral(world.nadia, self.r1)  # the first contact

    def org(self, key: str) -> str:
        return str(self.world.org(key))


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
        # sent, accepted, rejected, accepted ÷ decided, days to receive (R1 1.0, R2 2.0),
        # days to accept (R1 2.0), escalated ÷ sent (R2)
        Flow(fsa, psz, 2, 1, 1, 0.5, 1.5, 2.0, 0.5),
        Flow(fsa, jobcenter, 1, 1, 0, 1.0, None, 1.0, 0.0),
        Flow(fsa, practice, 2, 0, 2, 0.0, None, None, 0.0),
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


def test_small_counts_do_not_leave_the_office() -> None:
    assert [suppressed(n) for n in (0, 1, 4, 5, 12)] == [0, "< 5", "< 5", 5, 12]
    assert rate_for_export(0.5, 2) == "< 5"
    assert rate_for_export(0.5, 10) == 0.5
    assert rate_for_export(None, 0) is None


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
