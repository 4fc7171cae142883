"""The actions on a referral: the command each issues, its form and its button, in the
order a receiver works through them (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from web.forms import VersionedForm, text


class PlainForm(VersionedForm):
    pass


class ReasonForm(VersionedForm):
    reason = text(max_length=1000)


class AcceptForm(VersionedForm):
    # Only asked for when the service has no free place left (domain.referral.accept).
    over_capacity_reason = text(required=False, max_length=1000)


class OutcomeForm(VersionedForm):
    outcome = text(max_length=2000)


class ForwardForm(VersionedForm):
    receiver = text(max_length=120)
    reason = text(max_length=1000)
    crisis_override_reason = text(required=False, max_length=1000)


@dataclass(frozen=True)
class Action:
    slug: str  # the last part of the URL
    command: str  # as in domain.referral.TRANSITIONS
    form: type[VersionedForm]
    button: Any
    done: Any
    side: str  # "receiver" or "sender", for the page's layout

    @property
    def method(self) -> str:
        """The application service's method that issues the command."""
        if self.command == "mark_entered_in_error":
            return "mark_referral_entered_in_error"
        return f"{self.command}_referral"


ACTIONS = {a.slug: a for a in (
    Action("eingang-bestaetigen", "receive", PlainForm, _l("Acknowledge receipt"),
           _l("Receipt is acknowledged."), "receiver"),
    Action("annehmen", "accept", AcceptForm, _l("Accept"), _l("The referral is accepted."),
           "receiver"),
    Action("warteliste", "waitlist", ReasonForm, _l("Put on the waiting list"),
           _l("The referral is on the waiting list; its deadlines pause."), "receiver"),
    Action("ablehnen", "reject", ReasonForm, _l("Reject"), _l("The referral is rejected."),
           "receiver"),
    Action("weiterleiten", "forward", ForwardForm, _l("Forward"),
           _l("The referral is forwarded."), "receiver"),
    Action("erstkontakt", "start", PlainForm, _l("Record first contact"),
           _l("The first contact is recorded."), "receiver"),
    Action("pausieren", "hold", ReasonForm, _l("Put on hold"),
           _l("The referral is on hold; its deadlines pause."), "receiver"),
    Action("fortsetzen", "resume", PlainForm, _l("Resume"), _l("The referral is resumed."),
           "receiver"),
    Action("abschliessen", "complete", OutcomeForm, _l("Complete"),
           _l("The referral is completed."), "receiver"),
    Action("scheitern", "fail", OutcomeForm, _l("Close as failed"),
           _l("The referral is closed as failed."), "receiver"),
    Action("stornieren", "cancel", ReasonForm, _l("Cancel the referral"),
           _l("The referral is cancelled."), "sender"),
    Action("irrtuemlich", "mark_entered_in_error", ReasonForm, _l("Mark as entered in error"),
           _l("The referral is marked as entered in error."), "sender"),
)}
