"""Human-readable case reference numbers, e.g. ``CB-2026-00042``.

One sequence aggregate per (prefix, year); it is saved with the case it numbers, so two
cases opened at once conflict on the sequence instead of sharing a number.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import StampedAggregate
from domain.stamp import Stamp


class CaseNumberSequence(StampedAggregate):
    @staticmethod
    def id_for(prefix: str, year: int) -> UUID:
        return uuid5(NAMESPACE_URL, f"fallnetz:case-numbers:{prefix}:{year}")

    @event("Started")
    def __init__(self, id: UUID, prefix: str, year: int, by: Stamp) -> None:
        self.prefix = prefix
        self.year = year
        self.last_number = 0

    def issue(self, by: Stamp) -> str:
        self._issued(number=self.last_number + 1, by=by)
        return f"{self.prefix}-{self.year}-{self.last_number:05d}"

    @event("Issued")
    def _issued(self, number: int, by: Stamp) -> None:
        self.last_number = number
