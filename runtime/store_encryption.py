"""Encrypting an existing store, and rotating the master key (``flask --app web store
encrypt``, docs/operations.md "Keys").

Each stored event is read with what wrote it — plain JSON (a store of a version before
encryption) or the previous master key — and written again in place as today's code writes
it: the person's fields sealed with the case's own key, the whole state encrypted with the
current store key. An event that the current key opens already is left as it is, so the
command can be stopped and run again: it goes on where it stopped. Snapshots are dropped
(they are made again from the events); the file (SQLite) or table (PostgreSQL) is then
rewritten so that no plain copy stays in free pages."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import Environment

from domain.application import ReferralNetwork
from domain.referral import Referral
from domain.sealing import CASE_OF, SEALED_FIELDS
from domain.settings import Settings, derive_key
from readmodel.store import ViewStore

BATCH = 500


@dataclass
class Outcome:
    events: int  # stored events in the store
    rewritten: int  # of them written again now
    keys_rewrapped: int


def store_cipher(master: bytes) -> AESCipher:
    return AESCipher(Environment(env={
        "CIPHER_KEY": b64encode(derive_key(master, "event store")).decode()}))


def encrypt_store(application: ReferralNetwork, settings: Settings, *,
                  previous_master: bytes | None = None,
                  progress: Callable[[int], None] = lambda done: None) -> Outcome:
    """Rewrites every event of ``application``'s store that its cipher does not open yet;
    ``progress`` is told how many events were handled after each batch."""
    new_mapper = application.mapper
    if new_mapper.cipher is None or application.person_keys is None:
        raise ValueError("the store is not configured for encryption (STORE_ENCRYPTION)")
    new_cipher = new_mapper.cipher
    old_cipher = store_cipher(previous_master) if previous_master else None
    plain = Mapper(transcoder=application.construct_transcoder())
    db = ViewStore(settings, prefix="")
    table = application.recorder.events_table_name  # type: ignore[attr-defined]
    position = "rowid" if db.dialect == "sqlite" else "notification_id"
    total = _count(db, table)
    rewritten = done = 0
    last = 0
    cases = ReferralCases(db, table, plain, new_mapper, old_cipher)
    try:
        while True:
            with db.reading() as cur:
                rows = cur.all(f"SELECT {position} AS position, originator_id, "
                               f"originator_version, topic, state FROM {table} "
                               f"WHERE {position} > ? ORDER BY {position} LIMIT {BATCH}",
                               (last,))
            if not rows:
                break
            # Sealed before the write transaction: sealing makes the cases' keys, in a
            # connection of their own that must not wait for this one's lock.
            updates = [(_rewritten(row, new_mapper, plain, old_cipher, cases),
                        row["originator_id"], row["originator_version"])
                       for row in rows if not _opens(new_cipher, bytes(row["state"]))]
            with db.transaction() as cur:
                for update in updates:
                    cur.execute(f"UPDATE {table} SET state = ? WHERE originator_id = ? "
                                "AND originator_version = ?", update)
            rewritten += len(updates)
            last = rows[-1]["position"]
            done += len(rows)
            progress(done)
        rewrapped = 0
        if previous_master:
            with db.transaction() as cur:
                rewrapped = application.person_keys.rewrap(  # type: ignore[attr-defined]
                    derive_key(previous_master, "person keys"), cur)
        _drop_snapshots(db, table.replace("_events", "_snapshots") if db.dialect == "postgres"
                        else "snapshots")
        if rewritten:
            _rewrite_files(db, table)
    finally:
        db.close()
    return Outcome(events=total, rewritten=rewritten, keys_rewrapped=rewrapped)


def _count(db: ViewStore, table: str) -> int:
    with db.reading() as cur:
        row = cur.one(f"SELECT COUNT(*) AS n FROM {table}")
    return int(row["n"]) if row else 0


class ReferralCases(dict):  # type: ignore[type-arg]
    """Referral id → its case, for sealing the referral's later events with the case's key:
    taken from the referral's first event (which names the case), here or in the store."""

    def __init__(self, db: ViewStore, table: str, plain: Mapper,  # type: ignore[type-arg]
                 new_mapper: Mapper, old_cipher: AESCipher | None) -> None:  # type: ignore[type-arg]
        super().__init__()
        self.db, self.table, self.plain = db, table, plain
        self.new_cipher, self.old_cipher = new_mapper.cipher, old_cipher

    def __missing__(self, referral_id: UUID) -> UUID:
        with self.db.reading() as cur:
            row = cur.one(f"SELECT originator_id, originator_version, topic, state FROM "
                          f"{self.table} WHERE originator_id = ? AND originator_version = 1",
                          (referral_id if self.db.dialect == "postgres" else str(referral_id),))
        if row is None:
            raise ValueError(f"referral {referral_id} has no first event")
        state = bytes(row["state"])
        if _opens(self.new_cipher, state):
            state = self.new_cipher.decrypt(state)  # type: ignore[union-attr]
        else:
            state = _plain(state, self.old_cipher)
        created = self.plain.to_domain_event(_stored(row, state))
        self[referral_id] = created.case_id
        return created.case_id  # type: ignore[no-any-return]


def _stored(row: dict[str, Any], state: bytes) -> StoredEvent:
    return StoredEvent(originator_id=UUID(str(row["originator_id"])),
                       originator_version=row["originator_version"], topic=row["topic"],
                       state=state)


def _rewritten(row: dict[str, Any], new_mapper: Mapper, plain: Mapper,  # type: ignore[type-arg]
               old_cipher: AESCipher | None, cases: ReferralCases) -> bytes:
    event = plain.to_domain_event(_stored(row, _plain(bytes(row["state"]), old_cipher)))
    if isinstance(event, Referral.Created):
        cases[event.originator_id] = event.case_id
        token = CASE_OF.set({})
    elif isinstance(event, Referral.Event) and SEALED_FIELDS.get(type(event)):
        token = CASE_OF.set({event.originator_id: cases[event.originator_id]})
    else:
        token = CASE_OF.set({})
    try:
        return new_mapper.to_stored_event(event).state
    finally:
        CASE_OF.reset(token)


def _opens(cipher: Any, state: bytes) -> bool:
    try:
        cipher.decrypt(state)
    except ValueError:
        return False
    return True


def _plain(state: bytes, old_cipher: AESCipher | None) -> bytes:
    """The event's JSON: decrypted with the previous key, or as it is in a store from before
    encryption (or one whose rotation stopped halfway)."""
    if old_cipher is not None:
        try:
            return old_cipher.decrypt(state)
        except ValueError:
            pass
    if not state.startswith(b"{"):
        raise ValueError("an event is neither plain nor opened by the previous or the current "
                         "master key: is --previous-key-file the key this store had?")
    return state


def _drop_snapshots(db: ViewStore, table: str) -> None:
    with db.transaction() as cur:
        if db.dialect == "sqlite":
            found = cur.one("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                            (table,))
        else:
            found = cur.one("SELECT to_regclass(?) AS name", (table,))
            found = found if found and found["name"] else None
        if found:
            cur.execute(f"DELETE FROM {table}")


def _rewrite_files(db: ViewStore, table: str) -> None:
    conn = db.connection()
    if db.dialect == "sqlite":
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        was = conn.autocommit  # the views' connections are in autocommit already
        conn.commit()
        conn.autocommit = True
        try:
            conn.execute(f"VACUUM FULL {table}")
        finally:
            conn.autocommit = was
