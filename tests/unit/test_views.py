"""The projected views: equal to a fresh rebuild after many random commands, unchanged by a
second run, and showing what the inbox, outbox, timeline, deadlines and load promise
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from domain.application import ReferralNetwork
from domain.settings import Settings
from tests.workload import random_commands
from testbed.world import World
from readmodel import queries
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore


def rebuilt(application: ReferralNetwork, settings: Settings) -> dict:
    fresh = ViewUpdater(application, ViewStore(settings, prefix="rebuild_"))
    fresh.rebuild()
    return queries.dump(fresh.store)


def test_views_equal_a_rebuild_after_many_random_commands(
        world: World, updater: ViewUpdater, application: ReferralNetwork,
        settings: Settings) -> None:
    recorded = random_commands(world, 300)
    assert recorded > 150
    # Caught up in several rounds, as nudges and the beat would.
    updater.catch_up(max_batches=3)
    random_commands(world, 100, seed=8)
    updater.catch_up()
    views = queries.dump(updater.store)
    assert views == rebuilt(application, settings)
    assert updater.lag().behind == 0
    assert len(views["referrals"]) > 30 and len(views["timeline"]) > 300
    # A second run changes nothing.
    assert updater.catch_up() == 0
    assert queries.dump(updater.store) == views
    # The inbox page counts and lists from the inbox it read what the navigation and the
    # waiting list ask for elsewhere.
    overdue = 0
    for organisation_id in world.ids.values():
        inbox = queries.inbox(updater.store, str(organisation_id))
        requests = queries.person_requests(updater.store, str(organisation_id))
        for days in (0, 3, 40):
            now = application.clock() + timedelta(days=days)
            counts = queries.inbox_counts(updater.store, str(organisation_id), now)
            assert queries.inbox_counted(inbox, requests, now) == counts
            overdue += counts[1]
        assert queries.waiting_among(inbox) == queries.waiting_list(updater.store,
                                                                    str(organisation_id))
    assert overdue > 0


def test_the_rows_kept_in_memory_in_a_batch_are_the_rows_the_tables_hold(
        world: World, updater: ViewUpdater, application: ReferralNetwork) -> None:
    """A projector reads a referral it wrote in the same transaction from memory
    (readmodel/projections/written.py): column for column what the table holds."""
    random_commands(world, 200, seed=3)
    notifications = application.notification_log.select(start=1, limit=1000)
    workflow, reports = updater.projectors[0], updater.projectors[1]
    with updater.store.transaction() as cur:
        updater.project(cur, notifications)
        compared = 0
        for projector, table in ((workflow, "referrals"), (reports, "report_referrals")):
            for row in cur.all(f"SELECT * FROM {{p}}{table}"):
                assert projector._referrals.get(cur, row["referral_id"]) == row, table
                compared += 1
    assert compared > 40


def test_the_inbox_is_sorted_by_deadline_and_the_load_counts_accepted_referrals(
        world: World, updater: ViewUpdater) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    routine = world.send(case_id, urgency="routine")
    crisis = world.send(case_id, urgency="crisis")
    urgent = world.send(case_id, urgency="urgent")
    world.application.referrals.accept_referral(world.nadia, urgent)
    updater.catch_up()
    inbox = queries.inbox(updater.store, str(world.org("psz")))
    assert [row["referral_id"] for row in inbox] == [str(crisis), str(routine), str(urgent)]
    assert [row["next_stage"] for row in inbox] == ["receive", "receive", "first_contact"]
    outbox = queries.outbox(updater.store, str(world.org("fsa-sachsendorf")))
    assert {row["referral_id"] for row in outbox} == {str(routine), str(crisis), str(urgent)}
    load = {(r["organisation_id"], r["service_id"]): r["active_referrals"]
            for r in queries.service_load(updater.store)}
    assert load[(str(world.org("psz")), "beratung")] == 1
    timeline = queries.timeline(updater.store, str(case_id))
    assert [row["event"] for row in timeline][:2] == ["Case.Opened", "Case.NeedRecorded"]
    assert any(row["event"] == "Referral.Accepted" and row["actor_user"] == "nadia"
               for row in timeline)


def test_on_hold_pauses_the_clock_and_acting_stops_escalation(
        world: World, updater: ViewUpdater) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    world.application.referrals.accept_referral(world.nadia, referral_id)
    updater.catch_up()
    with updater.store.reading() as cur:
        assert cur.one("SELECT stage FROM {p}deadlines WHERE referral_id = ?",
                       (str(referral_id),))["stage"] == "first_contact"
    world.application.referrals.hold_referral(world.nadia, referral_id, "Reha")
    updater.catch_up()
    with updater.store.reading() as cur:
        assert cur.one("SELECT * FROM {p}deadlines WHERE referral_id = ?",
                       (str(referral_id),)) is None
        row = cur.one("SELECT holds FROM {p}referrals WHERE referral_id = ?",
                      (str(referral_id),))
    assert json.loads(row["holds"])[0][1] is None


def test_views_need_a_real_database() -> None:
    with pytest.raises(ValueError, match="not :memory:"):
        ViewStore(Settings(database_url="sqlite:///:memory:"))


def test_rebuild_prefix_keeps_tables_apart(application: ReferralNetwork, settings: Settings,
                                          tmp_path: Path) -> None:
    a = ViewUpdater(application, ViewStore(settings))
    b = ViewUpdater(application, ViewStore(settings, prefix="other_"))
    World.build(application)
    a.catch_up()
    assert b.position() == 0 and a.position() > 0


def test_views_of_an_older_schema_are_rebuilt_on_first_use(
        world: World, application: ReferralNetwork, settings: Settings) -> None:
    """An upgrade that changes a view table's columns: the first process to open the views
    drops the old tables and projects every event again; kept tables stay."""
    from readmodel import runs
    from readmodel.schema import SCHEMA_VERSION, create_tables

    updater = ViewUpdater(application, ViewStore(settings))
    random_commands(world, 60)
    updater.catch_up()
    before = queries.dump(updater.store)
    with updater.store.transaction() as cur:  # as the previous version left them
        cur.execute("DELETE FROM {p}positions WHERE projection = 'schema'")
        cur.execute("DROP TABLE {p}service_load")
        cur.execute("CREATE TABLE {p}service_load (organisation_id TEXT, service_id TEXT, "
                    "name TEXT, needs TEXT, capacity INTEGER, active_referrals INTEGER)")
    runs.record_success(updater.store, runs.MAIL)
    create_tables(updater.store)
    assert queries.position(updater.store, "schema") == SCHEMA_VERSION
    assert updater.position() == 0, "the views start again from the first event"
    assert runs.last_runs(updater.store)[runs.MAIL].succeeded_at is not None
    updater.catch_up()
    assert queries.dump(updater.store) == before
    create_tables(updater.store)  # the current schema: nothing is dropped again
    assert updater.position() > 0
