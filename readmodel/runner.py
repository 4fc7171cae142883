"""Catches the views up with the notification log, rebuilds them, reports their lag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.application import ReferralNetwork
from readmodel.projections import report_projectors
from readmodel.projections.workflow import WorkflowViews
from readmodel.runs import VIEWS, record_success
from readmodel.schema import PROJECTIONS, create_tables, drop_tables
from readmodel.store import Cursor, ViewStore

PROJECTION = PROJECTIONS[0]


class PositionMoved(Exception):
    """Another projector applied this batch first; ours was rolled back."""


@dataclass(frozen=True)
class Lag:
    position: int
    last_event: int

    @property
    def behind(self) -> int:
        return max(0, self.last_event - self.position)


class ViewUpdater:

    def __init__(self, application: ReferralNetwork, store: ViewStore,
                 batch_size: int = 500, create: bool = True) -> None:
        self.application = application
        self.store = store
        # The workflow's views first: the reports may read what they wrote.
        self.projectors = [WorkflowViews(application.network), *report_projectors()]
        self.batch_size = min(batch_size, application.log_section_size)
        # A rebuild's shadow tables are made by the rebuild (readmodel/rebuild.py), and
        # their runs are not the worker's.
        self.live = create
        if create:
            create_tables(store)

    def position(self) -> int:
        with self.store.reading() as cur:
            row = cur.one("SELECT position FROM {p}positions WHERE projection = ?",
                          (PROJECTION,))
        return int(row["position"]) if row else 0

    def lag(self) -> Lag:
        return Lag(self.position(), self.application.recorder.max_notification_id() or 0)

    def catch_up(self, progress: Callable[[int], None] | None = None,
                 max_batches: int | None = None, until: int | None = None) -> int:
        """Applies every new event (up to position ``until``, if given); returns how many.
        Safe to run in several processes."""
        applied = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            try:
                count = self._apply_batch(until)
            except PositionMoved:
                continue
            if not count:
                break
            applied += count
            batches += 1
            if progress is not None:
                progress(count)
        # Caught up, even if there was nothing to apply: the lists judge staleness by this.
        if self.live:
            record_success(self.store, VIEWS)
        return applied

    def _apply_batch(self, until: int | None = None) -> int:
        with self.store.transaction() as cur:
            start = self._locked_position(cur)
            if until is not None and start >= until:
                return 0
            notifications = self.application.notification_log.select(
                start=start + 1, limit=self.batch_size, stop=until)
            if not notifications:
                return 0
            self.project(cur, notifications)
            moved = cur.execute("UPDATE {p}positions SET position = ? WHERE projection = ? "
                                "AND position = ?",
                                (notifications[-1].id, PROJECTION, start)).rowcount
            if moved != 1:
                raise PositionMoved
            return len(notifications)

    def project(self, cur: Cursor, notifications: list[Any]) -> None:
        """Applies these notifications' events to the views ``cur`` writes."""
        for notification in notifications:
            event = self.application.mapper_for_views.to_domain_event(notification)
            for projector in self.projectors:
                projector.apply(cur, event, notification.id)

    def _locked_position(self, cur: Cursor) -> int:
        lock = " FOR UPDATE" if self.store.dialect == "postgres" else ""
        row = cur.one("SELECT position FROM {p}positions WHERE projection = ?" + lock,
                      (PROJECTION,))
        assert row is not None, "create_tables() inserts every projection's position"
        return int(row["position"])

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Drops the views and projects every event again."""
        drop_tables(self.store)
        create_tables(self.store)
        return self.catch_up(progress)
