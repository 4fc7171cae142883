"""50 concurrent commands on one referral (threads, real PostgreSQL): exactly one wins per
version, every other gets the conflict error, versions stay contiguous, no event is lost."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from domain.base import ConflictError, MembershipRequired
from runtime.bootstrap import bootstrap
from domain.network import NetworkConfig
from domain.settings import Settings
from domain.stamp import Stamp
from tests.conftest import database_url
from testbed.world import World

THREADS = 50


@pytest.mark.postgres
def test_fifty_concurrent_commands_on_one_referral(tmp_path: Path,
                                                   request: pytest.FixtureRequest,
                                                   network: NetworkConfig) -> None:
    url = database_url("postgres", tmp_path, request, pool_size="10", max_overflow="60")
    application = bootstrap(Settings(database_url=url), network=network).application
    try:
        world = World.build(application)
        case_id = world.open_case()
        world.consent(case_id)
        referral_id = world.send(case_id)
        application.referrals.accept_referral(world.nadia, referral_id)
        start_version = world.referral(referral_id).version
        nadia = world.nadia

        barrier = threading.Barrier(THREADS)
        wins: list[int] = []
        conflicts: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def put_on_hold(i: int) -> None:
            try:
                barrier.wait()
                while True:
                    seen = application.repository.get(referral_id).version
                    try:
                        application.referrals.hold_referral(nadia, referral_id, f"Pause {i}",
                                          expected_version=seen)
                    except ConflictError:
                        with lock:
                            conflicts.append(seen)
                        continue
                    with lock:
                        wins.append(seen)
                    return
            except BaseException as e:  # surfaced below, with the thread's context
                errors.append(e)

        threads = [threading.Thread(target=put_on_hold, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors[:3]
        assert not any(t.is_alive() for t in threads)

        # Exactly one winner per version, and the versions won are contiguous.
        assert sorted(wins) == list(range(start_version, start_version + THREADS))
        assert max(Counter(wins).values()) == 1
        # Every loser lost at a version somebody else won; and there were losers.
        assert conflicts and set(conflicts) <= set(wins)

        events = list(application.events.get(referral_id))
        assert [e.originator_version for e in events] == list(
            range(1, start_version + THREADS + 1))
        reasons = [e.reason for e in events[start_version:]]
        assert sorted(reasons) == sorted(f"Pause {i}" for i in range(THREADS))
    finally:
        application.close()


def test_what_another_process_changed_is_never_decided_on_from_the_cache(
        world: World, settings: Settings, network: NetworkConfig) -> None:
    # A second application on the same store stands for another gunicorn worker or Celery
    # process; each has its own aggregate cache, and a decision must see the other's writes.
    application = world.application
    assert application.repository.cache is not None
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    seen = world.referral(referral_id).version  # the organisations and the referral are cached
    other = bootstrap(settings, network=network).application
    try:
        other.referrals.accept_referral(world.nadia, referral_id)
        other.directory.remove_member(Stamp.system("test"), world.org("fsa-sachsendorf"), "anna")
    finally:
        other.close()
    assert world.referral(referral_id).version == seen + 1
    with pytest.raises(ConflictError):
        application.referrals.hold_referral(world.nadia, referral_id, "Pause",
                                            expected_version=seen)
    with pytest.raises(MembershipRequired):
        world.send(case_id)
