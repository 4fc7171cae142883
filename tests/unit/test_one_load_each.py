"""Within one request each aggregate is read from the store once
(:meth:`ReferralNetwork.one_load_each`), without changing what a command decides or saves."""

from __future__ import annotations

import pytest

from domain.base import ConflictError, DomainError
from domain.case import Case
from domain.organisation import Organisation
from domain.stamp import Role
from testbed.world import World


def count_store_reads(world: World, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    reads: list[object] = []
    get = world.application.repository.get

    def counted(aggregate_id, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(aggregate_id)
        return get(aggregate_id, **kwargs)
    monkeypatch.setattr(world.application.repository, "get", counted)
    return reads


def test_a_referral_sent_within_one_request_reads_each_aggregate_once(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    reads = count_store_reads(world, monkeypatch)
    with world.application.one_load_each():
        # What the web reads before the command: the viewer's organisation, the case, the
        # chosen receiver.
        world.application.accounts.require_member(world.anna)
        world.application.find(Case, case_id)
        world.application.find(Organisation, world.org("psz"))
        world.application.referrals.send_referral(
            world.anna, case_id, "health.psychosocial", "urgent", world.org("psz"), "Bitte.")
    assert sorted(map(str, reads)) == sorted(map(str, {
        world.org("fsa-sachsendorf"), case_id, world.org("psz")}))
    # Outside the scope every load reads the store again.
    reads.clear()
    world.application.find(Case, case_id)
    world.application.find(Case, case_id)
    assert len(reads) == 2


def test_a_command_that_fails_leaves_nothing_of_its_changes_behind(world: World) -> None:
    case_id = world.open_case()
    with world.application.one_load_each():
        case = world.application.find(Case, case_id)
        assert case is not None
        version = case.version

        def decide():  # type: ignore[no-untyped-def]
            loaded = world.application.load(Case, case_id)
            loaded.record_need("language", "", by=world.anna)  # changed, then refused
            raise DomainError("refused after a change")
        with pytest.raises(DomainError):
            world.application.execute("test", world.anna, decide)
        again = world.application.find(Case, case_id)
        assert again is not None and again is not case
        assert again.version == version and "language" not in again.needs


def test_a_command_on_a_version_read_before_another_save_conflicts(world: World) -> None:
    case_id = world.open_case()
    with world.application.one_load_each():
        world.application.find(Case, case_id)
        # Another request records a need meanwhile (outside this scope: its own loads).
        with world.application.one_load_each():
            world.application.cases.record_need(world.anna, case_id, "language")
        with pytest.raises(ConflictError):
            world.application.cases.record_need(world.anna, case_id, "benefits")
        # The failed command forgot its loads: the next try decides on the fresh case.
        world.application.cases.record_need(world.anna, case_id, "benefits")
    case = world.case(case_id)
    assert {"language", "benefits"} <= set(case.needs)


def test_an_organisation_read_without_a_copy_never_changes_under_its_reader(
        world: World) -> None:
    """Read-only finds hand out the cache's own object; newer events go into a copy that
    takes its place, so a reader in another thread never sees it change midway."""
    psz = world.org("psz")
    seen = world.application.find(Organisation, psz, read_only=True)
    assert seen is not None
    version, members = seen.version, dict(seen.members)
    world.application.directory.add_member(world.as_("root", "koordinierungsstelle"), psz,
                                           "claudia", Role.CASEWORKER)
    newer = world.application.find(Organisation, psz, read_only=True)
    assert newer is not None and newer is not seen and "claudia" in newer.members
    assert (seen.version, seen.members) == (version, members)  # the reader's is as it was
