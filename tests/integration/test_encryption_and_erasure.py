"""Health data at rest (issue 17, finding 1): a planted name, referral reason and need note
are nowhere in plain text — not in the SQLite files, not in a pg_dump, not in any view —;
after the erasure they cannot be read even with the installation's master key, also from a
backup taken before the erasure and restored after it; the erasure needs four eyes and
leaves the pseudonymous history."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.base import ERASED, DomainError, PermissionDenied
from domain.case import SamePersonConfirms
from domain.settings import Settings
from readmodel import queries
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore
from runtime.bootstrap import StoreUnreadable, bootstrap, check_store_opens
from runtime.store_encryption import store_cipher
from testbed.world import World
from tests.conftest import POSTGRES_URL, database_url

NAME = "Zyxwvu Plantedname"
REASON = "Zyxwvu ist HIV-positiv und braucht Begleitung"
NOTE = "Zyxwvu Notiz zur Traumatisierung"
NEEDLES = (b"Zyxwvu", b"HIV-positiv", b"Plantedname")


def settings_for(url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=url, erasure_ledger=str(tmp_path / "erasures.ledger"))


def planted_case(world: World) -> tuple[UUID, UUID]:
    case_id = world.open_case(person={
        "display_name": NAME, "birth_year": 1987, "household_size": 2, "languages": ["ar"],
        "interpreter_needed": True, "district": "Sachsendorf"})
    world.application.cases.record_need(world.anna, case_id, "health.general", NOTE)
    world.consent(case_id)
    referral_id = world.application.referrals.send_referral(
        world.anna, case_id, "health.psychosocial", "urgent", world.org("psz"),
        REASON)["referral_id"]
    return case_id, referral_id


def ended(world: World, case_id: UUID, referral_id: UUID) -> None:
    world.application.referrals.cancel_referral(world.anna, referral_id,
                                                f"{NAME} zieht weg")
    world.application.cases.close_case(world.anna, case_id, f"{NAME} ist umgezogen")


def sqlite_bytes(path: Path) -> bytes:
    return b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))


def pg_dump(schema: str) -> bytes:
    return subprocess.run(["pg_dump", "--no-owner", "-n", schema, POSTGRES_URL.split("?")[0]],
                          check=True, capture_output=True, timeout=120).stdout


def plain_anywhere(data: bytes) -> list[bytes]:
    """The needles in the bytes as they are, and as PostgreSQL dumps a bytea (hex)."""
    lowered = data.lower()
    return [n for n in NEEDLES if n in data or n.hex().encode() in lowered]


def views_text(store: ViewStore) -> bytes:
    return repr(queries.dump(store)).encode()


@pytest.fixture
def system(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    url = database_url(backend, tmp_path, request)
    system = bootstrap(settings_for(url, tmp_path))
    yield system
    system.application.close()


def test_planted_person_data_is_nowhere_in_plain_text(system: Any, backend: str,
                                                      tmp_path: Path) -> None:
    world = World.build(system.application)
    case_id, referral_id = planted_case(world)
    ViewUpdater(system.application, system.read_store).catch_up()
    # The application itself reads it all back.
    case = world.case(case_id)
    assert case.person["display_name"] == NAME and case.needs["health.general"]["note"] == NOTE
    assert world.referral(referral_id).reason == REASON

    assert plain_anywhere(views_text(system.read_store)) == []
    if backend == "sqlite":
        assert plain_anywhere(sqlite_bytes(tmp_path / "events.sqlite3")) == []
    else:
        schema = system.settings.persistence_env()["POSTGRES_SCHEMA"]
        dump = pg_dump(schema)
        assert b"person_keys" in dump and b"referralnetwork_events" in dump
        assert plain_anywhere(dump) == []


def test_after_erasure_not_even_the_master_key_reads_the_person(system: Any,
                                                                tmp_path: Path) -> None:
    application = system.application
    world = World.build(application)
    case_id, referral_id = planted_case(world)
    ended(world, case_id, referral_id)

    with pytest.raises(PermissionDenied):  # a caseworker does not ask for an erasure
        application.privacy.request_erasure(world.anna, case_id, "Antrag der Person")
    application.privacy.request_erasure(world.birgit, case_id, "Antrag der Person vom 3.11.")
    with pytest.raises(PermissionDenied):  # nor does a supervisor confirm one
        application.privacy.confirm_erasure(world.birgit, case_id)
    application.privacy.confirm_erasure(world.dora, case_id)

    # Everything that was the person's reads "gelöscht" — also in a new process.
    reader = bootstrap(system.settings).application
    case = reader.repository.get(case_id)
    assert case.is_erased and case.person["display_name"] == ERASED
    assert case.person["district"] == "Sachsendorf"  # kept: routing and reports
    assert case.needs["health.general"]["note"] == ERASED
    referral = reader.repository.get(referral_id)
    assert (referral.reason, referral.status_reason) == (ERASED, ERASED)
    assert referral.status == "cancelled"  # the pseudonymous history stays
    history = [type(e).__qualname__ for e in reader.events.get(case_id)]
    assert history[-2:] == ["Case.ErasureRequested", "Case.Erased"]
    # With the master key every stored event decrypts, and still holds no trace of them.
    cipher = store_cipher(reader_master(system.settings))
    for notification in reader.notification_log.select(start=1, limit=1000):
        assert plain_anywhere(cipher.decrypt(notification.state)) == []
    with pytest.raises(DomainError):  # nothing more happens to an erased case
        reader.cases.reopen_case(world.anna, case_id, "doch nicht")


def reader_master(settings: Settings) -> bytes:
    from domain.settings import master_key

    return master_key(settings.master_key, settings.master_key_file, settings.instance_path)


def test_four_eyes_and_open_referrals(system: Any) -> None:
    application = system.application
    world = World.build(application)
    case_id, referral_id = planted_case(world)
    with pytest.raises(DomainError):  # an open case is closed first
        application.privacy.request_erasure(world.birgit, case_id, "Antrag")
    application.cases.close_case(world.anna, case_id, "umgezogen")
    application.privacy.request_erasure(world.birgit, case_id, "Antrag")
    with pytest.raises(DomainError, match="still open"):
        application.privacy.confirm_erasure(world.dora, case_id)
    application.referrals.cancel_referral(world.anna, referral_id, "umgezogen")
    application.privacy.decline_erasure(world.dora, case_id, "Aufbewahrungspflicht")
    assert world.case(case_id).erasure_request is None
    application.privacy.request_erasure(world.birgit, case_id, "Antrag, zweiter Versuch")
    application.privacy.confirm_erasure(world.dora, case_id)
    assert world.case(case_id).is_erased


def test_same_person_cannot_confirm() -> None:
    from domain.case import Case
    from domain.stamp import Stamp

    case = Case(id=UUID(int=1), reference="F-1", lead_organisation_id=UUID(int=2),
                lead_caseworker="anna", person={"display_name": "x", "district": "d"},
                housing_stage="own_flat", residence_status="gestattung",
                legal_sphere="AsylbLG", by=Stamp("anna", UUID(int=2), "caseworker", "t"))
    case.close("x", by=Stamp("anna", UUID(int=2), "caseworker", "t"))
    boss = Stamp("birgit", UUID(int=2), "supervisor", "t")
    case.request_erasure("Antrag", by=boss)
    with pytest.raises(SamePersonConfirms):
        case.erase(by=boss)


def test_a_backup_restored_after_the_erasure_does_not_bring_the_person_back(
        tmp_path: Path) -> None:
    store = tmp_path / "events.sqlite3"
    settings = settings_for(f"sqlite:///{store}", tmp_path)
    application = bootstrap(settings).application
    world = World.build(application)
    case_id, referral_id = planted_case(world)
    ended(world, case_id, referral_id)
    backup = tmp_path / "backup.sqlite3"
    source = __import__("sqlite3").connect(store)
    with __import__("sqlite3").connect(backup) as target:
        source.backup(target)  # what an operator's online backup does
    source.close()

    application.privacy.request_erasure(world.birgit, case_id, "Antrag")
    application.privacy.confirm_erasure(world.dora, case_id)
    application.close()
    for leftover in tmp_path.glob("events.sqlite3*"):
        leftover.unlink()
    shutil.copyfile(backup, store)  # restored: the keys of that day are back in the file

    restarted = bootstrap(settings).application  # the ledger is applied on start
    case = restarted.repository.get(case_id)
    assert not case.is_erased  # the erasure's events are not in the backup ...
    assert case.person["display_name"] == ERASED  # ... but the person is gone all the same
    assert restarted.repository.get(referral_id).reason == ERASED
    assert plain_anywhere(sqlite_bytes(store)) == []


def test_a_store_from_before_encryption_is_refused_with_advice(tmp_path: Path) -> None:
    store = tmp_path / "events.sqlite3"
    plain = Settings(database_url=f"sqlite:///{store}", encrypt_store=False)
    World.build(bootstrap(plain).application)
    encrypted = bootstrap(settings_for(f"sqlite:///{store}", tmp_path)).application
    with pytest.raises(StoreUnreadable, match="store encrypt"):
        check_store_opens(encrypted)


def test_an_old_store_is_encrypted_resumably_and_the_master_key_rotates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import os

    from runtime import store_encryption
    from tests.unit.test_stored_events import FIXTURE
    from web import create_app

    store = tmp_path / "old.sqlite3"
    shutil.copyfile(FIXTURE, store)
    assert b"display_name" in store.read_bytes()  # the fixture is from before encryption
    settings = settings_for(f"sqlite:///{store}", tmp_path)
    monkeypatch.setattr(store_encryption, "BATCH", 40)

    class Stopped(Exception):
        pass

    def stop_after_the_first_batch(done: int) -> None:
        raise Stopped  # the operator's Ctrl-C, the power cut

    application = bootstrap(settings).application
    with pytest.raises(Stopped):
        store_encryption.encrypt_store(application, settings,
                                       progress=stop_after_the_first_batch)
    seen: list[int] = []
    outcome = store_encryption.encrypt_store(application, settings, progress=seen.append)
    assert outcome.rewritten == outcome.events - 40 and seen[-1] == outcome.events
    assert b"display_name" not in sqlite_bytes(store)
    check_store_opens(bootstrap(settings).application)

    # Rotation, through the operator's command: a new key, the old one named.
    old_key_file = tmp_path / "old.key"
    old_key_file.write_text(base64.b64encode(reader_master(settings)).decode())
    new_key = base64.b64encode(os.urandom(32)).decode()
    rotated = Settings(database_url=settings.database_url, master_key=new_key,
                       erasure_ledger=settings.erasure_ledger, secret_key="test")
    with pytest.raises(StoreUnreadable):
        check_store_opens(bootstrap(rotated).application)
    app = create_app(rotated, config={"TESTING": True, "NUDGE_WORKERS": False})
    result = app.test_cli_runner().invoke(
        args=["store", "encrypt", "--previous-key-file", str(old_key_file)])
    assert result.exit_code == 0, result.output
    assert f"{outcome.events} events: {outcome.events} written again" in result.output
    checked = app.test_cli_runner().invoke(args=["verify-store"])  # linked anew
    assert checked.exit_code == 0 and f"Intact: {outcome.events} events" in checked.output
    reader = bootstrap(rotated).application
    check_store_opens(reader)
    names = {a.person["display_name"] for a in (reader.repository.get(UUID(i)) for i in
             _case_ids(store))}
    assert names and ERASED not in names  # the person keys were wrapped again, not lost
    with pytest.raises(StoreUnreadable):
        check_store_opens(bootstrap(settings).application)  # the old key opens nothing


def _case_ids(store: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(store) as conn:
        return [row[0] for row in conn.execute(
            "SELECT originator_id FROM stored_events WHERE topic = 'domain.case:Case.Opened'")]


def test_cases_past_the_retention_period_are_listed_and_erased_on_confirmation(
        system: Any) -> None:
    from datetime import timedelta

    from readmodel.store import ts

    application = system.application
    world = World.build(application)
    now = application.clock()
    months = application.network.retention_months
    old, recent = world.open_case(), world.open_case()
    application.clock = lambda: now - timedelta(days=31 * months + 5)
    application.cases.close_case(world.anna, old, "umgezogen")
    application.clock = lambda: now - timedelta(days=20)
    application.cases.close_case(world.anna, recent, "umgezogen")
    application.clock = lambda: now
    updater = ViewUpdater(application, system.read_store)
    updater.catch_up()
    cutoff = ts(now - timedelta(days=30.44 * months))
    due = queries.erasure_work(system.read_store, cutoff or "")["due"]
    assert [row["case_id"] for row in due] == [str(old)]

    with pytest.raises(DomainError, match="retention period"):
        application.privacy.erase_after_retention(world.dora, recent)
    with pytest.raises(PermissionDenied):
        application.privacy.erase_after_retention(world.birgit, old)
    application.privacy.erase_after_retention(world.dora, old)
    case = world.case(old)
    assert case.is_erased and case.person["display_name"] == ERASED
    requested, erased = list(application.events.get(old))[-2:]
    assert (requested.by.user, erased.by.user) == ("system", "dora")  # two actors
    updater.catch_up()
    assert queries.erasure_work(system.read_store, cutoff or "")["due"] == []
