"""The needs register's forms (marshmallow, unknown fields refused)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from domain.agreement import MOST_TEXT
from domain.register import FORUM_KINDS, MOST_NEED_TEXT, MOST_TITLE
from domain.vocabulary import SECTORS
from web.forms import MESSAGES, CommandForm, VersionedForm, a_date, choice, text as a_text

# Organisations, groups and forums are chosen from the page's options, by their ids.
CHOSEN = {**MESSAGES, "invalid_uuid": _l("Please choose one of the options.")}


def an_id(required: bool = True) -> fields.Field:
    if required:
        return fields.UUID(required=True, error_messages=CHOSEN)
    return fields.UUID(load_default=None, error_messages=CHOSEN)


def uuids(required: bool = True) -> fields.Field:
    kwargs = {"required": True} if required else {"load_default": list}
    return fields.List(fields.UUID(error_messages=CHOSEN), error_messages=MESSAGES,
                       **kwargs)


class ConveneForm(CommandForm):
    kind = choice(FORUM_KINDS)
    name = a_text(max_length=MOST_TITLE)
    district = a_text(required=False, max_length=80)
    held_on = a_date(required=False)
    lead_organisation_id = an_id(required=False)
    participants = uuids(required=False)


class RenameForm(VersionedForm):
    name = a_text(max_length=MOST_TITLE)
    held_on = a_date(required=False)


class DescribeGroupForm(VersionedForm):
    title = a_text(max_length=MOST_TITLE)
    district = a_text(required=False, max_length=80)
    need = a_text(required=False, max_length=80)


class ParticipantsForm(VersionedForm):
    participants = uuids(required=False)


class NeedForm(CommandForm):
    text = a_text(max_length=MOST_NEED_TEXT)  # the need as written on the card
    sector = choice(SECTORS)
    district = a_text(required=False, max_length=80)
    raised_by = uuids(required=False)
    raised_on = a_date(required=False)


class NeedCorrectionForm(VersionedForm):
    text = a_text(max_length=MOST_NEED_TEXT)
    sector = choice(SECTORS)
    district = a_text(required=False, max_length=80)


class NeedWithdrawalForm(VersionedForm):
    reason = a_text(max_length=MOST_TITLE)


class GroupingForm(CommandForm):
    """The chosen needs into a new group (``action`` "new": its title, district and need) or
    into an existing one (``action`` "move": ``group``, or "none" for out of every group)."""

    needs = fields.List(fields.String(validate=validate.Length(max=80),
                                      error_messages=MESSAGES), load_default=list,
                        error_messages=MESSAGES)
    action = choice(("new", "move"))
    title = a_text(required=False, max_length=MOST_TITLE)
    district = a_text(required=False, max_length=80)
    need = a_text(required=False, max_length=80)
    group = a_text(required=False, max_length=40)
    from_forum = an_id(required=False)  # where to go back


class GroupStatusForm(VersionedForm):
    change = choice(("resolve", "reopen"))
    note = a_text(max_length=MOST_NEED_TEXT)


class AgreementForm(CommandForm):
    organisation_id = an_id()
    what = a_text(max_length=MOST_TEXT)
    due_on = a_date()
    group_id = an_id(required=False)


class AgreementNoteForm(VersionedForm):
    note = a_text(max_length=MOST_TEXT)


class RescheduleForm(VersionedForm):
    due_on = a_date()
    reason = a_text(max_length=MOST_TITLE)


class FollowUpForm(CommandForm):
    forum_id = an_id()
    note = a_text(max_length=MOST_TEXT)


class PoliticsForm(CommandForm):
    recipient = a_text(max_length=MOST_TITLE)
    sent_on = a_date()
    districts = fields.List(fields.String(validate=validate.Length(max=80),
                                          error_messages=MESSAGES), load_default=list,
                            error_messages=MESSAGES)
    groups = uuids(required=False)
