"""The SQLite idempotency store: one table in one file, shared by every process that opens it."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gateway.dedup._base import Claim, check_duration, check_entry
from gateway.dedup._batch import Batcher, Op, fail_all
from gateway.errors import DedupUnavailableError
from gateway.sqlite_lock import FIRST_PAUSE_S, LONGEST_PAUSE_S, connect, locked

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

_UPSERT = """
INSERT INTO idempotency (scope, key, state, owner, message_id, lease_until, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (scope, key) DO UPDATE SET
    state = excluded.state, owner = excluded.owner, message_id = excluded.message_id,
    lease_until = excluded.lease_until, expires_at = excluded.expires_at
"""
_SELECT_MANY = (
    "SELECT key, state, owner, message_id, expires_at FROM idempotency "
    "WHERE scope = ? AND key IN ({marks})"
)
#: keys looked up by one query of the bulk operations (SQLite allows 32766 parameters)
IN_CHUNK = 500
_CLAIMED, _BUSY = Claim("claimed"), Claim("busy")
_RELEASE = "DELETE FROM idempotency WHERE scope = ? AND key = ? AND state = 'claimed' AND owner = ?"
_PURGE = (
    "DELETE FROM idempotency WHERE rowid IN "
    "(SELECT rowid FROM idempotency WHERE expires_at <= ? LIMIT ?)"
)
#: expired rows deleted per transaction by purge_expired()
PURGE_CHUNK = 5000
_PING = "SELECT 1 FROM idempotency LIMIT 1"

# An entry as _live_many keeps it: (state, owner, message_id, expires_at).
_Row = tuple[str, str, str | None, float]
#: one operation: work(conn, now), run inside a transaction; its answer goes to its caller
_Work = Callable[[sqlite3.Connection, float], Any]


class SqliteIdempotencyStore:
    """Idempotency entries in an SQLite file (WAL), worked on from the event loop's thread.

    A claimed row's ``expires_at`` is its ``lease_until``; a done row's is the end of its
    retention, so one indexed comparison finds every expired row.

    **Transactions.** Every operation runs inside ``BEGIN IMMEDIATE``: the write lock is taken
    before a row is read, so coroutines, store instances and processes on one file are
    serialized. Operations asked for while a transaction is being written wait and then go
    together into the next one (a group commit): one lock, one commit, one WAL write for all
    of them, each applied in the order asked, each answered on its own. The clock is read once
    per transaction.

    **On the loop's thread.** A transaction is a few statements on a local file (WAL,
    ``synchronous=NORMAL``: no fsync per commit), cheaper than a hand-off to a thread. SQLite
    never waits inside a call (``busy_timeout`` is 0): when another process holds the write
    lock, the store waits with ``asyncio.sleep``, up to ``timeout_s``, then reports itself
    unavailable to every operation of that transaction. An operation whose caller is cancelled
    still happens if its transaction was already under way; a claim nobody will use is then
    released at once (see gateway/dedup/_batch.py).
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
        self._batcher: Batcher[_Work] = Batcher(self._commit, name="dedup-sqlite")

    async def claim(
        self, scope: str, key: str, *, owner: str, lease_s: float, retention_s: float
    ) -> Claim:
        """Atomically claim ``key`` in ``scope`` for ``owner``, or say why not."""
        [answer] = await self.claim_many(
            scope, [key], owner=owner, lease_s=lease_s, retention_s=retention_s
        )
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def complete(
        self, scope: str, key: str, *, owner: str, message_id: str, retention_s: float
    ) -> bool:
        """Mark ``owner``'s claim done with ``message_id``; False if someone else holds it."""
        [answer] = await self.complete_many(
            scope, [(key, message_id)], owner=owner, retention_s=retention_s
        )
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def release(self, scope: str, key: str, *, owner: str) -> None:
        """Forget ``owner``'s claim (the attempt failed), leaving anything else alone."""
        await self.release_many(scope, [key], owner=owner)

    async def claim_many(
        self, scope: str, keys: Sequence[str], *, owner: str, lease_s: float, retention_s: float
    ) -> list[Claim | Exception]:
        """:meth:`claim` of every one of ``keys`` in one operation: the live entries read with
        one query per IN_CHUNK keys, the claims written with one ``executemany``."""
        for key in keys:
            check_entry(scope, key, owner)
        check_duration("lease_s", lease_s)
        check_duration("retention_s", retention_s)
        if not keys:
            return []

        def work(conn: sqlite3.Connection, now: float) -> list[Claim]:
            live = _live_many(conn, scope, keys, now)
            lease_until = now + lease_s
            answers: list[Claim] = []
            rows = []
            for key in keys:
                row = live.get(key)
                if row is not None:
                    state, _, message_id, _ = row
                    answers.append(Claim("done", message_id) if state == "done" else _BUSY)
                    continue
                live[key] = ("claimed", owner, None, lease_until)  # the same key again: busy
                rows.append((scope, key, "claimed", owner, None, lease_until, lease_until))
                answers.append(_CLAIMED)
            conn.executemany(_UPSERT, rows)
            return answers

        def undo(answers: list[Claim]) -> Op[_Work] | None:
            claimed = [k for k, a in zip(keys, answers, strict=True) if a.state == "claimed"]
            return Op(_release_many(scope, claimed, owner)) if claimed else None

        try:
            answers: list[Claim] = await self._batcher.run(Op(work, undo))
        except DedupUnavailableError as exc:
            return [exc] * len(keys)
        return list(answers)

    async def complete_many(
        self, scope: str, done: Sequence[tuple[str, str]], *, owner: str, retention_s: float
    ) -> list[bool | Exception]:
        """:meth:`complete` of every (key, message id) of ``done`` in one operation."""
        for key, _ in done:
            check_entry(scope, key, owner)
        check_duration("retention_s", retention_s)
        if not done:
            return []

        def work(conn: sqlite3.Connection, now: float) -> list[bool]:
            live = _live_many(conn, scope, [key for key, _ in done], now)
            expires_at = now + retention_s
            answers: list[bool] = []
            rows = []
            for key, message_id in done:
                row = live.get(key)
                if row is not None:
                    state, holder, recorded, _ = row
                    if state == "done":
                        answers.append(recorded == message_id)
                        continue
                    if holder != owner:
                        answers.append(False)
                        continue
                live[key] = ("done", owner, message_id, expires_at)
                rows.append((scope, key, "done", owner, message_id, None, expires_at))
                answers.append(True)
            conn.executemany(_UPSERT, rows)
            return answers

        try:
            answers: list[bool] = await self._batcher.run(Op(work))
        except DedupUnavailableError as exc:
            return [exc] * len(done)
        return list(answers)

    async def release_many(self, scope: str, keys: Sequence[str], *, owner: str) -> None:
        """:meth:`release` of every one of ``keys`` in one operation."""
        for key in keys:
            check_entry(scope, key, owner)
        if keys:
            await self._batcher.run(Op(_release_many(scope, keys, owner)))

    async def purge_expired(self) -> int:
        """Delete done rows past their retention and claims past their lease; return how many.

        In chunks of PURGE_CHUNK rows, one transaction each, so that a large purge never holds
        the loop or the lock for long."""
        purged = 0
        while True:
            deleted = int(
                await self._batcher.run(
                    Op(lambda conn, now: conn.execute(_PURGE, (now, PURGE_CHUNK)).rowcount)
                )
            )
            purged += deleted
            if deleted < PURGE_CHUNK:
                return purged
            await asyncio.sleep(0)

    async def ping(self) -> None:
        """Raise DedupUnavailableError unless the file can be opened and the table read."""
        await self._batcher.run(Op(lambda conn, _now: conn.execute(_PING).fetchall()))

    async def aclose(self) -> None:
        """Finish what is under way, close the connection; calling it again does nothing.
        Operations asked for afterwards are refused as unavailable."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._batcher.aclose()
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def _commit(self, works: Sequence[_Work]) -> list[Any]:
        """Run ``works`` in one transaction, waiting out another writer's lock; one answer
        each, or DedupUnavailableError for all of them."""
        deadline = time.monotonic() + self._timeout_s
        pause = FIRST_PAUSE_S
        while True:
            try:
                return self._transaction(works)
            except sqlite3.OperationalError as exc:
                if locked(exc) and time.monotonic() + pause < deadline:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, LONGEST_PAUSE_S)
                    continue
                error = DedupUnavailableError(f"idempotency store {self._path} unavailable: {exc}")
                return fail_all(len(works), error, exc)
            except sqlite3.Error as exc:  # not a database, corrupt, ...
                error = DedupUnavailableError(f"idempotency store {self._path} is unusable: {exc}")
                return fail_all(len(works), error, exc)
            except OSError as exc:
                error = DedupUnavailableError(
                    f"idempotency store {self._path} cannot be created: {exc}"
                )
                return fail_all(len(works), error, exc)

    # Below: the work itself, on the disk.

    def _connection(self) -> sqlite3.Connection:
        """The open connection; the first call creates the directory, the file and the table."""
        if self._conn is not None:
            return self._conn
        self._conn = conn = connect(self._path, _SCHEMA)
        return conn

    def _transaction(self, works: Sequence[_Work]) -> list[Any]:
        """Run every ``work(conn, now)`` inside one BEGIN IMMEDIATE; commit, or roll back
        everything on any error."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = self._clock()
            results = [work(conn, now) for work in works]
            conn.execute("COMMIT")
        except Exception:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return results


def _release_many(scope: str, keys: Sequence[str], owner: str) -> _Work:
    return lambda conn, _now: conn.executemany(_RELEASE, [(scope, key, owner) for key in keys])


def _live_many(
    conn: sqlite3.Connection, scope: str, keys: Sequence[str], now: float
) -> dict[str, _Row]:
    """The live entries of ``keys`` in ``scope``, by key (IN_CHUNK keys a query)."""
    found: dict[str, _Row] = {}
    distinct = list(dict.fromkeys(keys))
    for start in range(0, len(distinct), IN_CHUNK):
        chunk = distinct[start : start + IN_CHUNK]
        sql = _SELECT_MANY.format(marks=", ".join("?" * len(chunk)))
        for key, state, owner, message_id, expires_at in conn.execute(sql, (scope, *chunk)):
            if expires_at > now:
                found[key] = (state, owner, message_id, expires_at)
    return found
