"""The SQLite audit store: one file; statements on the event loop, fsyncs on a thread.

**Durable, without blocking the loop.** A record the gateway acknowledged must survive a power
cut, not only a crashed process: its WAL frames must be on the disk. ``synchronous=FULL`` would
fsync inside COMMIT, on the event loop (milliseconds on a good disk, far more on a slow one);
running every statement on a worker thread instead costs a hand-over of the GIL per statement
and per inserted row, each up to the interpreter's switch interval (5 ms) while the loop is
busy, which is when it matters. So the statements run on the loop (WAL, ``synchronous=NORMAL``:
COMMIT writes the WAL frames without waiting for the disk, a few microseconds), and then the WAL
file is fsynced on a thread of its own (one call, one hand-over), before any record of the batch
is reported written. That is the durability of ``synchronous=FULL``: SQLite replays every
complete, checksummed frame of the WAL when the file is next opened. The writer's group commit
pays one fsync per batch, not per record.

**Several processes.** Appends run in ``BEGIN IMMEDIATE``: the write lock is taken before the
chain's head row is read, so gateways sharing the file still form one chain. SQLite never waits
inside a call (``busy_timeout`` 0): while another process holds the lock the store waits with
``asyncio.sleep``, up to ``timeout_s``, then reports itself unavailable, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from gateway.audit.record import (
    GENESIS_HASH,
    INDEX_FIELDS,
    Checkpoint,
    PreparedRecord,
    Sealed,
    StoredRecord,
    seal,
)
from gateway.audit.store import RECORD_COLUMNS, RECORD_INDEXES, AuditQuery, stored
from gateway.errors import AuditUnavailableError
from gateway.sqlite_lock import FIRST_PAUSE_S, LONGEST_PAUSE_S, connect, locked

T = TypeVar("T")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit_records (
    seq     INTEGER PRIMARY KEY,
    hash    TEXT NOT NULL,
    text    TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    {", ".join(f"{name} TEXT" for name in INDEX_FIELDS)}
);
{RECORD_INDEXES}
CREATE TABLE IF NOT EXISTS audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT OR IGNORE INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}');
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    seq     INTEGER NOT NULL,
    hash    TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    mac     TEXT NOT NULL
);
"""
_COLUMNS = ", ".join(RECORD_COLUMNS)
_INSERT = (
    f"INSERT INTO audit_records ({_COLUMNS}) VALUES ({', '.join('?' for _ in RECORD_COLUMNS)})"
)


class SqliteAuditStore:
    """Audit records in an SQLite file (WAL), durable once the WAL is fsynced."""

    def __init__(self, path: str | Path, *, timeout_s: float = 5.0) -> None:
        self._path = Path(path)
        self._timeout_s = timeout_s
        self._conn: sqlite3.Connection | None = None
        self._wal_fd: int | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-fsync")
        self._closed = False

    @property
    def location(self) -> str:
        """The file."""
        return str(self._path)

    async def append(self, records: Sequence[PreparedRecord]) -> list[Sealed]:
        """Seal ``records`` after the head, in one transaction, and make it durable."""
        sealed = await self._run(lambda conn: _append(conn, records), write=True)
        return sealed

    async def add_checkpoint(self, seq: int, record_hash: str, time_us: int, mac: str) -> None:
        """Store a signed checkpoint."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO audit_checkpoints (seq, hash, time_us, mac) VALUES (?, ?, ?, ?)",
                (seq, record_hash, time_us, mac),
            )

        await self._run(work, write=True)

    async def head(self) -> Sealed:
        """The chain's head row."""

        def work(conn: sqlite3.Connection) -> Sealed:
            seq, record_hash = conn.execute("SELECT seq, hash FROM audit_head").fetchone()
            return Sealed(int(seq), str(record_hash))

        return await self._run(work)

    async def records(self, after: int, limit: int) -> list[StoredRecord]:
        """Up to ``limit`` records after ``after``, in seq order."""
        sql = f"SELECT {_COLUMNS} FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?"
        return await self._run(
            lambda conn: [stored(row) for row in conn.execute(sql, (after, limit))]
        )

    async def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint in the order written."""
        sql = "SELECT id, seq, hash, time_us, mac FROM audit_checkpoints ORDER BY id"
        return await self._run(
            lambda conn: [Checkpoint(*row) for row in conn.execute(sql).fetchall()]
        )

    async def query(self, query: AuditQuery) -> list[StoredRecord]:
        """The matching records in seq order."""
        where, params = query.where("?")
        sql = f"SELECT {_COLUMNS} FROM audit_records WHERE {where} ORDER BY seq"
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        return await self._run(lambda conn: [stored(row) for row in conn.execute(sql, params)])

    async def ping(self) -> None:
        """Open the file (creating it), take the write lock and read the head: a file that
        another process keeps locked is not fit to write to."""
        await self._run(
            lambda conn: conn.execute("SELECT seq FROM audit_head").fetchone(), lock=True
        )

    async def aclose(self) -> None:
        """Close the connection and the thread; twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._close_connection()
        self._thread.shutdown(wait=False)

    async def _run(
        self,
        work: Callable[[sqlite3.Connection], T],
        *,
        write: bool = False,
        lock: bool = False,
    ) -> T:
        """``work`` in one transaction (waiting out another writer's lock); with ``write``,
        made durable before it returns; with ``lock``, under the write lock all the same.
        Library errors become AuditUnavailableError."""
        if self._closed:
            raise AuditUnavailableError(f"audit store {self._path} is closed")
        deadline = time.monotonic() + self._timeout_s
        pause = FIRST_PAUSE_S
        while True:
            try:
                result = self._transaction(work, write or lock)
                if write:
                    await self._sync()
                return result
            except sqlite3.OperationalError as exc:
                if locked(exc) and time.monotonic() + pause < deadline:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, LONGEST_PAUSE_S)
                    continue
                self._close_connection()
                if locked(exc):
                    raise AuditUnavailableError(
                        f"audit store {self._path} unavailable: locked by another writer for "
                        f"more than {self._timeout_s:g}s"
                    ) from exc
                raise AuditUnavailableError(f"audit store {self._path} unavailable: {exc}") from exc
            except sqlite3.Error as exc:  # not a database, corrupt, a constraint broken
                self._close_connection()
                raise AuditUnavailableError(f"audit store {self._path} is unusable: {exc}") from exc
            except OSError as exc:
                self._close_connection()
                raise AuditUnavailableError(
                    f"audit store {self._path} cannot be opened or synced: {exc}"
                ) from exc

    def _transaction(self, work: Callable[[sqlite3.Connection], T], immediate: bool) -> T:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return result

    async def _sync(self) -> None:
        """fsync the WAL on the store's thread: what was committed is on the disk."""
        if self._wal_fd is None:
            self._wal_fd = os.open(f"{self._path}-wal", os.O_RDONLY | os.O_CLOEXEC)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, os.fsync, self._wal_fd)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        # synchronous NORMAL: the WAL is fsynced by _sync()
        self._conn = conn = connect(self._path, _SCHEMA)
        return conn

    def _close_connection(self) -> None:
        """Close the connection and the WAL's descriptor (opened afresh when next needed:
        after a failure, the file may have been replaced)."""
        if self._wal_fd is not None:
            fd, self._wal_fd = self._wal_fd, None
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(sqlite3.Error):
                conn.close()


def _append(conn: sqlite3.Connection, records: Sequence[PreparedRecord]) -> list[Sealed]:
    seq, prev = conn.execute("SELECT seq, hash FROM audit_head").fetchone()
    rows: list[tuple[Any, ...]] = []
    sealed: list[Sealed] = []
    for record in records:
        seq += 1
        text, record_hash = seal(seq, prev, record.exchange_json)
        rows.append(
            (seq, record_hash, text, record.time_us, *(record.index[n] for n in INDEX_FIELDS))
        )
        sealed.append(Sealed(seq, record_hash))
        prev = record_hash
    conn.executemany(_INSERT, rows)
    conn.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
    return sealed
