"""The aggregate cache (``AGGREGATE_CACHE_SIZE``): the library's repository with the loads of
one aggregate taken in turn, its cache copy-on-write, and a look at the log's newest rows
that spares a request the store's fast-forward query for every cached aggregate nothing
has changed since it was loaded."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository, project_aggregate
from eventsourcing.persistence import ApplicationRecorder

# Within :meth:`SerialisedRepository.log_checked`: how far each repository's look at the log
# reached (by the repository's id; None: not looked yet). A request of one network may read
# another's (the operators' pages), so each has its own.
_LOOKS: ContextVar[dict[int, int | None] | None] = ContextVar("fallnetz_log_looks",
                                                              default=None)


class SerialisedRepository(Repository[UUID]):
    """The library's repository, with the loads of one aggregate taken in turn and its
    cache copy-on-write.

    The library fast-forwards a cached aggregate in place, so an object handed out without
    a copy (``ReferralNetwork.find(read_only=True)``) would change under its reader when
    another thread loads newer events ("dictionary changed size during iteration", a
    decision on half an update). Here newer events are applied to a copy of an aggregate
    once handed out so, which then takes the cached one's place: such an object never
    changes. (The others, handed out as copies only, are brought up to date in place, as by
    the library: a copy costs as much as the load.) Every load of an aggregate holds one of
    a fixed set of locks (chosen by its id), so two threads do not both bring the same
    aggregate up to date.

    Each load of a cached aggregate asks the store for its newer events (one query, usually
    answered with none); a request loads four or five (the viewer's account and
    organisation, the case, the receiver). Within :meth:`log_checked` the log's rows after
    the last ones this process has seen are read once instead, and a cached aggregate none
    of whose events is among them is up to date without a query. That holds because the
    store gives notification ids in commit order (PostgreSQL: the library locks the table
    for each save; SQLite: one writer): once the log has been read up to id n, every event
    up to n is committed, so a load that starts afterwards sees it."""

    STRIPES = 64
    # The log's rows read by one look; more, and the cache is trusted for none of its
    # aggregates until each is loaded again (a process back after a long pause).
    LOOK_AT_MOST = 1000
    # Aggregates whose newest change is listed; the oldest are dropped beyond this.
    LISTED_AT_MOST = 20_000

    def __init__(self, *args: Any, log: ApplicationRecorder | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stripes = [threading.Lock() for _ in range(self.STRIPES)]
        self._shared: set[UUID] = set()  # cached objects handed out without a copy
        self._log = log
        self._looking = threading.Lock()  # one look at a time; loads go on meanwhile
        self._looks_begun = 0  # counts the looks, so a request can share a later one
        self._log_lock = threading.Lock()  # the listing below, held only to read or change it
        # The log has been read up to ``_seen`` (a notification id); the newest change of
        # every aggregate changed after ``_listed_after`` is in ``_changed_at``, oldest
        # first. None: not looked at yet.
        self._seen: int | None = None
        self._listed_after = 0
        self._changed_at: OrderedDict[UUID, int] = OrderedDict()
        # A cached aggregate holds every event up to this notification id (at least).
        self._loaded_after_log: dict[UUID, int] = {}

    @contextmanager
    def log_checked(self) -> Iterator[None]:
        """Within the block (a request), the log's rows after the last ones seen are read
        once, at the first load (a page that loads nothing asks nothing: the outage page,
        the health checks), and loads of cached aggregates not changed since their load ask
        the store nothing."""
        token = _LOOKS.set({}) if _LOOKS.get() is None else None
        try:
            yield
        finally:
            if token is not None:
                _LOOKS.reset(token)

    def log_end(self) -> int | None:
        """How far the log reached when looked at within :meth:`log_checked` (looked at
        now if not yet); None outside it, or without a log to look at."""
        looks = _LOOKS.get()
        if looks is None:
            return None
        end = looks.get(id(self))
        if end is None:
            end = looks[id(self)] = self.look_at_log(self.look_wanted())
        return end

    def look_again(self) -> None:
        looks = _LOOKS.get()
        if looks is not None:
            looks.pop(id(self), None)

    def look_wanted(self) -> int:
        """A token for :meth:`look_at_log`: how many looks had begun when one was wanted."""
        with self._log_lock:
            return self._looks_begun

    def look_at_log(self, wanted: int | None = None) -> int | None:
        """Reads the log's rows after the last ones seen; returns how far it reached. With
        ``wanted`` (from :meth:`look_wanted`), a look that began after it and has ended
        will do: its query started after whatever the caller must see was committed. Under
        load, the threads that wait while one thread looks then share the next look
        instead of each asking the database in turn."""
        if self._log is None or self.cache is None:
            return None
        # Only a look changes ``_seen``, and one looks at a time, so it can be read here
        # and the query run without holding up the loads of other threads.
        with self._looking:
            with self._log_lock:
                if wanted is not None and self._looks_begun > wanted \
                        and self._seen is not None:
                    return self._seen
                self._looks_begun += 1
            seen = self._log_seen()
            if seen is None:
                end = self._log.max_notification_id() or 0
                with self._log_lock:
                    self._seen = self._listed_after = end
                return end
            rows = self._log.select_notifications(start=seen, limit=self.LOOK_AT_MOST,
                                                  inclusive_of_start=False)
            if len(rows) == self.LOOK_AT_MOST:  # too far behind to list: start afresh
                end = self._log.max_notification_id() or 0
                with self._log_lock:
                    self._seen = self._listed_after = end
                    self._changed_at.clear()
                return end
            with self._log_lock:
                for row in rows:
                    self._changed_at[row.originator_id] = row.id
                    self._changed_at.move_to_end(row.originator_id)
                if rows:
                    self._seen = rows[-1].id
                while len(self._changed_at) > self.LISTED_AT_MOST:
                    _aggregate, self._listed_after = self._changed_at.popitem(last=False)
                return self._seen

    def _unchanged_since_load(self, aggregate_id: UUID) -> bool:
        with self._log_lock:
            loaded = self._loaded_after_log.get(aggregate_id)
            return loaded is not None and loaded >= self._listed_after \
                and self._changed_at.get(aggregate_id, 0) <= loaded

    def _log_seen(self) -> int | None:
        with self._log_lock:
            return self._seen

    def _cached(self, aggregate_id: UUID, aggregate: Any, loaded: int | None) -> None:
        evicted, _value = self.cache.put(aggregate_id, aggregate)
        if evicted is not None:
            self._no_longer_shared(evicted, self._stripes[hash(aggregate_id) % self.STRIPES])
        with self._log_lock:
            if evicted is not None:
                self._loaded_after_log.pop(evicted, None)
            if loaded is None:
                self._loaded_after_log.pop(aggregate_id, None)
            else:
                self._loaded_after_log[aggregate_id] = loaded

    def _no_longer_shared(self, evicted: UUID, own_stripe: threading.Lock) -> None:
        """An evicted aggregate is its readers' alone (a later load reads it afresh), so
        it leaves the set of shared ones, unless another thread is loading it right now
        (it may be deciding whether to copy it): then it stays, costing a copy at most."""
        stripe = self._stripes[hash(evicted) % self.STRIPES]
        if stripe is own_stripe:  # held by this thread, which is loading another one
            self._shared.discard(evicted)
        elif stripe.acquire(blocking=False):
            try:
                self._shared.discard(evicted)
            finally:
                stripe.release()

    def _forget(self, aggregate_id: UUID) -> None:
        try:
            self.cache.get(aggregate_id, evict=True)
        except KeyError:  # evicted meanwhile by another thread's load
            pass
        self._shared.discard(aggregate_id)
        with self._log_lock:
            self._loaded_after_log.pop(aggregate_id, None)

    def saved(self, aggregates: list[Any], last_event: int) -> None:
        """Aggregates just saved, whose events reach up to notification id ``last_event``:
        what the store holds of them now (the save checked that nothing was saved of them
        in between), cached as they are, so their next load asks the store nothing. Their
        savers must not change them any more (``ReferralNetwork.save`` sees to it for the
        commands of a request); the cache never does (copy-on-write)."""
        if self.cache is None or not self.fastforward:
            return
        for aggregate in aggregates:
            with self._stripes[hash(aggregate.id) % self.STRIPES]:
                self._shared.add(aggregate.id)
                self._cached(aggregate.id, aggregate, last_event)

    def get(self, aggregate_id: UUID, *, version: int | None = None,
            deepcopy_from_cache: bool = True, **kwargs: Any) -> Any:
        if version is not None or self.cache is None or not self.fastforward:
            return super().get(aggregate_id, version=version,
                               deepcopy_from_cache=deepcopy_from_cache, **kwargs)
        checked = self.log_end() is not None  # (the request's one look at the log)
        with self._stripes[hash(aggregate_id) % self.STRIPES]:
            # Every event up to here is committed, so the query below sees it.
            seen = self._log_seen()
            try:
                aggregate = self.cache.get(aggregate_id)
            except KeyError:  # (an evicted one handed out before is its readers' alone)
                self._shared.discard(aggregate_id)
                aggregate = self._reconstruct_aggregate(aggregate_id, None, project_aggregate)
                self._cached(aggregate_id, aggregate, seen)
            else:
                asked = not (checked and self._unchanged_since_load(aggregate_id))
                newer = list(self.event_store.get(originator_id=aggregate_id,
                                                  gt=aggregate.version)) if asked else []
                if newer:
                    shared = aggregate_id in self._shared
                    try:
                        updated = project_aggregate(
                            deepcopy(aggregate) if shared else aggregate, newer)
                        if updated is None:
                            raise AggregateNotFoundError(aggregate_id)
                    except BaseException:
                        # Half brought up to date, or gone: not kept (the next load reads
                        # it afresh); a shared object stays as its readers have it.
                        self._forget(aggregate_id)
                        raise
                    aggregate = updated
                    self._shared.discard(aggregate_id)  # the new object is no one's yet
                    self._cached(aggregate_id, aggregate, seen)
                elif asked:
                    self._cached(aggregate_id, aggregate, seen)  # up to date as of now
            if not (deepcopy_from_cache and self.deepcopy_from_cache):
                self._shared.add(aggregate_id)
                return aggregate
            # Commands change what they load: theirs is a copy of its own.
            return deepcopy(aggregate)
