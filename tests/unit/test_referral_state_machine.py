"""Random command sequences on a Referral never reach a state DESIGN §5 forbids, and the
aggregate replayed from the store always equals the one in memory.

The oracle below is written out from DESIGN §5 by hand, independently of
``domain.referral.TRANSITIONS``.
"""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.base import DomainError
from runtime.bootstrap import bootstrap
from domain.referral import Referral
from domain.settings import PROJECT_ROOT, Settings
from domain.network import load_network
from domain.stamp import Stamp

OPEN = {"draft", "requested", "received", "accepted", "in-progress", "on-hold"}
EVERY = OPEN | {"rejected", "forwarded", "completed", "failed", "cancelled", "entered-in-error"}
# command: (from states, to state, party, needs a text)
DESIGN_TABLE = {
    "send": ({"draft"}, "requested", "sender", False),
    "receive": ({"requested"}, "received", "receiver", False),
    "accept": ({"requested", "received", "on-hold"}, "accepted", "receiver", False),
    "reject": ({"requested", "received", "on-hold"}, "rejected", "receiver", True),
    "forward": ({"requested", "received", "accepted", "on-hold"}, "forwarded", "receiver",
                True),
    "start": ({"accepted"}, "in-progress", "receiver", False),
    "hold": ({"accepted", "in-progress", "on-hold"}, "on-hold", "receiver", True),
    "resume": ({"on-hold"}, "in-progress", "receiver", False),
    "complete": ({"accepted", "in-progress", "on-hold"}, "completed", "receiver", True),
    "fail": ({"accepted", "in-progress", "on-hold"}, "failed", "receiver", True),
    "waitlist": ({"requested", "received"}, "on-hold", "receiver", True),
    "cancel": (OPEN, "cancelled", "sender", True),
    "mark_entered_in_error": (EVERY - {"entered-in-error"}, "entered-in-error",
                              "sender's supervisor", True),
}

# On hold, what may follow depends on why: a referral on the waiting list was never
# accepted, so it leaves the list by accept, reject or forward; paused work by the others.
ONLY_FROM_WAITING_LIST = {"accept", "reject", "forward"}
ONLY_FROM_PAUSE = {"hold", "resume", "complete", "fail"}

SENDER_ORG, RECEIVER_ORG, OTHER_ORG = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
ACTORS = {
    "sending caseworker": Stamp("anna", SENDER_ORG, "caseworker", "c"),
    "sending supervisor": Stamp("birgit", SENDER_ORG, "supervisor", "c"),
    "receiving caseworker": Stamp("nadia", RECEIVER_ORG, "caseworker", "c"),
    "receiving supervisor": Stamp("ulrike", RECEIVER_ORG, "supervisor", "c"),
    "outsider": Stamp("claudia", OTHER_ORG, "caseworker", "c"),
}


def is_party(party: str, actor: Stamp) -> bool:
    if party == "receiver":
        return actor.organisation_id == RECEIVER_ORG
    if party == "sender":
        return actor.organisation_id == SENDER_ORG
    return actor.organisation_id == SENDER_ORG and actor.role == "supervisor"


class ReferralLifecycle(RuleBasedStateMachine):
    application = bootstrap(Settings(database_url="sqlite:///:memory:"),
                            network=load_network(PROJECT_ROOT / "networks" / "cottbus")).application

    def __init__(self) -> None:
        super().__init__()
        self.referral: Referral | None = None
        self.urgency = "routine"
        self.first_contact_made = False
        self.waitlisted = False

    @initialize(draft=st.booleans(), urgency=st.sampled_from(["crisis", "urgent", "routine"]))
    def create(self, draft: bool, urgency: str) -> None:
        self.urgency = urgency
        self.referral = Referral.create(
            id=uuid.uuid4(), case_id=uuid.uuid4(), need="health.psychosocial",
            urgency=urgency, kind="service", from_organisation_id=SENDER_ORG, from_user="anna",
            to_organisation_id=RECEIVER_ORG, to_service_id=None, reason="Erstgespräch",
            by=ACTORS["sending caseworker"], draft=draft, consent_id="consent-1")
        self.application.save(self.referral)

    @rule(command=st.sampled_from(sorted(DESIGN_TABLE)), actor=st.sampled_from(sorted(ACTORS)),
          text=st.sampled_from(["", "   ", "Begründung"]), with_consent=st.booleans())
    def act(self, command: str, actor: str, text: str, with_consent: bool) -> None:
        referral = self.referral
        assert referral is not None
        by = ACTORS[actor]
        before, version = referral.status, referral.version
        sources, target, party, needs_text = DESIGN_TABLE[command]
        allowed = before in sources and is_party(party, by) and (
            not needs_text or text.strip())
        if before == "on-hold":
            allowed = allowed and command not in (
                ONLY_FROM_PAUSE if self.waitlisted else ONLY_FROM_WAITING_LIST)
        if command == "send":
            allowed = allowed and (with_consent or (self.urgency == "crisis" and text.strip()))
        if command == "start" and before == "in-progress" and not self.first_contact_made:
            # Resumed from a hold before the first contact: the contact is recorded in place.
            allowed, target = is_party(party, by), "in-progress"
        child = None
        try:
            if command == "send":
                referral.send("consent-1" if with_consent else None, text, "policy-1", by=by)
            elif command == "forward":
                child = Referral.create(
                    id=uuid.uuid4(), case_id=referral.case_id, need=referral.need,
                    urgency=referral.urgency, kind=referral.kind,
                    from_organisation_id=RECEIVER_ORG, from_user=by.user,
                    to_organisation_id=OTHER_ORG, to_service_id=None, reason="weiter",
                    by=by, consent_id="consent-1", parent_referral_id=referral.id)
                referral.forward(child.id, OTHER_ORG, text, by=by)
            elif command in ("receive", "accept", "start", "resume"):
                getattr(referral, command)(by=by)
            else:
                getattr(referral, command)(text, by=by)
        except DomainError:
            assert not allowed, f"{actor} was refused {command} from {before}"
            assert (referral.status, referral.version) == (before, version)
            assert not referral.pending_events
            return
        assert allowed, f"{actor} could {command} from {before}, which DESIGN §5 forbids"
        assert referral.status == target
        assert referral.version == version + 1
        self.first_contact_made = self.first_contact_made or command == "start"
        self.waitlisted = command == "waitlist" or (self.waitlisted and target == "on-hold")
        self.application.save(referral, child)

    @invariant()
    def state_is_a_design_state_and_replay_equals_memory(self) -> None:
        if self.referral is None:
            return
        assert self.referral.status in EVERY
        stored = self.application.repository.get(self.referral.id)
        assert stored == self.referral
        assert stored.version == self.referral.version


ReferralLifecycle.TestCase.settings = settings(
    max_examples=150, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestReferralLifecycle = ReferralLifecycle.TestCase
