"""A small network whose every report figure is worked out by hand in
tests/integration/test_network_reports.py: the fixture of the report tests, the web's and
the benchmark's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.stamp import Role, Stamp
from readmodel.reports import Period, ReportFilter
from testbed.world import World

MARCH = ReportFilter(Period.months("2026-03", "2026-03"))


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=timezone.utc)


class ReferredInMarch:
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
