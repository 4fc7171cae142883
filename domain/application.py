"""The application: the command pipeline every service of :mod:`domain.services` runs
through, and the services composed over one event store.

Each command verifies that the acting user really is a member of the organisation they act
for, in the role they claim; loads the aggregates; lets them decide; and saves all changed
aggregates in one transaction. A stale ``expected_version`` or a concurrent save raises
:class:`~domain.base.ConflictError`. A command given an ``idempotency_key`` that was applied
before returns the earlier result and records nothing new.
"""

from __future__ import annotations

import random
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import datetime_now_with_tzinfo
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper
from eventsourcing.utils import get_topic

from domain.aggregate_cache import SerialisedRepository
from domain.base import (CLOCK, ConcurrentSave, ConflictError, DateAsISO, DomainError,
                         MembershipRequired, NotFound, PermissionDenied, StampedAggregate)
from domain.case import Case, CaseClosed
from domain.messages import Message, _
from domain.network import NetworkConfig
from domain.organisation import Organisation, OrganisationInactive
from domain.receipt import CommandReceipt, fingerprint
from domain.referral import Referral
from domain.sealing import CASE_OF, PersonKeys, SealingMapper
from domain.services.accounts import AccountService
from domain.services.cases import CaseService
from domain.services.directory import DirectoryService
from domain.services.escalations import EscalationService
from domain.services.exchange import ExchangeService
from domain.services.person import PersonService
from domain.services.integrations import IntegrationService
from domain.services.planning import PlanningService
from domain.services.privacy import PrivacyService
from domain.services.staff import StaffService
from domain.services.referrals import ReferralService
from domain.services.responsibilities import ResponsibilityService
from domain.services.register import RegisterService
from domain.stamp import Role, Stamp, StampAsDict

A = TypeVar("A", bound=StampedAggregate)
Decision = tuple[Sequence[StampedAggregate], dict[str, Any]]

BERLIN = ZoneInfo("Europe/Berlin")
# The aggregates loaded within :meth:`ReferralNetwork.one_load_each`, by id; None outside.
_LOADED: ContextVar[dict[Any, Any] | None] = ContextVar("fallnetz_loaded", default=None)
# The key of an aggregate found for reading only (the cache's own object, never changed).
READ_ONLY = "read-only"
# The longest pause after the first lost race of a command that adds something; the n-th
# loss waits up to n times this (20 attempts: at most about 0.4 s in all).
RACE_PAUSE_SECONDS = 0.002


class UnknownNeed(DomainError):
    code = "unknown_need"


class ReferralNetwork(Application):
    """One network's application (DESIGN §5): directory, cases and referrals share one event
    store and notification log, so a command touching several of them (a lead handoff, a
    forward) saves in one transaction.

    The commands live in one service per area, reached as attributes (``cases``,
    ``referrals``, ...); this class is their command pipeline: load, verify, decide and save
    atomically."""

    log_section_size = 1000

    def __init__(self, network: NetworkConfig, env: dict[str, str] | None = None,
                 clock: Callable[[], datetime] = datetime_now_with_tzinfo,
                 person_keys: PersonKeys | None = None) -> None:
        self.network = network
        # The cases' own keys (domain.sealing); None: person data is stored unsealed (an
        # in-memory store of a test, a benchmark's comparison run).
        self.person_keys = person_keys
        self.clock = clock
        # Called after every successful save, e.g. to nudge the workers (ids only).
        self.after_save: list[Callable[[int], None]] = []
        # (organisation id, service id) → places in use, read from the projected load per
        # service; given by the composition (the web), so that accepting into a full service
        # asks for a reason. None: no capacity check (a process without views).
        self.places_taken: Callable[[UUID, str], int] | None = None
        self._directory_lock = threading.Lock()
        self._directory_ids: list[UUID] = []
        self._directory_upto = 0
        super().__init__(env)
        self.accounts = AccountService(self)
        self.directory = DirectoryService(self)
        self.cases = CaseService(self)
        self.referrals = ReferralService(self)
        self.escalations = EscalationService(self)
        self.integrations = IntegrationService(self)
        self.exchange = ExchangeService(self)
        self.planning = PlanningService(self)
        self.privacy = PrivacyService(self)
        self.staff = StaffService(self)
        self.person = PersonService(self)
        self.responsibilities = ResponsibilityService(self)
        self.register = RegisterService(self)
        # The projections read the events without the person's data: the views hold none.
        self.mapper_for_views = self._sealing_mapper(unseal=False) if person_keys \
            else self.mapper

    def construct_mapper(self) -> Mapper[UUID]:
        if self.person_keys is None:
            return super().construct_mapper()
        return self._sealing_mapper(unseal=True)

    def _sealing_mapper(self, unseal: bool) -> Mapper[UUID]:
        assert self.person_keys is not None
        return SealingMapper(transcoder=self.construct_transcoder(),
                             cipher=self.factory.cipher(), compressor=self.factory.compressor(),
                             keys=self.person_keys, unseal=unseal)

    def destroy_person_keys(self, case_id: UUID) -> None:
        if self.person_keys is not None:
            self.person_keys.destroy_case(case_id)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        # A referral's events are sealed with its case's key (domain.sealing).
        token = CASE_OF.set({o.id: o.case_id for o in objs if isinstance(o, Referral)})
        try:
            recordings = super().save(*objs, **kwargs)
        finally:
            CASE_OF.reset(token)
        if not recordings:
            return recordings
        last = max(r.notification.id for r in recordings)
        # What this save recorded events of, at the version it recorded: an aggregate passed
        # along unchanged was not checked against the store by the save, and a receipt is
        # only ever read again for a repeat.
        recorded = {r.domain_event.originator_id: r.domain_event.originator_version
                    for r in recordings}
        saved = [o for o in objs if isinstance(o, StampedAggregate)
                 and not isinstance(o, CommandReceipt) and recorded.get(o.id) == o.version]
        if isinstance(self.repository, SerialisedRepository):
            self.repository.saved(saved, last)
            # From now on the cache's: a later command of this request loads its own copy
            # rather than changing the object the cache hands to readers.
            loaded = _LOADED.get()
            for aggregate in saved if loaded is not None else ():
                loaded.pop(aggregate.id, None)
                loaded.pop((READ_ONLY, aggregate.id), None)
        for hook in self.after_save:
            hook(last)
        return recordings

    def construct_repository(self) -> Repository[UUID]:
        repository = super().construct_repository()
        if repository.cache is None:
            return repository
        # Read-only finds rely on both (domain.settings sets them with the cache's size).
        if not (repository.fastforward and repository.deepcopy_from_cache):
            raise ValueError("An aggregate cache needs AGGREGATE_CACHE_FASTFORWARD=y and "
                             "DEEPCOPY_FROM_AGGREGATE_CACHE=y.")
        return SerialisedRepository(
            event_store=self.events, snapshot_store=self.snapshots, log=self.recorder,
            cache_maxsize=int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 0),
            fastforward=repository.fastforward,
            fastforward_skipping=repository.fastforward_skipping,
            deepcopy_from_cache=repository.deepcopy_from_cache)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(StampAsDict())
        transcoder.register(DateAsISO())

    # == the command pipeline ==================================================================
    def execute(self, command: str, by: Stamp, decide: Callable[[], Decision], *,
                idempotency_key: str | None = None,
                arguments: dict[str, Any] | None = None, dry_run: bool = False) -> Any:
        """Runs ``decide`` and saves what it changed in one transaction. With an idempotency
        key, the same user repeating the same command with the same ``arguments`` gets the
        earlier result and nothing is recorded. A dry run decides and forgets: nothing is
        saved. Within one command each aggregate is read once (``one_load_each``), also
        where no request opened that scope (a worker's or the CLI's command)."""
        if _LOADED.get() is None:
            with self.one_load_each(), self.log_checked():
                return self.execute(command, by, decide, idempotency_key=idempotency_key,
                                    arguments=arguments, dry_run=dry_run)
        token = CLOCK.set(self.clock)
        try:
            digest = fingerprint(arguments or {})
            receipt_id = CommandReceipt.id_for(by, idempotency_key) if idempotency_key \
                else None
            # A repeated command is found out by its receipt, saved with the first one's
            # changes: its own save then fails on the receipt (IntegrityError below), or its
            # decision already fails because the first one changed things (DomainError
            # below). Not looked up beforehand: that is a read on every command for the
            # rare repeat. (A dry run saves nothing, so only a look-up can find its repeat.)
            if receipt_id is not None and dry_run:
                earlier = self.find(CommandReceipt, receipt_id)
                if earlier is not None:
                    return earlier.result_for(command, digest)
            try:
                changed, result = decide()
                if dry_run:
                    self._forget_loads()
                    return result
                changed = list(changed)
                if receipt_id is not None:
                    changed.append(CommandReceipt(id=receipt_id, command=command,
                                                  fingerprint=digest, result=result, by=by))
                self.save(*changed)
            except IntegrityError:
                self._forget_loads()
                # Another save came first: whoever decides again must see it.
                self.log_looked_at_again()
                if receipt_id is not None:
                    earlier = self.find(CommandReceipt, receipt_id)
                    if earlier is not None:
                        return earlier.result_for(command, digest)
                raise ConcurrentSave(_("Someone changed this meanwhile. Please reload and "
                                       "try again.")) from None
            except DomainError:
                self._forget_loads()
                earlier = self.find(CommandReceipt, receipt_id) if receipt_id else None
                if earlier is not None:
                    return earlier.result_for(command, digest)
                raise
            except BaseException:
                # What decide() changed before it failed was not saved.
                self._forget_loads()
                raise
            return result
        finally:
            CLOCK.reset(token)

    def execute_again_on_race(self, command: str, by: Stamp, decide: Callable[[], Decision],
                              *, idempotency_key: str | None, arguments: dict[str, Any],
                              exhausted: Message, attempts: int = 20) -> dict[str, Any]:
        """For commands that add something rather than change what the user saw (a new
        case, a new referral): losing a race to another save only means deciding again on
        the fresh state. The loser waits a random moment first, longer after each loss:
        two processes opening cases in a tight loop otherwise met again at the next number
        every time, and one of them ran out of its attempts (seen in `make bench`)."""
        for attempt in range(attempts):
            try:
                return self.execute(command, by, decide, idempotency_key=idempotency_key,
                                    arguments=arguments)
            except ConcurrentSave:
                time.sleep(random.uniform(0, RACE_PAUSE_SECONDS * (attempt + 1)))
        raise ConflictError(exhausted)

    def find(self, cls: type[A], aggregate_id: UUID, read_only: bool = False) -> A | None:
        """The aggregate, or None. ``read_only``: the caller only looks at it (a membership
        check, the receiver of a referral), so the cached aggregate itself is returned, not
        a deep copy of it; it must never be changed, and a command of the same request that
        changes it loads its own copy."""
        loaded = _LOADED.get()
        aggregate = None
        if loaded is not None:
            aggregate = loaded.get(aggregate_id)
            if aggregate is None and read_only:
                aggregate = loaded.get((READ_ONLY, aggregate_id))
        if aggregate is None:
            try:
                aggregate = self.repository.get(aggregate_id,
                                                deepcopy_from_cache=not read_only)
            except AggregateNotFoundError:
                return None
            if loaded is not None:
                loaded[(READ_ONLY, aggregate_id) if read_only else aggregate_id] = aggregate
        return aggregate if isinstance(aggregate, cls) else None

    def log_end(self) -> int:
        """The log's newest notification id; within a request as looked at once by the
        aggregate cache (:meth:`SerialisedRepository.log_checked`)."""
        end = self.repository.log_end() \
            if isinstance(self.repository, SerialisedRepository) else None
        return end if end is not None else (self.recorder.max_notification_id() or 0)

    def log_looked_at_again(self) -> None:
        """The next load of this request or command looks at the log again (after a lost
        race, so that deciding again sees the winner's save)."""
        if isinstance(self.repository, SerialisedRepository):
            self.repository.look_again()

    @contextmanager
    def log_checked(self) -> Iterator[None]:
        """See :meth:`SerialisedRepository.log_checked` (nothing without a cache)."""
        if not isinstance(self.repository, SerialisedRepository):
            yield
            return
        with self.repository.log_checked():
            yield

    @contextmanager
    def one_load_each(self) -> Iterator[None]:
        """Within this (one web request), each aggregate is read from the store once: the
        access check, the form's choices and the command see the same object, instead of
        four aggregates loaded twice per referral POST. A command that decided on an older
        version than the store's fails at the save (optimistic concurrency), as any
        command does; a command that fails forgets every aggregate, since it may have
        changed some before failing."""
        token = _LOADED.set({})
        try:
            yield
        finally:
            _LOADED.reset(token)

    def _forget_loads(self) -> None:
        loaded = _LOADED.get()
        if loaded is not None:
            loaded.clear()

    def load(self, cls: type[A], aggregate_id: UUID, expected_version: int | None = None,
             what: str = "object") -> A:
        """The aggregate, at ``expected_version`` if given. ``what`` ("case", "referral",
        "organisation", "notification", "user" or "object") names it in the messages."""
        aggregate = self.find(cls, aggregate_id)
        if aggregate is None:
            raise NotFound(_not_found(what))
        if expected_version is not None and aggregate.version != expected_version:
            raise ConflictError(_changed_meanwhile(what, aggregate.version, expected_version),
                                changed_by=self._changed_by(aggregate_id, expected_version))
        return aggregate

    def _changed_by(self, aggregate_id: UUID, since_version: int) -> frozenset[str]:
        """Who recorded the aggregate's events after ``since_version`` (read on a conflict
        only)."""
        changes = self.repository.event_store.get(aggregate_id, gt=since_version)
        return frozenset(getattr(getattr(e, "by", None), "user", "") for e in changes)

    def verify(self, by: Stamp, roles: Sequence[Role]) -> Organisation | None:
        """The acting user must be a member of ``by.organisation_id`` in ``by.role``, and that
        role must be one of ``roles``. System stamps come only from the application itself.
        The organisation returned is for reading only (``find(read_only=True)``)."""
        if by.role == Role.SYSTEM:
            if not by.is_engine:
                raise PermissionDenied(_("The system role cannot be claimed."))
            return None
        if by.role not in roles:
            raise PermissionDenied(_("The role {role} cannot do this.", role=by.role))
        organisation = self.find(Organisation, by.organisation_id, read_only=True) \
            if by.organisation_id else None
        if organisation is None or organisation.acting_role(by.user) != by.role:
            raise MembershipRequired(_("{user} is not a {role} of this organisation.",
                                       user=by.user, role=by.role))
        if not organisation.active:
            raise OrganisationInactive(_("{organisation} is no longer active.",
                                         organisation=organisation.name))
        return organisation

    def today(self) -> date:
        return self.clock().astimezone(BERLIN).date()

    def check_need(self, need: str) -> None:
        if not self.network.is_need(need):
            raise UnknownNeed(_("Unknown need {need!r}.", need=need), field="need")

    def check_district(self, district: Any) -> None:
        if district not in self.network.districts:
            raise DomainError(_("Unknown district {district!r}; the network's districts are "
                                "{districts}.", district=district,
                                districts=", ".join(self.network.districts)),
                              field="district")

    def organisation_by_key(self, key: str) -> Organisation | None:
        return self.find(Organisation, Organisation.id_for(self.network.slug, key))

    # == reads: replays of the log, for tools and tests (requests read the read model) =====
    def created_ids(self, created_event: type) -> Iterator[UUID]:
        topic = get_topic(created_event)
        start: int | None = 1
        while True:
            section = self.notification_log.select(start=start, limit=self.log_section_size,
                                                   topics=[topic])
            if not section:
                return
            for notification in section:
                yield notification.originator_id
            start = section[-1].id + 1

    def all_cases(self) -> list[Case]:
        return [self.repository.get(i) for i in self.created_ids(Case.Opened)]

    def organisations(self) -> list[Organisation]:
        """The directory, each organisation brought up to date from the store (cached)."""
        return [self.repository.get(i) for i in self.organisation_ids()]

    def organisation_ids(self) -> list[UUID]:
        """Every registered organisation's id. Kept per process and extended by the
        registrations after the last one seen, so a request reads only the log's newest
        rows instead of scanning all of it."""
        with self._directory_lock:
            # Up to the log's end as it is now (notification ids are given in commit
            # order), so the next call starts after it.
            end = self.recorder.max_notification_id() or 0
            start = self._directory_upto + 1
            topic = get_topic(Organisation.Registered)
            while start <= end:
                section = self.notification_log.select(
                    start=start, limit=self.log_section_size, stop=end, topics=[topic])
                if not section:
                    break
                self._directory_ids.extend(n.originator_id for n in section)
                start = section[-1].id + 1
            self._directory_upto = max(self._directory_upto, end)
            return list(self._directory_ids)

    def all_referrals(self) -> list[Referral]:
        return [self.repository.get(i) for i in self.created_ids(Referral.Created)]

    def ensure_case_open(self, case: Case) -> None:
        if not case.is_open:
            raise CaseClosed(_("Case {reference} is closed.", reference=case.reference))


def _not_found(what: str) -> Message:
    # One literal message per kind of aggregate: translations differ by grammatical gender.
    messages = {"case": _("No such case."), "referral": _("No such referral."),
                "organisation": _("No such organisation."),
                "notification": _("No such notification."), "user": _("No such user.")}
    return messages.get(what) or _("No such object.")


def _changed_meanwhile(what: str, version: int, expected: int) -> Message:
    if what == "case":
        return _("This case was changed meanwhile (version {version}, you saw {expected}). "
                 "Please reload and try again.", version=version, expected=expected)
    if what == "referral":
        return _("This referral was changed meanwhile (version {version}, you saw "
                 "{expected}). Please reload and try again.", version=version,
                 expected=expected)
    if what == "organisation":
        return _("This organisation was changed meanwhile (version {version}, you saw "
                 "{expected}). Please reload and try again.", version=version,
                 expected=expected)
    if what == "notification":
        return _("This notification was changed meanwhile (version {version}, you saw "
                 "{expected}). Please reload and try again.", version=version,
                 expected=expected)
    if what == "user":
        return _("This user was changed meanwhile (version {version}, you saw {expected}). "
                 "Please reload and try again.", version=version, expected=expected)
    return _("This object was changed meanwhile (version {version}, you saw {expected}). "
             "Please reload and try again.", version=version, expected=expected)
