"""What every aggregate of the network shares: stamped events and the base domain errors."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import date, datetime, timezone
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate, datetime_now_with_tzinfo
from eventsourcing.persistence import Transcoding

from domain.messages import Message, _
from domain.stamp import Stamp

M = TypeVar("M", date, datetime)


class Erased(str):
    """An erased text (:mod:`domain.sealing`). It reads "gelöscht" wherever it goes as it is
    (API, CSV, FHIR); the web shows it in the reader's language."""

    __slots__ = ()


ERASED = Erased("gelöscht")


class DomainError(Exception):
    """A command was refused by a rule of the domain; the message says which, in plain words.

    The message is English; raised by the domain it is a :class:`~domain.messages.Message`,
    which a user interface can translate."""

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    code = "not_found"


class ConflictError(DomainError):
    """Someone changed the object meanwhile; the caller must reload and decide again.
    ``changed_by`` names who did, where known (the user themselves, in another tab, is told
    so rather than "someone")."""

    code = "conflict"

    def __init__(self, message: str, *, field: str | None = None,
                 changed_by: frozenset[str] = frozenset()) -> None:
        super().__init__(message, field=field)
        self.changed_by = changed_by


class ConcurrentSave(ConflictError):
    """Another command saved one of the same aggregates first: nothing of this one was
    stored. A command that decided on no version the user saw may simply decide again."""


class PermissionDenied(DomainError):
    code = "permission_denied"


class MembershipRequired(PermissionDenied):
    code = "membership_required"


# The application sets this for the duration of a command, so events are timed by the
# application's clock (injectable for deadline scenarios), never by a hidden global.
CLOCK: ContextVar[Callable[[], datetime]] = ContextVar("clock",
                                                       default=datetime_now_with_tzinfo)


class StampedAggregate(Aggregate):
    """Base aggregate whose every event must say who acted (``by``) and when (UTC)."""

    class Event(Aggregate.Event):
        by: Stamp

        @staticmethod
        def create_timestamp() -> datetime:
            return CLOCK.get()().astimezone(timezone.utc)

        def mutate(self, aggregate: Any) -> Any:
            # Event bodies may read ``modified_on`` as the moment of their own event
            # (the library would set it only after the body ran).
            if aggregate is not None:
                aggregate.modified_on = self.timestamp
            return super().mutate(aggregate)

    class Created(Event, Aggregate.Created):
        pass


# A mail address as the network's mails are sent to: no spaces or line breaks (which
# would let an address add headers to a mail), one @, a dot in the domain.
MAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Control characters other than tab, line feed and carriage return (C0, DEL, C1), and
# UTF-16 surrogates without their pair (which cannot be stored as UTF-8): no form or system
# of the network has a reason to send them.
UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def unprintable_paths(data: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The paths (keys and list indexes) of the strings in ``data`` with
    :data:`UNPRINTABLE` characters; a key with them is named by its parent's path and
    ``_key``."""
    if isinstance(data, str):
        if UNPRINTABLE.search(data):
            yield path
    elif isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and UNPRINTABLE.search(key):
                yield (*path, "_key")
            else:
                yield from unprintable_paths(value, (*path, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from unprintable_paths(value, (*path, str(index)))


def require_text(value: str | None, field: str, what: Message) -> str:
    """The stripped text; refuses an empty one. ``what`` names the missing piece, e.g.
    ``_("A reason")``; it is translated with the message."""
    text = (value or "").strip()
    if not text:
        raise DomainError(_("{what} is required.", what=what), field=field)
    return text


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: Any) -> date:
        return date.fromisoformat(data)


def months_later(moment: M, months: int) -> M:
    """The same day ``months`` later (a day past the month's end: its last day), for a date or a
    moment: retention periods, the longest a consent may run."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month,
                          day=min(moment.day, calendar.monthrange(year, month)[1]))
