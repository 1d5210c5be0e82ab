"""The SQLite idempotency store: one table in one file, shared by every process that opens it."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from gateway.dedup._base import Claim, check_duration, check_entry
from gateway.errors import DedupUnavailableError

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('claimed', 'done')),
    owner       TEXT NOT NULL,
    message_id  TEXT,
    lease_until REAL,
    expires_at  REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_expires_at ON idempotency (expires_at);
"""

_SELECT = "SELECT state, owner, message_id, expires_at FROM idempotency WHERE scope = ? AND key = ?"
_UPSERT = """
INSERT INTO idempotency (scope, key, state, owner, message_id, lease_until, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (scope, key) DO UPDATE SET
    state = excluded.state, owner = excluded.owner, message_id = excluded.message_id,
    lease_until = excluded.lease_until, expires_at = excluded.expires_at
"""
_RELEASE = "DELETE FROM idempotency WHERE scope = ? AND key = ? AND state = 'claimed' AND owner = ?"
_PURGE = "DELETE FROM idempotency WHERE expires_at <= ?"

# A row as _SELECT reads it: (state, owner, message_id, expires_at).
_Row = tuple[str, str, str | None, float]


class SqliteIdempotencyStore:
    """Idempotency entries in an SQLite file (WAL), worked on by one thread off the event loop.

    A claimed row's ``expires_at`` is its ``lease_until``; a done row's is the end of its
    retention, so one indexed comparison finds every expired row. ``claim``, ``complete`` and
    ``release`` each run in one ``BEGIN IMMEDIATE`` transaction: the write lock is taken before
    the row is read, so coroutines, store instances and processes on one file are serialized.
    The clock is read inside the transaction. Should the awaiting coroutine be cancelled, the
    transaction already handed to the thread still runs to its end (a claim then lapses with
    its lease).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        timeout_s: float = 5.0,
    ) -> None:
        self._path = Path(path)
        self._clock = clock
        self._timeout_s = timeout_s
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dedup-sqlite")
        # Create the directory, file and table now, on the store's own thread; should that fail,
        # the first operation tries again and reports the failure.
        self._executor.submit(self._connection)

    async def claim(
        self, scope: str, key: str, *, owner: str, lease_s: float, retention_s: float
    ) -> Claim:
        """Atomically claim ``key`` in ``scope`` for ``owner``, or say why not."""
        check_entry(scope, key, owner)
        check_duration("lease_s", lease_s)
        check_duration("retention_s", retention_s)
        return await self._run(self._claim, scope, key, owner, lease_s)

    async def complete(
        self, scope: str, key: str, *, owner: str, message_id: str, retention_s: float
    ) -> bool:
        """Mark ``owner``'s claim done with ``message_id``; False if someone else holds it."""
        check_entry(scope, key, owner)
        check_duration("retention_s", retention_s)
        return await self._run(self._complete, scope, key, owner, message_id, retention_s)

    async def release(self, scope: str, key: str, *, owner: str) -> None:
        """Forget ``owner``'s claim (the attempt failed), leaving anything else alone."""
        check_entry(scope, key, owner)
        await self._run(self._release, scope, key, owner)

    async def purge_expired(self) -> int:
        """Delete done rows past their retention and claims past their lease; return how many."""
        return await self._run(self._purge)

    async def ping(self) -> None:
        """Raise DedupUnavailableError unless the file can be opened and the table read."""
        await self._run(self._ping)

    async def aclose(self) -> None:
        """Close the connection and let the store's thread end; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        finally:
            self._executor.shutdown(wait=False)

    # The event loop's side.

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        """Run ``work(*args)`` on the store's thread, translating SQLite's failures."""
        if self._closed:
            raise DedupUnavailableError("the idempotency store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, work, *args)
        except sqlite3.OperationalError as exc:
            raise DedupUnavailableError(
                f"idempotency store {self._path} unavailable: {exc}"
            ) from exc
        except OSError as exc:
            raise DedupUnavailableError(
                f"idempotency store {self._path} cannot be created: {exc}"
            ) from exc

    # The store's thread: everything below touches the disk.

    def _connection(self) -> sqlite3.Connection:
        """The open connection; the first call creates the directory, the file and the table."""
        if self._conn is not None:
            return self._conn
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, timeout=self._timeout_s, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
        except Exception:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _transaction(self, work: Callable[[sqlite3.Connection, float], T]) -> T:
        """Run ``work(conn, now)`` inside BEGIN IMMEDIATE; commit, or roll back on any error."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn, self._clock())
            conn.execute("COMMIT")
        except Exception:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return result

    @staticmethod
    def _live(conn: sqlite3.Connection, scope: str, key: str, now: float) -> _Row | None:
        """The entry for (scope, key) unless there is none or it has expired."""
        row: _Row | None = conn.execute(_SELECT, (scope, key)).fetchone()
        return row if row is not None and row[3] > now else None

    def _claim(self, scope: str, key: str, owner: str, lease_s: float) -> Claim:
        def work(conn: sqlite3.Connection, now: float) -> Claim:
            row = self._live(conn, scope, key, now)
            if row is not None:
                state, _, message_id, _ = row
                return Claim("done", message_id) if state == "done" else Claim("busy")
            lease_until = now + lease_s
            conn.execute(_UPSERT, (scope, key, "claimed", owner, None, lease_until, lease_until))
            return Claim("claimed")

        return self._transaction(work)

    def _complete(
        self, scope: str, key: str, owner: str, message_id: str, retention_s: float
    ) -> bool:
        def work(conn: sqlite3.Connection, now: float) -> bool:
            row = self._live(conn, scope, key, now)
            if row is not None:
                state, holder, recorded, _ = row
                if state == "done":
                    return recorded == message_id
                if holder != owner:
                    return False
            values = (scope, key, "done", owner, message_id, None, now + retention_s)
            conn.execute(_UPSERT, values)
            return True

        return self._transaction(work)

    def _release(self, scope: str, key: str, owner: str) -> None:
        def work(conn: sqlite3.Connection, now: float) -> None:
            conn.execute(_RELEASE, (scope, key, owner))

        self._transaction(work)

    def _purge(self) -> int:
        return self._transaction(lambda conn, now: conn.execute(_PURGE, (now,)).rowcount)

    def _ping(self) -> None:
        self._connection().execute("SELECT 1 FROM idempotency LIMIT 1").fetchall()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
