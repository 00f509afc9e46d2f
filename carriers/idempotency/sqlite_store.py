"""The embedded label store: one SQLite file, WAL mode, stdlib sqlite3 in worker threads.

One connection per store, guarded by a lock, so concurrent coroutines are serialized.
Several processes may share the file: the claim is ``INSERT ... ON CONFLICT DO NOTHING``
inside ``BEGIN IMMEDIATE``, updates are single compare-and-swap statements on the claim
token, and ``busy_timeout`` makes writers queue instead of failing.

Each label row carries its owner (``owner``: the buyer's principal key, ``warehouse``). A file
written before owners were kept gains both columns when first opened; the owner is filled in
from the label's idempotency record while that record lives, and labels left without one
are seen only by operators (``carriers.tenancy``).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from carriers.idempotency.records import IdempotencyRecord, StoredLabel
from carriers.models import Label
from carriers.tenancy import LabelOwner

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_records (
    client_id  TEXT NOT NULL,
    idem_key   TEXT NOT NULL,
    token      TEXT NOT NULL,
    state      TEXT NOT NULL,
    label_id   TEXT NOT NULL,
    record     TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (client_id, idem_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_records_expiry ON idempotency_records (expires_at);
CREATE TABLE IF NOT EXISTS labels (
    label_id   TEXT PRIMARY KEY,
    label      TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    owner      TEXT,
    warehouse  TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS labels_expiry ON labels (expires_at);
"""
# columns added since the first schema: (name, declaration)
_LABEL_COLUMNS = (("owner", "TEXT"), ("warehouse", "TEXT"))
_PURGE_EVERY = 1000


class SqliteIdempotencyStore:
    def __init__(self, path: str | os.PathLike[str], *, label_ttl_seconds: float = 120 * 86400,
                 busy_timeout_seconds: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = os.fspath(path)
        self._label_ttl = label_ttl_seconds
        self._busy_timeout = busy_timeout_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._claims = 0

    async def claim(self, record: IdempotencyRecord) -> tuple[IdempotencyRecord, bool]:
        now = self._clock()

        def work(conn: sqlite3.Connection) -> tuple[IdempotencyRecord, bool]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "DELETE FROM idempotency_records"
                    " WHERE client_id = ? AND idem_key = ? AND expires_at <= ?",
                    (record.client_id, record.key, now))
                inserted = conn.execute(
                    "INSERT INTO idempotency_records (client_id, idem_key, token, state,"
                    " label_id, record, created_at, updated_at, expires_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (client_id, idem_key) DO NOTHING",
                    _row(record)).rowcount == 1
                if inserted:
                    stored = record
                else:
                    (raw,) = conn.execute(
                        "SELECT record FROM idempotency_records"
                        " WHERE client_id = ? AND idem_key = ?",
                        (record.client_id, record.key)).fetchone()
                    stored = IdempotencyRecord.model_validate_json(raw)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return stored, inserted

        self._claims += 1
        if self._claims % _PURGE_EVERY == 0:
            await self.purge_expired()
        return await self._run(work)

    async def get(self, client_id: str, key: str) -> IdempotencyRecord | None:
        now = self._clock()

        def work(conn: sqlite3.Connection) -> IdempotencyRecord | None:
            row = conn.execute(
                "SELECT record FROM idempotency_records"
                " WHERE client_id = ? AND idem_key = ? AND expires_at > ?",
                (client_id, key, now)).fetchone()
            return None if row is None else IdempotencyRecord.model_validate_json(row[0])

        return await self._run(work)

    async def replace(self, record: IdempotencyRecord, *, expected_token: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            return conn.execute(
                "UPDATE idempotency_records SET token = ?, state = ?, label_id = ?, record = ?,"
                " updated_at = ? WHERE client_id = ? AND idem_key = ? AND token = ?",
                (record.token, record.state.value, record.label_id, record.model_dump_json(),
                 record.updated_at, record.client_id, record.key, expected_token),
            ).rowcount == 1

        return await self._run(work)

    async def release(self, client_id: str, key: str, *, expected_token: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            return conn.execute(
                "DELETE FROM idempotency_records"
                " WHERE client_id = ? AND idem_key = ? AND token = ?",
                (client_id, key, expected_token)).rowcount == 1

        return await self._run(work)

    async def save_label(self, label: Label, owner: LabelOwner | None = None) -> None:
        now = self._clock()
        key, warehouse = (owner.key, owner.warehouse) if owner else (None, None)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO labels (label_id, label, created_at, expires_at, owner, warehouse)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (label_id) DO UPDATE SET label = excluded.label,"
                " owner = coalesce(labels.owner, excluded.owner),"
                " warehouse = coalesce(labels.warehouse, excluded.warehouse)",
                (label.id, label.model_dump_json(), now, now + self._label_ttl, key, warehouse))

        await self._run(work)

    async def get_label(self, label_id: str) -> Label | None:
        stored = await self.get_stored_label(label_id)
        return None if stored is None else stored.label

    async def get_stored_label(self, label_id: str) -> StoredLabel | None:
        now = self._clock()

        def work(conn: sqlite3.Connection) -> StoredLabel | None:
            row = conn.execute("SELECT label, owner, warehouse FROM labels"
                               " WHERE label_id = ? AND expires_at > ?",
                               (label_id, now)).fetchone()
            if row is None:
                return None
            owner = LabelOwner(row[1], row[2]) if row[1] is not None else None
            return StoredLabel(Label.model_validate_json(row[0]), owner)

        return await self._run(work)

    async def mark_voided(self, label_id: str) -> Label | None:
        def work(conn: sqlite3.Connection) -> Label | None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT label FROM labels WHERE label_id = ?",
                                   (label_id,)).fetchone()
                voided = None
                if row is not None:
                    voided = Label.model_validate_json(row[0]).model_copy(update={"voided": True})
                    conn.execute("UPDATE labels SET label = ? WHERE label_id = ?",
                                 (voided.model_dump_json(), label_id))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return voided

        return await self._run(work)

    async def purge_expired(self) -> int:
        """Delete expired records and labels; returns how many rows went."""
        now = self._clock()

        def work(conn: sqlite3.Connection) -> int:
            gone = conn.execute("DELETE FROM idempotency_records WHERE expires_at <= ?",
                                (now,)).rowcount
            return gone + conn.execute("DELETE FROM labels WHERE expires_at <= ?",
                                       (now,)).rowcount

        return await self._run(work)

    async def aclose(self) -> None:
        def work() -> None:
            with self._lock:
                self._closed = True
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(work)

    async def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        def work() -> T:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the label store is closed")
                return operation(self._connection())

        return await asyncio.to_thread(work)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            try:
                _enable_wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.executescript(_SCHEMA)
                _migrate(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the owner columns to a file written by an earlier version (once, under a write
    lock, so two processes opening it together do not both alter it)."""
    if not _missing_label_columns(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name, declaration in _missing_label_columns(conn):
            conn.execute(f"ALTER TABLE labels ADD COLUMN {name} {declaration}")
        # the record of a purchase names its buyer for as long as the record lives
        conn.execute(
            "UPDATE labels SET owner = (SELECT r.client_id FROM idempotency_records r"
            " WHERE r.label_id = labels.label_id LIMIT 1) WHERE owner IS NULL")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _missing_label_columns(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    present = {row[1] for row in conn.execute("PRAGMA table_info(labels)")}
    return [(name, decl) for name, decl in _LABEL_COLUMNS if name not in present]


def _enable_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch the file to WAL (it stays so). The switch needs the file to itself and SQLite's
    busy timeout does not cover it, so a process opening the file beside another retries."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01)  # a worker thread: blocking here blocks no event loop


def _row(record: IdempotencyRecord) -> tuple[str, str, str, str, str, str, float, float, float]:
    return (record.client_id, record.key, record.token, record.state.value, record.label_id,
            record.model_dump_json(), record.created_at, record.updated_at, record.expires_at)
