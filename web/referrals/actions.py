"""The actions on a referral page: each command of the domain's table
(:data:`domain.referral.COMMANDS`) that has a web address, with its form, in the order a
receiver works through them (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.referral import COMMANDS, RECEIVER, REJECTION_GROUNDS, ReferralCommand
from web.forms import VersionedForm, a_date, choice, text


class PlainForm(VersionedForm):
    pass


class ReasonForm(VersionedForm):
    reason = text(max_length=1000)


class AcceptForm(VersionedForm):
    # Only asked for when the service has no free place left (domain.referral.accept).
    over_capacity_reason = text(required=False, max_length=1000)


class RejectForm(VersionedForm):
    reason = text(max_length=1000)
    grounds = choice(REJECTION_GROUNDS)


class FirstContactForm(VersionedForm):
    # Recorded afterwards: the day the contact was (empty: now).
    made_on = a_date(required=False)


class OutcomeForm(VersionedForm):
    outcome = text(max_length=2000)


class ForwardForm(VersionedForm):
    receiver = text(max_length=120)
    reason = text(max_length=1000)
    crisis_override_reason = text(required=False, max_length=1000)


# The form of each command: by the text it needs, or its own where it asks for more.
FORMS_BY_TEXT: dict[str | None, type[VersionedForm]] = {
    None: PlainForm, "reason": ReasonForm, "outcome": OutcomeForm}
OWN_FORMS: dict[str, type[VersionedForm]] = {"accept": AcceptForm, "forward": ForwardForm,
                                             "reject": RejectForm, "start": FirstContactForm}


# How each button looks, by its consequence: the step forward is the primary button; steps
# that end or undo the referral are red (so "Ablehnen" never looks like "Annehmen"); the
# rest are secondary.
ENDING = frozenset({"reject", "fail", "cancel", "mark_entered_in_error"})
FORWARD_STEPS = frozenset({"receive", "accept", "start", "resume", "complete", "send"})


@dataclass(frozen=True)
class Action:
    """A command of :data:`domain.referral.COMMANDS` as the referral page offers it."""

    command: ReferralCommand

    @property
    def slug(self) -> str:
        assert self.command.slug is not None
        return self.command.slug

    @property
    def form(self) -> type[VersionedForm]:
        return OWN_FORMS.get(self.command.name) or FORMS_BY_TEXT[self.command.text]

    @property
    def style(self) -> str:
        """The button's class: "" (primary), "danger" or "secondary"."""
        if self.command.name in ENDING:
            return "danger"
        return "" if self.command.name in FORWARD_STEPS else "secondary"

    @property
    def side(self) -> str:
        """"receiver" or "sender", for the page's layout."""
        return "receiver" if self.command.party == RECEIVER else "sender"


ACTIONS = {c.slug: Action(c) for c in COMMANDS.values() if c.slug is not None}
