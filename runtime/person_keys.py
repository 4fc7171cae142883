"""The cases' own keys (crypto-shredding, :mod:`domain.sealing`) in a table of their own
beside the events, each wrapped (AES-GCM) with a key derived from the master key; and the
erasure ledger, the file of erased case ids that outlives any restored backup.

One key per case seals the case's and its referrals' fields. Erasing appends the case to the
ledger, deletes its key with SQLite's ``secure_delete`` (the pages
are overwritten, the WAL checkpointed) or rewrites PostgreSQL's table (``VACUUM FULL``), and
forgets them in this process; other processes forget them when they read the case's
``Erased`` event. On every start the ledger is applied again, so a backup of the database
restored after an erasure does not bring the person back."""

from __future__ import annotations

import os
import threading
from base64 import b64decode, b64encode
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.settings import Settings
from readmodel.store import Cursor, ViewStore

TABLE = "person_keys (case_id TEXT PRIMARY KEY, wrapped TEXT NOT NULL, " \
        "created_at TEXT NOT NULL)"
CACHE_SIZE = 20000


class ErasureLedger:
    """One line per erasure: time and case id, nothing of the person."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, case_id: UUID) -> None:
        if not self.path.parent.exists():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        line = f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} {case_id}\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def case_ids(self) -> list[UUID]:
        if not self.path.exists():
            return []
        ids = []
        for line in self.path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                ids.append(UUID(parts[1]))
        return ids


class PersonKeyStore:
    def __init__(self, settings: Settings, *, wrapping_key: bytes | None = None,
                 ledger: ErasureLedger | None = None, cache_size: int = CACHE_SIZE) -> None:
        self.store = ViewStore(settings, prefix="")
        self.ledger = ledger or ErasureLedger(settings.erasure_ledger_path)
        self._wrap = AESGCM(wrapping_key or settings.derived_key("person keys"))
        self._cache: OrderedDict[UUID, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        with self.store.transaction() as cur:
            if self.store.dialect == "postgres":
                # Processes starting together would collide in the catalogue.
                cur.execute("SELECT pg_advisory_xact_lock(4242002)")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {TABLE}")

    # -- keys -----------------------------------------------------------------------------------
    def create(self, case_id: UUID) -> bytes:
        """A new key for the case; its existing one if it has one already (a command decided
        again, a migration resumed)."""
        with self.store.transaction() as cur:
            cur.execute("INSERT INTO person_keys VALUES (?, ?, ?) ON CONFLICT (case_id) "
                        "DO NOTHING", (str(case_id), self._wrapped(case_id, os.urandom(32)),
                                       datetime.now(timezone.utc).isoformat()))
            row = cur.one("SELECT wrapped FROM person_keys WHERE case_id = ?", (str(case_id),))
        assert row is not None
        key = self._unwrapped(case_id, row["wrapped"])
        self._remember(case_id, key)
        return key

    def key(self, case_id: UUID) -> bytes | None:
        with self._lock:
            cached = self._cache.get(case_id)
            if cached is not None:
                self._cache.move_to_end(case_id)
                return cached
        with self.store.reading() as cur:
            row = cur.one("SELECT wrapped FROM person_keys WHERE case_id = ?", (str(case_id),))
        if row is None:
            return None
        key = self._unwrapped(case_id, row["wrapped"])
        self._remember(case_id, key)
        return key

    def forget_case(self, case_id: UUID) -> None:
        with self._lock:
            self._cache.pop(case_id, None)

    # -- erasure -------------------------------------------------------------------------------
    def destroy_case(self, case_id: UUID) -> None:
        self.ledger.append(case_id)
        self.destroy(case_ids=[case_id])

    def apply_ledger(self) -> int:
        """Destroys the keys of every erased case still found (after a restored backup);
        returns how many keys that were."""
        return self.destroy(case_ids=self.ledger.case_ids())

    def destroy(self, case_ids: list[UUID]) -> int:
        destroyed = 0
        for start in range(0, len(case_ids), 500):
            chunk = [str(c) for c in case_ids[start:start + 500]]
            with self.store.transaction() as cur:
                if self.store.dialect == "sqlite":
                    cur.execute("PRAGMA secure_delete = ON")
                marks = ", ".join("?" for _ in chunk)
                destroyed += cur.execute(f"DELETE FROM person_keys WHERE case_id IN ({marks})",
                                         chunk).rowcount
        for case_id in case_ids:
            self.forget_case(case_id)
        if destroyed:
            self._scrub()
        return destroyed

    def _scrub(self) -> None:
        """No copy of a destroyed key stays in the database's files."""
        conn = self.store.connection()
        if self.store.dialect == "sqlite":
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            was = conn.autocommit  # the views' connections are in autocommit already
            conn.commit()
            conn.autocommit = True
            try:
                conn.execute("VACUUM FULL person_keys")
            finally:
                conn.autocommit = was

    # -- rotation ------------------------------------------------------------------------------
    def rewrap(self, old_wrapping_key: bytes, cur: Cursor) -> int:
        """Wraps every key again with this store's wrapping key (master key rotation)."""
        old = AESGCM(old_wrapping_key)
        rows = cur.all("SELECT case_id, wrapped FROM person_keys")
        for row in rows:
            case_id = UUID(row["case_id"])
            raw = b64decode(row["wrapped"])
            try:
                key = old.decrypt(raw[:12], raw[12:], case_id.bytes)
            except Exception:
                continue  # wrapped with the new key already (a resumed rotation)
            cur.execute("UPDATE person_keys SET wrapped = ? WHERE case_id = ?",
                        (self._wrapped(case_id, key), str(case_id)))
        return len(rows)

    # -- helpers -------------------------------------------------------------------------------
    def _wrapped(self, case_id: UUID, key: bytes) -> str:
        nonce = os.urandom(12)
        return b64encode(nonce + self._wrap.encrypt(nonce, key, case_id.bytes)).decode()

    def _unwrapped(self, case_id: UUID, wrapped: str) -> bytes:
        raw = b64decode(wrapped)
        return self._wrap.decrypt(raw[:12], raw[12:], case_id.bytes)

    def _remember(self, case_id: UUID, key: bytes) -> None:
        with self._lock:
            self._cache[case_id] = key
            self._cache.move_to_end(case_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def close(self) -> None:
        self.store.close()
