"""Referral: a request from one organisation to another to serve a need of a case.

The states and who may move between them are exactly DESIGN §5 (FHIR Task codes plus
``received``); :data:`TRANSITIONS` is that table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.deadlines import BERLIN
from domain.base import ERASED, DomainError, PermissionDenied, StampedAggregate, require_text
from domain.messages import Message, _
from domain.stamp import Role, Stamp
from domain.vocabulary import REFERRAL_KINDS, URGENCIES

DRAFT, REQUESTED, RECEIVED, ACCEPTED = "draft", "requested", "received", "accepted"
REJECTED, FORWARDED, IN_PROGRESS, ON_HOLD = "rejected", "forwarded", "in-progress", "on-hold"
COMPLETED, FAILED, CANCELLED = "completed", "failed", "cancelled"
# The person's feedback on the help received (issue: the person's own voice): how much it
# helped, and whether it was in a language they understood.
HELPED = ("much", "somewhat", "little", "not_at_all")
UNDERSTOOD = ("yes", "partly", "no")
ENTERED_IN_ERROR = "entered-in-error"

OPEN_STATES = frozenset({DRAFT, REQUESTED, RECEIVED, ACCEPTED, IN_PROGRESS, ON_HOLD})
FEEDBACK_STATES = frozenset({COMPLETED, FAILED, REJECTED})
ALL_STATES = OPEN_STATES | {REJECTED, FORWARDED, COMPLETED, FAILED, CANCELLED,
                            ENTERED_IN_ERROR}

# The stage whose deadline runs while a referral is in this state (DESIGN §6).
STAGE_BY_STATUS = {REQUESTED: "receive", RECEIVED: "decide", ACCEPTED: "first_contact"}


def running_stage(status: str, first_contact_made: bool) -> str | None:
    """The stage whose clock runs now. A referral put on hold before the first contact and
    resumed is in progress (DESIGN §5) but still owes the first contact."""
    if status == IN_PROGRESS and not first_contact_made:
        return "first_contact"
    return STAGE_BY_STATUS.get(status)


SENDER, RECEIVER, SENDERS_SUPERVISOR = "sender", "receiver", "sender's supervisor"

# On which grounds a receiver rejects (the care-gap report counts rejections for capacity).
NO_CAPACITY, NOT_RESPONSIBLE, OTHER_GROUNDS = "no_capacity", "not_responsible", "other"
REJECTION_GROUNDS = (NO_CAPACITY, NOT_RESPONSIBLE, OTHER_GROUNDS)


@dataclass(frozen=True)
class ReferralCommand:
    """One thing that can be done to a referral (DESIGN §5) and everything that names it:
    the Referral's method of the same name, the application's method, the web's form on
    the referral page, the API's route, the event it records and what the audit calls it.
    Adding an action is a row here and its method on :class:`Referral`."""

    name: str  # the Referral's method; the API's path is this with "-" for "_"
    sources: frozenset[str]  # the states it may start from
    target: str  # the state it leads to
    party: str  # who may issue it
    event: str  # the event it records
    button: Message  # the web's button
    done: Message  # what the page says once it is recorded
    recorded: Message  # what the audit calls the event
    summary: str  # the API's description of the route (English)
    text: str | None = None  # the free text it requires: "reason" or "outcome"
    slug: str | None = None  # the web's address of its form (German); None: not offered there
    method: str = ""  # the application's method when it is not "<name>_referral"

    @property
    def application_method(self) -> str:
        return self.method or f"{self.name}_referral"

    @property
    def route(self) -> str:
        return self.name.replace("_", "-")


COMMANDS: dict[str, ReferralCommand] = {c.name: c for c in (
    ReferralCommand(
        "send", frozenset({DRAFT}), REQUESTED, SENDER, "Sent", _("Send"),
        _("The referral is sent."), _("referral sent"),
        "Sends a draft (e.g. a proposed lead handoff).", method="send_draft"),
    ReferralCommand(
        "receive", frozenset({REQUESTED}), RECEIVED, RECEIVER, "Received",
        _("Acknowledge receipt"), _("Receipt is acknowledged."), _("receipt acknowledged"),
        "Acknowledges receipt (receiver).", slug="eingang-bestaetigen"),
    ReferralCommand(
        "accept", frozenset({REQUESTED, RECEIVED, ON_HOLD}), ACCEPTED, RECEIVER, "Accepted",
        _("Accept"), _("The referral is accepted."), _("accepted"),
        "Accepts the referral (receiver); accepting a lead handoff moves the case's lead. "
        "Into a service with no free place only with `over_capacity_reason` (else 422 "
        "capacity_reached).", slug="annehmen"),
    ReferralCommand(
        "waitlist", frozenset({REQUESTED, RECEIVED}), ON_HOLD, RECEIVER, "PutOnWaitingList",
        _("Put on the waiting list"),
        _("The referral is on the waiting list; its deadlines pause."),
        _("put on the waiting list"),
        "Puts the referral on the receiver's waiting list (on hold, deadlines paused) until "
        "a place is free.", text="reason", slug="warteliste"),
    ReferralCommand(
        "reject", frozenset({REQUESTED, RECEIVED, ON_HOLD}), REJECTED, RECEIVER, "Rejected",
        _("Reject"), _("The referral is rejected."), _("rejected"),
        "Rejects the referral with a reason (receiver).", text="reason", slug="ablehnen"),
    ReferralCommand(
        "forward", frozenset({REQUESTED, RECEIVED, ACCEPTED, ON_HOLD}), FORWARDED, RECEIVER,
        "Forwarded", _("Forward"), _("The referral is forwarded."), _("forwarded"),
        "Forwards to another organisation as a child referral (receiver).",
        text="reason", slug="weiterleiten"),
    ReferralCommand(
        "start", frozenset({ACCEPTED}), IN_PROGRESS, RECEIVER, "FirstContactMade",
        _("Record first contact"), _("The first contact is recorded."),
        _("first contact made"), "Records the first contact (receiver).",
        slug="erstkontakt"),
    ReferralCommand(
        "hold", frozenset({ACCEPTED, IN_PROGRESS, ON_HOLD}), ON_HOLD, RECEIVER, "PutOnHold",
        _("Put on hold"), _("The referral is on hold; its deadlines pause."),
        _("put on hold"), "Puts the referral on hold; its deadlines pause.", text="reason",
        slug="pausieren"),
    ReferralCommand(
        "resume", frozenset({ON_HOLD}), IN_PROGRESS, RECEIVER, "Resumed", _("Resume"),
        _("The referral is resumed."), _("resumed"), "Resumes a referral on hold.",
        slug="fortsetzen"),
    ReferralCommand(
        "complete", frozenset({ACCEPTED, IN_PROGRESS, ON_HOLD}), COMPLETED, RECEIVER,
        "Completed", _("Complete"), _("The referral is completed."), _("completed"),
        "Completes with an outcome (receiver).", text="outcome", slug="abschliessen"),
    ReferralCommand(
        "fail", frozenset({ACCEPTED, IN_PROGRESS, ON_HOLD}), FAILED, RECEIVER, "Failed",
        _("Close as failed"), _("The referral is closed as failed."), _("failed"),
        "Closes as failed with an outcome (receiver).", text="outcome", slug="scheitern"),
    ReferralCommand(
        "cancel", OPEN_STATES, CANCELLED, SENDER, "Cancelled", _("Cancel the referral"),
        _("The referral is cancelled."), _("cancelled"),
        "Cancels an open referral (sender).", text="reason", slug="stornieren"),
    ReferralCommand(
        "mark_entered_in_error", ALL_STATES - {ENTERED_IN_ERROR}, ENTERED_IN_ERROR,
        SENDERS_SUPERVISOR, "MarkedEnteredInError", _("Mark as entered in error"),
        _("The referral is marked as entered in error."), _("marked as entered in error"),
        "Marks as entered in error (the sending organisation's supervisor).",
        text="reason", slug="irrtuemlich", method="mark_referral_entered_in_error"),
)}

# command → (states it may start from, state it leads to, who may issue it)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    c.name: (c.sources, c.target, c.party) for c in COMMANDS.values()}
# the state each command's event leads to, for the views
STATUS_AFTER_EVENT = {c.event: c.target for c in COMMANDS.values()}

# On hold from the waiting list, a referral was never accepted: it leaves the list by being
# accepted, rejected or forwarded (FHIR allows on-hold from received; DESIGN §5 pauses the
# clock as any hold does). A pause of accepted work ends by resume, complete or fail.
WAITING_LIST_EXITS = frozenset({"accept", "reject", "forward"})
PAUSE_EXITS = frozenset({"hold", "resume", "complete", "fail"})

class IllegalTransition(DomainError):
    code = "illegal_transition"


class CapacityReached(DomainError):
    code = "capacity_reached"


class ConsentRequired(DomainError):
    code = "consent_required"


class NotSendersSide(PermissionDenied):
    code = "not_senders_side"


class NotReceiversSide(PermissionDenied):
    code = "not_receivers_side"


class Referral(StampedAggregate):
    @event("Created")
    def __init__(self, id: UUID, case_id: UUID, need: str, urgency: str, kind: str,
                 from_organisation_id: UUID, from_user: str, to_organisation_id: UUID,
                 to_service_id: str | None, reason: str, status: str,
                 consent_id: str | None, crisis_override_reason: str | None,
                 policy_version: str | None, parent_referral_id: UUID | None,
                 by: Stamp) -> None:
        self.case_id = case_id
        self.need = need
        self.urgency = urgency
        self.kind = kind
        self.from_organisation_id = from_organisation_id
        self.from_user = from_user
        self.to_organisation_id = to_organisation_id
        self.to_service_id = to_service_id
        self.reason = reason
        self.status = status
        self.consent_id = consent_id
        self.crisis_override_reason = crisis_override_reason
        self.policy_version = policy_version
        self.parent_referral_id = parent_referral_id
        self.child_referral_id: UUID | None = None
        self.status_reason = ""
        self.rejection_grounds: str | None = None
        # "person" (their own answer) and "caseworker" (what they told): each
        # {"helped", "understood", "what_would_help"}
        self.feedback: dict[str, dict[str, Any]] = {}
        self.outcome = ""
        self.sent_at = self.created_on if status == REQUESTED else None
        # [put on hold, resumed or None] per pause of the deadline clock
        self.holds: list[list[datetime | None]] = []
        self.escalations: list[str] = []  # "stage:level", each at most once
        self.first_contact_made = False
        self.waitlisted = False  # on hold on the receiver's waiting list, not yet accepted
        self.over_capacity_reason = ""  # why it was accepted although the service was full
        self.erased = False  # its case was erased: nothing more happens to it

    @classmethod
    def create(cls, *, id: UUID, case_id: UUID, need: str, urgency: str, kind: str,
               from_organisation_id: UUID, from_user: str, to_organisation_id: UUID,
               to_service_id: str | None, reason: str, by: Stamp, draft: bool = False,
               consent_id: str | None = None, crisis_override_reason: str | None = None,
               policy_version: str | None = None,
               parent_referral_id: UUID | None = None) -> Referral:
        if urgency not in URGENCIES:
            raise DomainError(_("Unknown urgency {urgency!r}.", urgency=urgency), field="urgency")
        if kind not in REFERRAL_KINDS:
            raise DomainError(_("Unknown referral kind {kind!r}.", kind=kind), field="kind")
        if to_organisation_id == from_organisation_id:
            raise DomainError(_("A referral goes to another organisation."),
                              field="to_organisation_id")
        reason = require_text(reason, "reason", _("A reason for the referral"))
        if not draft:
            consent_id, crisis_override_reason = _sharing_basis(
                urgency, consent_id, crisis_override_reason)
        return cls(id=id, case_id=case_id, need=need, urgency=urgency, kind=kind,
                   from_organisation_id=from_organisation_id, from_user=from_user,
                   to_organisation_id=to_organisation_id, to_service_id=to_service_id,
                   reason=reason, status=DRAFT if draft else REQUESTED,
                   consent_id=consent_id, crisis_override_reason=crisis_override_reason,
                   policy_version=None if draft else policy_version,
                   parent_referral_id=parent_referral_id, by=by)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def is_lead_handoff(self) -> bool:
        return self.kind == "lead_handoff"

    # -- guards -------------------------------------------------------------------------------
    def check(self, command: str, by: Stamp) -> str:
        """Raises unless ``by`` may issue ``command`` now; returns the state it leads to."""
        sources, target, party = TRANSITIONS[command]
        if self.erased:
            raise IllegalTransition(_("This referral's case is erased."))
        if party == RECEIVER and by.organisation_id != self.to_organisation_id:
            raise NotReceiversSide(_("Only the receiving organisation can do this."))
        if party in (SENDER, SENDERS_SUPERVISOR) and (
                by.organisation_id != self.from_organisation_id):
            raise NotSendersSide(_("Only the sending organisation can do this."))
        if party == SENDERS_SUPERVISOR and by.role != Role.SUPERVISOR:
            raise NotSendersSide(_("Only a supervisor of the sending organisation can mark a "
                                   "referral as entered in error."))
        if self.status not in sources or not self._leaves_hold_by(command):
            raise IllegalTransition(_(
                "A referral that is {status} cannot be changed to {target} ({command}).",
                status=self.status, target=target, command=command))
        return target

    def _leaves_hold_by(self, command: str) -> bool:
        if self.status != ON_HOLD:
            return True
        if self.waitlisted:
            return command not in PAUSE_EXITS
        return command not in WAITING_LIST_EXITS

    def may(self, command: str, by: Stamp) -> bool:
        """Whether ``by`` may issue ``command`` now: what a user interface offers. Recording
        a first contact still owed while in progress is allowed too (see :meth:`start`)."""
        if command == "start" and self.status == IN_PROGRESS:
            return not self.first_contact_made and by.organisation_id == self.to_organisation_id
        try:
            self.check(command, by)
        except DomainError:
            return False
        return True

    # -- sender's commands --------------------------------------------------------------------
    def send(self, consent_id: str | None, crisis_override_reason: str | None,
             policy_version: str | None, by: Stamp) -> None:
        self.check("send", by)
        consent_id, override = _sharing_basis(self.urgency, consent_id, crisis_override_reason)
        self._sent(consent_id=consent_id, crisis_override_reason=override,
                   policy_version=policy_version, by=by)

    @event("Sent")
    def _sent(self, consent_id: str | None, crisis_override_reason: str | None,
              policy_version: str | None, by: Stamp) -> None:
        self.status = REQUESTED
        self.consent_id = consent_id
        self.crisis_override_reason = crisis_override_reason
        self.policy_version = policy_version
        self.from_user = by.user
        self.sent_at = self.modified_on

    def cancel(self, reason: str, by: Stamp) -> None:
        self.check("cancel", by)
        self._cancelled(reason=require_text(reason, "reason", _("A reason")), by=by)

    @event("Cancelled")
    def _cancelled(self, reason: str, by: Stamp) -> None:
        self._end_hold()
        self.status, self.status_reason = CANCELLED, reason

    def mark_entered_in_error(self, reason: str, by: Stamp) -> None:
        self.check("mark_entered_in_error", by)
        self._entered_in_error(reason=require_text(reason, "reason", _("A reason")), by=by)

    @event("MarkedEnteredInError")
    def _entered_in_error(self, reason: str, by: Stamp) -> None:
        self._end_hold()
        self.status, self.status_reason = ENTERED_IN_ERROR, reason

    # -- receiver's commands ------------------------------------------------------------------
    def receive(self, by: Stamp) -> None:
        self.check("receive", by)
        self._received(by=by)

    @event("Received")
    def _received(self, by: Stamp) -> None:
        self.status = RECEIVED

    def accept(self, by: Stamp, *, service_full: bool = False,
               over_capacity_reason: str | None = None) -> None:
        """Accepting into a service that has no place left needs the receiver's reason, so
        a full service is never overfilled silently (the Cottbus spreading practice)."""
        self.check("accept", by)
        reason = (over_capacity_reason or "").strip()
        if service_full and not reason:
            raise CapacityReached(_(
                "The service has no free place left. Accept anyway only with a reason (it is "
                "recorded), or put the referral on the waiting list."),
                field="over_capacity_reason")
        self._accepted(over_capacity_reason=reason if service_full else "", by=by)

    @event("Accepted")
    def _accepted(self, by: Stamp, over_capacity_reason: str = "") -> None:
        self._end_hold()
        self.status, self.status_reason = ACCEPTED, ""
        self.waitlisted = False
        self.over_capacity_reason = over_capacity_reason

    def waitlist(self, reason: str, by: Stamp) -> None:
        self.check("waitlist", by)
        self._put_on_waiting_list(
            reason=require_text(reason, "reason", _("A reason for the waiting list")), by=by)

    @event("PutOnWaitingList")
    def _put_on_waiting_list(self, reason: str, by: Stamp) -> None:
        self.holds.append([self.modified_on, None])
        self.status, self.status_reason = ON_HOLD, reason
        self.waitlisted = True

    def reject(self, reason: str, by: Stamp, grounds: str = OTHER_GROUNDS) -> None:
        self.check("reject", by)
        if grounds not in REJECTION_GROUNDS:
            raise DomainError(_("Unknown grounds {grounds!r}; a rejection is for no capacity, "
                                "not responsible or other grounds.", grounds=grounds),
                              field="grounds")
        self._rejected(reason=require_text(reason, "reason", _("A reason for the rejection")),
                       grounds=grounds, by=by)

    class Rejected(StampedAggregate.Event):
        """Version 2 says on which grounds (:data:`REJECTION_GROUNDS`), which the care-gap
        report counts; a rejection recorded before that reads as "other"."""

        reason: str
        grounds: str
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["grounds"] = OTHER_GROUNDS

    @event(Rejected)
    def _rejected(self, reason: str, grounds: str, by: Stamp) -> None:
        self._end_hold()
        self.status, self.status_reason = REJECTED, reason
        self.rejection_grounds = grounds
        self.waitlisted = False

    def forward(self, child_referral_id: UUID, to_organisation_id: UUID, reason: str,
                by: Stamp) -> None:
        self.check("forward", by)
        reason = require_text(reason, "reason", _("A reason for forwarding"))
        if to_organisation_id in (self.to_organisation_id, self.from_organisation_id):
            raise DomainError(_("Forward to an organisation other than sender and receiver."),
                              field="to_organisation_id")
        self._forwarded(child_referral_id=child_referral_id,
                        to_organisation_id=to_organisation_id, reason=reason, by=by)

    @event("Forwarded")
    def _forwarded(self, child_referral_id: UUID, to_organisation_id: UUID, reason: str,
                   by: Stamp) -> None:
        self._end_hold()
        self.status, self.status_reason = FORWARDED, reason
        self.child_referral_id = child_referral_id
        self.waitlisted = False

    def start(self, by: Stamp, made_at: datetime | None = None,
              now: datetime | None = None) -> None:
        """Records the first contact: accepted → in-progress. A referral put on hold before
        its first contact is in progress once resumed (DESIGN §5), yet still owes the first
        contact, which is then recorded without a change of state. ``made_at``: when the
        contact was, if earlier than now (recorded the next day); never before the referral
        was sent nor after ``now``."""
        if self.status == IN_PROGRESS and not self.first_contact_made:
            if by.organisation_id != self.to_organisation_id:
                raise NotReceiversSide(_("Only the receiving organisation can do this."))
        else:
            self.check("start", by)
        if made_at is not None:
            if now is not None and made_at > now:
                raise DomainError(_("The first contact cannot lie in the future."),
                                  field="made_on")
            if self.sent_at is not None and made_at < self.sent_at:
                if made_at.astimezone(BERLIN).date() < self.sent_at.astimezone(BERLIN).date():
                    raise DomainError(_("The first contact cannot lie before the referral "
                                        "was sent."), field="made_on")
                made_at = self.sent_at  # the day it was sent: not before the sending
        self._started(made_at=made_at, by=by)

    @event("FirstContactMade")
    def _started(self, by: Stamp, made_at: datetime | None = None) -> None:
        # made_at: older events lack it (the contact was when it was recorded)
        self.status = IN_PROGRESS
        self.first_contact_made = True
        self.first_contact_at = made_at or self.modified_on

    def hold(self, reason: str, by: Stamp) -> None:
        self.check("hold", by)
        self._put_on_hold(reason=require_text(reason, "reason", _("A reason for the pause")),
                          by=by)

    @event("PutOnHold")
    def _put_on_hold(self, reason: str, by: Stamp) -> None:
        if self.status != ON_HOLD:
            self.holds.append([self.modified_on, None])
        self.status, self.status_reason = ON_HOLD, reason

    def _end_hold(self) -> None:
        if self.holds and self.holds[-1][1] is None:
            self.holds[-1][1] = self.modified_on

    def resume(self, by: Stamp) -> None:
        self.check("resume", by)
        self._resumed(by=by)

    @event("Resumed")
    def _resumed(self, by: Stamp) -> None:
        self._end_hold()
        self.status, self.status_reason = IN_PROGRESS, ""

    def complete(self, outcome: str, by: Stamp) -> None:
        self.check("complete", by)
        self._completed(outcome=require_text(outcome, "outcome", _("An outcome")), by=by)

    @event("Completed")
    def _completed(self, outcome: str, by: Stamp) -> None:
        self._end_hold()
        self.status, self.outcome = COMPLETED, outcome

    def fail(self, outcome: str, by: Stamp) -> None:
        self.check("fail", by)
        self._failed(outcome=require_text(outcome, "outcome", _("An outcome")), by=by)

    @event("Failed")
    def _failed(self, outcome: str, by: Stamp) -> None:
        self._end_hold()
        self.status, self.outcome = FAILED, outcome

    # -- the person's feedback ----------------------------------------------------------------
    def give_feedback(self, helped: str, understood: str, what_would_help: str,
                      by: Stamp) -> None:
        """Whether the help helped, in the person's words: on their own page (once), or told
        to the caseworker who records it (a later record replaces theirs). Both are kept
        apart: the caseworker's never replaces the person's own answer."""
        if self.status not in FEEDBACK_STATES:
            raise DomainError(_("Feedback is given on a completed, failed or rejected "
                                "referral."), field="status")
        if helped not in HELPED:
            raise DomainError(_("Please choose how much it helped."), field="helped")
        if understood not in UNDERSTOOD:
            raise DomainError(_("Please choose whether the language was understood."),
                              field="understood")
        if self.erased:
            raise DomainError(_("The case of this referral is erased."), field="status")
        if by.role == Role.PERSON.value and self.feedback.get("person"):
            raise DomainError(_("The person has answered already."), field="helped")
        self._feedback_given(helped=helped, understood=understood,
                             what_would_help=(what_would_help or "").strip(), by=by)

    @event("FeedbackGiven")
    def _feedback_given(self, helped: str, understood: str, what_would_help: str,
                        by: Stamp) -> None:
        source = "person" if by.role == Role.PERSON.value else "caseworker"
        self.feedback = {**self.feedback, source: {
            "helped": helped, "understood": understood, "what_would_help": what_would_help}}

    # -- erasure of its case (domain.case) ------------------------------------------------------
    def erase(self, by: Stamp) -> None:
        if self.status in OPEN_STATES - {DRAFT}:  # a draft was never sent: it goes too
            raise DomainError(_("A referral of this case is still open: cancel or end it "
                                "before the erasure."))
        self._erased(by=by)

    @event("Erased")
    def _erased(self, by: Stamp) -> None:
        """Its free texts are gone from here on, also in processes that hold it in memory."""
        self.erased = True
        for name in ("reason", "crisis_override_reason", "status_reason", "outcome",
                     "over_capacity_reason"):
            if getattr(self, name):
                setattr(self, name, ERASED)
        self.feedback = {source: {**answer, "what_would_help": ERASED
                                  if answer["what_would_help"] else ""}
                         for source, answer in self.feedback.items()}

    # -- deadlines ----------------------------------------------------------------------------
    @property
    def current_stage(self) -> str | None:
        """The stage whose deadline runs now; None when no clock runs (draft, on hold,
        first contact made, closed)."""
        return running_stage(self.status, self.first_contact_made)

    def escalation_due(self, stage: str) -> int | None:
        """The next escalation level of ``stage``, or None when no escalation of it can
        happen now."""
        if stage != self.current_stage:
            return None
        return 1 + sum(1 for done in self.escalations if done.split(":")[0] == stage)

    def escalate(self, stage: str, level: int, policy_version: str, by: Stamp) -> bool:
        """Records that ``stage`` missed its deadline at ``level``. Returns False and records
        nothing when that escalation happened already or no longer applies (idempotent)."""
        if self.escalation_due(stage) != level:
            return False
        self._escalated(stage=stage, level=level, policy_version=policy_version, by=by)
        return True

    @event("Escalated")
    def _escalated(self, stage: str, level: int, policy_version: str, by: Stamp) -> None:
        self.escalations.append(f"{stage}:{level}")


def _sharing_basis(urgency: str, consent_id: str | None,
                   crisis_override_reason: str | None) -> tuple[str | None, str | None]:
    """A referral is sent on a consent, or in a crisis on an override with its reason."""
    if consent_id:
        return consent_id, None
    if not (crisis_override_reason or "").strip():
        raise ConsentRequired(_(
            "No valid consent of the person covers this receiver and purpose. In a crisis "
            "the referral can be sent with an override and its reason."), field="consent_id")
    if urgency != "crisis":
        raise ConsentRequired(_("A consent override is only possible for crisis referrals."),
                              field="crisis_override_reason")
    return None, crisis_override_reason.strip()
