"""Rows a projector wrote in the transaction it is writing, by key: the next event of the
same referral in a batch reads its row from here instead of reading back what was just
written (a rebuild's batch holds most of a referral's events)."""

from __future__ import annotations

from typing import Any

from readmodel.store import Cursor


class WrittenRows:
    """Kept per cursor, that is per transaction: another batch, or a batch rolled back and
    run again, starts empty and reads the table. Every statement that writes the table must
    also :meth:`put` the row as the table now holds it, column for column."""

    def __init__(self) -> None:
        self._cursor: Cursor | None = None
        self._rows: dict[str, dict[str, Any]] = {}

    def get(self, cur: Cursor, key: str) -> dict[str, Any] | None:
        return self._rows.get(key) if cur is self._cursor else None

    def put(self, cur: Cursor, key: str, row: dict[str, Any]) -> None:
        if cur is not self._cursor:
            self._cursor, self._rows = cur, {}
        self._rows[key] = row
