"""The aggregate cache within a request (:meth:`SerialisedRepository.log_checked`): one look
at the log's newest rows instead of a query per cached aggregate, and never an aggregate
older than what was committed before the request began."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from domain.aggregate_cache import SerialisedRepository
from domain.application import ReferralNetwork
from domain.base import PermissionDenied
from domain.case import Case
from domain.network import NetworkConfig
from domain.organisation import Organisation
from domain.settings import Settings
from domain.stamp import Role
from runtime.bootstrap import bootstrap
from testbed.world import World


@pytest.fixture
def other(settings: Settings, network: NetworkConfig) -> Iterator[ReferralNetwork]:
    """Another process of the same installation, writing to the same store."""
    application = bootstrap(settings, network=network).application
    yield application
    application.close()


class Asked:
    """Counts the store's fast-forward queries per aggregate and the looks at the log."""

    def __init__(self, application: ReferralNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[Any] = []
        self.looks = 0
        repository = application.repository
        assert isinstance(repository, SerialisedRepository)
        get, select = repository.event_store.get, application.recorder.select_notifications

        def counted_get(originator_id, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.events.append(originator_id)
            return get(originator_id, *args, **kwargs)

        def counted_select(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.looks += 1
            return select(*args, **kwargs)
        monkeypatch.setattr(repository.event_store, "get", counted_get)
        monkeypatch.setattr(application.recorder, "select_notifications", counted_select)


def request(application: ReferralNetwork) -> Any:
    """What the web opens around every request."""
    from contextlib import ExitStack

    scope = ExitStack()
    scope.enter_context(application.one_load_each())
    scope.enter_context(application.log_checked())
    return scope


def organisation(application: ReferralNetwork, key: str, world: World) -> Organisation:
    found = application.find(Organisation, world.org(key), read_only=True)
    assert found is not None
    return found


def test_a_request_looks_at_the_log_once_and_asks_nothing_of_unchanged_aggregates(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    application = world.application
    with request(application):  # the first request loads them into the cache
        application.accounts.require_member(world.anna)
        organisation(application, "psz", world)
        application.directory.user("anna")
    asked = Asked(application, monkeypatch)
    with request(application):
        application.accounts.require_member(world.anna)  # the account's organisation
        organisation(application, "psz", world)
        application.directory.user("anna")
        assert application.log_end() == application.recorder.max_notification_id()
    assert asked.events == [] and asked.looks == 1
    # Outside a request (a worker, the CLI) every load asks the store, as before.
    organisation(application, "psz", world)
    assert asked.events == [world.org("psz")]


def test_requests_waiting_while_one_looks_share_the_next_look_but_never_an_earlier_one(
        world: World, other: ReferralNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    application = world.application
    repository = application.repository
    assert isinstance(repository, SerialisedRepository)
    elsewhere = copy.copy(world)  # the same people, writing through the other process
    elsewhere.application = other
    repository.look_at_log()
    asked = Asked(application, monkeypatch)
    waiting = repository.look_wanted()  # a request wants a look while another thread looks
    elsewhere.open_case()
    end = repository.look_at_log(repository.look_wanted())  # the next look
    assert asked.looks == 1 and end == application.recorder.max_notification_id()
    # It began after the waiting request wanted one: shared, no query of its own.
    assert repository.look_at_log(waiting) == end and asked.looks == 1
    # A look that began before a request wanted one does not do: it looks itself and sees
    # what was committed in between.
    wanted = repository.look_wanted()
    elsewhere.open_case()
    assert repository.look_at_log(wanted) == application.recorder.max_notification_id() > end
    assert asked.looks == 2


def test_a_change_saved_by_another_process_is_seen_by_the_next_request(
        world: World, other: ReferralNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    application = world.application
    with request(application):
        application.accounts.require_member(world.anna)
        before = organisation(application, "fsa-sachsendorf", world)
    other.directory.remove_member(world.as_("root", "koordinierungsstelle"),
                                  world.org("fsa-sachsendorf"), "anna")
    asked = Asked(application, monkeypatch)
    with request(application):
        with pytest.raises(PermissionDenied):
            application.accounts.require_member(world.anna)
        after = organisation(application, "fsa-sachsendorf", world)
    assert asked.events == [world.org("fsa-sachsendorf")]
    assert after.version == before.version + 1 and after.acting_role("anna") is None
    assert before.acting_role("anna") == Role.CASEWORKER  # what its reader had is unchanged


def test_a_process_far_behind_the_log_starts_afresh_and_asks_the_store(
        world: World, other: ReferralNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    application = world.application
    monkeypatch.setattr(SerialisedRepository, "LOOK_AT_MOST", 2)
    with request(application):
        before = organisation(application, "psz", world)
    admin = world.as_("root", "koordinierungsstelle")
    for _ in range(2):  # more rows than one look reads
        other.directory.add_member(admin, world.org("psz"), "anna", Role.CASEWORKER)
        other.directory.remove_member(admin, world.org("psz"), "anna")
    with request(application):
        after = organisation(application, "psz", world)
    assert after.version == before.version + 4
    asked = Asked(application, monkeypatch)
    with request(application):  # now up to date and listed again
        organisation(application, "psz", world)
    assert asked.events == []


def test_aggregates_loaded_before_the_oldest_listed_change_are_asked_again(
        world: World, other: ReferralNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    application = world.application
    monkeypatch.setattr(SerialisedRepository, "LISTED_AT_MOST", 1)
    with request(application):
        organisation(application, "psz", world)
    admin = world.as_("root", "koordinierungsstelle")
    for key in ("jobcenter", "sozialamt"):  # two other aggregates: the listing forgets one
        other.directory.add_member(admin, world.org(key), "anna", Role.CASEWORKER)
    asked = Asked(application, monkeypatch)
    with request(application):
        organisation(application, "psz", world)
    assert asked.events == [world.org("psz")]


def test_no_request_sees_an_aggregate_older_than_what_was_committed_before_it(
        world: World, other: ReferralNetwork) -> None:
    """Another process changes an organisation again and again while requests of this one
    read it: each request sees at least the version committed before it began."""
    application = world.application
    admin = world.as_("root", "koordinierungsstelle")
    committed = [organisation(application, "psz", world).version]
    stop = threading.Event()
    failures: list[str] = []

    def write() -> None:
        try:
            while not stop.is_set():
                for change in (other.directory.add_member, other.directory.remove_member):
                    args = (Role.CASEWORKER,) if change == other.directory.add_member else ()
                    result = change(admin, world.org("psz"), "anna", *args)
                    committed.append(result["version"])
        except Exception as error:  # noqa: BLE001 — reported below
            failures.append(repr(error))

    def read() -> None:
        for _ in range(150):
            known = committed[-1]
            with request(application):
                seen = organisation(application, "psz", world).version
            if seen < known:
                failures.append(f"saw version {seen} after {known} was committed")

    writer = threading.Thread(target=write)
    readers = [threading.Thread(target=read) for _ in range(3)]
    writer.start()
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=300)
    stop.set()
    writer.join(timeout=60)
    assert not failures, failures[:5]
    assert len(committed) > 10  # the writer did write meanwhile


def test_what_a_command_saved_is_cached_so_the_next_command_asks_nothing(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside requests too (a worker, the CLI): each command looks at the log once."""
    case_id = world.open_case()
    world.consent(case_id)
    world.send(case_id)  # the organisations and the case are cached now
    asked = Asked(world.application, monkeypatch)
    referral_id = world.send(case_id)
    world.application.referrals.accept_referral(world.nadia, referral_id)
    assert asked.events == [] and asked.looks == 2
    assert world.referral(referral_id).status == "accepted"
    assert len(world.case(case_id).referral_ids) == 2


def test_a_later_command_of_the_request_does_not_change_what_readers_were_given(
        world: World) -> None:
    application = world.application
    admin = world.as_("root", "koordinierungsstelle")
    with request(application):
        first = organisation(application, "psz", world)
        application.directory.add_member(admin, world.org("psz"), "anna", Role.CASEWORKER)
        cached = organisation(application, "psz", world)  # what the first command saved
        application.directory.remove_member(admin, world.org("psz"), "anna")
        latest = organisation(application, "psz", world)
    assert (first.version, cached.version, latest.version) == (
        first.version, first.version + 1, first.version + 2)
    assert first.acting_role("anna") is None and cached.acting_role("anna") == Role.CASEWORKER
    assert latest.acting_role("anna") is None
    with request(application):  # and the next request has the store's state
        assert organisation(application, "psz", world).version == latest.version


def test_an_aggregate_saved_along_unchanged_is_not_taken_as_up_to_date(
        world: World, other: ReferralNetwork) -> None:
    """A save checks the versions only of what it records events of: an unchanged
    aggregate passed along may be older than the store's."""
    application = world.application
    case_id = world.open_case()
    stale = application.find(Organisation, world.org("psz"))  # a copy, as commands get
    assert stale is not None
    admin = world.as_("root", "koordinierungsstelle")
    other.directory.add_member(admin, world.org("psz"), "anna", Role.CASEWORKER)
    with request(application):
        case = application.find(Case, case_id)
        assert case is not None
        case.record_need("language", "", by=world.anna)
        application.save(case, stale)
    with request(application):
        assert organisation(application, "psz", world).acting_role("anna") == Role.CASEWORKER


def test_deciding_again_after_a_lost_race_sees_the_winners_save(
        world: World, other: ReferralNetwork) -> None:
    application = world.application
    case_id = world.open_case()
    with request(application):
        assert application.find(Case, case_id) is not None  # cached, and trusted
        # Another process saves the case meanwhile: this request's first decision loses.
        other.cases.record_need(world.anna, case_id, "language")
        tries: list[int] = []

        def decide():  # type: ignore[no-untyped-def]
            case = application.load(Case, case_id)
            tries.append(case.version)
            case.record_need("benefits", "", by=world.anna)
            return [case], {}
        application.execute_again_on_race("test", world.anna, decide, idempotency_key=None,
                                          arguments={}, exhausted="too many")
    assert len(tries) == 2 and tries[1] == tries[0] + 1
    assert {"language", "benefits"} <= set(world.case(case_id).needs)
