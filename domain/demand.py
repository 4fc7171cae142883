"""Expected demand (DESIGN §11, capacity against demand): what the coordination office
expects a working group to need in a period, e.g. 450 people to house in a year, set
against the directory's places by the report.

One estimate per need (or need group), district (or the whole network) and period; it is
recorded again when the expectation changes, and withdrawn when it no longer holds."""

from __future__ import annotations

from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, StampedAggregate
from domain.messages import _
from domain.stamp import Stamp

MOST_PEOPLE = 1_000_000


def check_months(first_month: date, last_month: date) -> None:
    if first_month.day != 1 or last_month.day != 1:
        raise DomainError(_("A period runs over whole months."), field="first_month")
    if last_month < first_month:
        raise DomainError(_("The first month comes after the last."), field="last_month")
    if (last_month.year - first_month.year) * 12 + last_month.month - first_month.month >= 36:
        raise DomainError(_("An expected demand covers at most 36 months."),
                          field="last_month")


def check_people(people: int) -> None:
    if not isinstance(people, int) or isinstance(people, bool) or not (
            1 <= people <= MOST_PEOPLE):
        raise DomainError(_("The expected demand is a number of people from 1 to "
                            "{most}.", most=MOST_PEOPLE), field="people")


class DemandEstimate(StampedAggregate):
    @staticmethod
    def id_for(network: str, need: str, district: str | None, first_month: date,
               last_month: date) -> UUID:
        return uuid5(NAMESPACE_URL, f"fallnetz:demand:{network}:{need}:{district or '*'}:"
                                    f"{first_month.isoformat()}:{last_month.isoformat()}")

    @event("Recorded")
    def __init__(self, id: UUID, need: str, district: str | None, first_month: date,
                 last_month: date, people: int, by: Stamp) -> None:
        self.need = need
        self.district = district
        self.first_month = first_month
        self.last_month = last_month
        self.people = people
        self.withdrawn = False

    @classmethod
    def record(cls, network: str, need: str, district: str | None, first_month: date,
               last_month: date, people: int, by: Stamp) -> DemandEstimate:
        check_months(first_month, last_month)
        check_people(people)
        return cls(id=cls.id_for(network, need, district, first_month, last_month), need=need,
                   district=district, first_month=first_month, last_month=last_month,
                   people=people, by=by)

    def revise(self, people: int, by: Stamp) -> None:
        """The same estimate with another number (recorded again; a withdrawn one is
        back)."""
        check_people(people)
        if people != self.people or self.withdrawn:
            self._revised(people=people, by=by)

    @event("Revised")
    def _revised(self, people: int, by: Stamp) -> None:
        self.people = people
        self.withdrawn = False

    def withdraw(self, by: Stamp) -> None:
        if self.withdrawn:
            raise DomainError(_("This expected demand is withdrawn already."))
        self._withdrawn(by=by)

    @event("Withdrawn")
    def _withdrawn(self, by: Stamp) -> None:
        self.withdrawn = True
