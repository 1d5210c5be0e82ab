"""The PostgreSQL audit store: one chain, appended to by any number of gateway instances.

**One chain.** Appends of every instance are serialised on the head row's lock. A store that
wrote the head it knows of appends with one statement (one round trip): it moves the head from
that hash to the new one, and inserts the records only if it could; the row lock makes a
concurrent append of another instance wait, and then find the head moved, insert nothing, and
fall back to the slow path: a transaction that reads the head ``FOR UPDATE`` and writes after
it. ``lock_timeout`` and ``statement_timeout`` bound every wait, so a stuck peer makes this
store unavailable, never hung. A statement that returned is durable (``synchronous_commit`` on,
the server's default).

**Connections.** One connection per store, opened on first use and again after it broke. When
the connection breaks under an append (a restart, an administrator's ``pg_terminate_backend``),
the store finds out on a fresh connection whether the append committed (is its first record
there, with its hash?) and, only if it did not, appends again: a batch is never lost to a
broken connection, nor written twice. A batch that fails otherwise is reported as failed (its
exchanges get 503).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import psycopg

from gateway.audit.record import (
    GENESIS_HASH,
    INDEX_FIELDS,
    Checkpoint,
    PreparedRecord,
    Sealed,
    StoredRecord,
    seal,
)
from gateway.audit.store import RECORD_COLUMNS, RECORD_INDEXES, AuditQuery, redact_url, stored
from gateway.errors import AuditUnavailableError

T = TypeVar("T")
Conn = psycopg.AsyncConnection[tuple[object, ...]]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit_records (
    seq     BIGINT PRIMARY KEY,
    hash    TEXT NOT NULL,
    text    TEXT NOT NULL,
    time_us BIGINT NOT NULL,
    {", ".join(f"{name} TEXT" for name in INDEX_FIELDS)}
);
{RECORD_INDEXES}
CREATE TABLE IF NOT EXISTS audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}') ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq     BIGINT NOT NULL,
    hash    TEXT NOT NULL,
    time_us BIGINT NOT NULL,
    mac     TEXT NOT NULL
);
"""
#: concurrent CREATE ... IF NOT EXISTS can still collide in PostgreSQL: openers take turns
_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('e-integratsiya audit schema'))"
_COLUMNS = ", ".join(RECORD_COLUMNS)
_INSERT = (
    f"INSERT INTO audit_records ({_COLUMNS}) VALUES ({', '.join('%s' for _ in RECORD_COLUMNS)})"
)


class _NothingWritten(Exception):
    """The transaction failed before it wrote anything: safe to try again."""


class _Unsure(Exception):
    """The connection broke under a statement that may or may not have committed."""

    def __init__(self, sealed: list[Sealed]) -> None:
        super().__init__("the connection broke during an append")
        self.sealed = sealed


class PostgresAuditStore:
    """Audit records in PostgreSQL; every instance appends to the same chain."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._conn: Conn | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._head: Sealed | None = None  # the head as this store last wrote it

    @property
    def location(self) -> str:
        """The URL, without its password."""
        return redact_url(self._url)

    async def append(self, records: Sequence[PreparedRecord]) -> list[Sealed]:
        """Seal ``records`` after the head, atomically.

        Fast path (this store wrote the head it knows of): one statement moves the head from
        the known one and inserts the records only if it did; one round trip. Otherwise (the
        head is unknown, or another instance moved it), a transaction locks the head row,
        reads it, and writes after it."""

        async def work(conn: Conn) -> list[Sealed]:
            known = self._head
            if known is not None:
                rows, sealed = _seal_rows(known, records)
                try:
                    cursor = await conn.execute(_fast_append(len(rows)), _fast_params(known, rows))
                except psycopg.OperationalError as exc:
                    if conn.broken:
                        raise _Unsure(sealed) from exc
                    raise
                if cursor.rowcount == len(rows):
                    self._head = sealed[-1]
                    return sealed
            return await self._append_locked(conn, records)

        try:
            return await self._run(work)
        except _Unsure as unsure:
            # the connection broke under the statement: did it commit? The record it would
            # have written first says so
            self._head = None
            first = unsure.sealed[0]
            found = await self._run(lambda conn: _hash_of(conn, first.seq))
            if found == first.hash:
                return unsure.sealed
            return await self._run(work)
        except AuditUnavailableError:
            self._head = None
            raise

    async def _append_locked(self, conn: Conn, records: Sequence[PreparedRecord]) -> list[Sealed]:
        locked = False  # until the head row is locked, nothing has been written
        try:
            async with conn.transaction():
                cursor = await conn.execute(
                    "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
                )
                head = await cursor.fetchone()
                locked = True
                assert head is not None, "the schema inserts the head row"
                rows, sealed = _seal_rows(Sealed(int(str(head[0])), str(head[1])), records)
                async with conn.cursor() as insert:
                    await insert.executemany(_INSERT, rows)
                await conn.execute(
                    "UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1",
                    (sealed[-1].seq, sealed[-1].hash),
                )
        except psycopg.OperationalError as exc:
            if conn.broken and not locked:
                raise _NothingWritten() from exc
            raise
        self._head = sealed[-1]
        return sealed

    async def add_checkpoint(self, seq: int, record_hash: str, time_us: int, mac: str) -> None:
        """Store a signed checkpoint."""

        async def work(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO audit_checkpoints (seq, hash, time_us, mac) VALUES (%s, %s, %s, %s)",
                (seq, record_hash, time_us, mac),
            )

        await self._run(work)

    async def head(self) -> Sealed:
        """The chain's head row."""

        async def work(conn: Conn) -> Sealed:
            cursor = await conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1")
            row = await cursor.fetchone()
            assert row is not None, "the schema inserts the head row"
            return Sealed(int(str(row[0])), str(row[1]))

        return await self._run(work)

    async def records(self, after: int, limit: int) -> list[StoredRecord]:
        """Up to ``limit`` records after ``after``, in seq order."""
        sql = f"SELECT {_COLUMNS} FROM audit_records WHERE seq > %s ORDER BY seq LIMIT %s"

        async def work(conn: Conn) -> list[StoredRecord]:
            cursor = await conn.execute(sql, (after, limit))
            return [stored(row) for row in await cursor.fetchall()]

        return await self._run(work)

    async def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint in the order written."""

        async def work(conn: Conn) -> list[Checkpoint]:
            cursor = await conn.execute(
                "SELECT id, seq, hash, time_us, mac FROM audit_checkpoints ORDER BY id"
            )
            return [
                Checkpoint(int(str(i)), int(str(s)), str(h), int(str(t)), str(m))
                for i, s, h, t, m in await cursor.fetchall()
            ]

        return await self._run(work)

    async def query(self, query: AuditQuery) -> list[StoredRecord]:
        """The matching records in seq order."""
        where, params = query.where("%s")
        sql = f"SELECT {_COLUMNS} FROM audit_records WHERE {where} ORDER BY seq"
        if query.limit is not None:
            sql += " LIMIT %s"
            params.append(query.limit)

        async def work(conn: Conn) -> list[StoredRecord]:
            cursor = await conn.execute(sql.encode(), params)
            return [stored(row) for row in await cursor.fetchall()]

        return await self._run(work)

    async def ping(self) -> None:
        """Connect (creating the tables) and read the head."""
        await self.head()

    async def aclose(self) -> None:
        """Close the connection; twice is harmless."""
        self._closed = True
        async with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await conn.close()

    async def _run(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """``work`` on the connection (one at a time), within the timeout; a failure before
        anything was written is tried once more on a fresh connection."""
        if self._closed:
            raise AuditUnavailableError(f"audit store {self.location} is closed")
        async with self._lock:
            for attempt in (1, 2):
                try:
                    async with asyncio.timeout(self._timeout_s):
                        return await work(await self._connection())
                except _NothingWritten as exc:
                    await self._drop_connection()
                    if attempt == 2:
                        raise self._unavailable(exc.__cause__ or exc) from exc
                except (psycopg.Error, OSError, TimeoutError) as exc:
                    await self._drop_connection()
                    raise self._unavailable(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _unavailable(self, exc: BaseException) -> AuditUnavailableError:
        if isinstance(exc, TimeoutError):
            reason = f"no answer within {self._timeout_s:g}s"
        else:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return AuditUnavailableError(f"audit store {self.location} unavailable: {reason}")

    async def _connection(self) -> Conn:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        await self._drop_connection()
        timeout_ms = max(1, int(self._timeout_s * 1000))
        conn = await psycopg.AsyncConnection.connect(
            self._url,
            autocommit=True,
            connect_timeout=max(2, round(self._timeout_s)),
            options=f"-c lock_timeout={timeout_ms} -c statement_timeout={timeout_ms}",
            application_name="e-integratsiya-audit",
        )
        try:
            async with conn.transaction():
                await conn.execute(_SCHEMA_LOCK)
                await conn.execute(_SCHEMA.encode())
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return conn

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()


def _seal_rows(
    head: Sealed, records: Sequence[PreparedRecord]
) -> tuple[list[tuple[object, ...]], list[Sealed]]:
    """The rows of ``records`` sealed after ``head``, and where each lands."""
    seq, prev = head.seq, head.hash
    rows: list[tuple[object, ...]] = []
    sealed: list[Sealed] = []
    for record in records:
        seq += 1
        text, record_hash = seal(seq, prev, record.exchange_json)
        row = (seq, record_hash, text, record.time_us)
        rows.append(row + tuple(record.index[name] for name in INDEX_FIELDS))
        sealed.append(Sealed(seq, record_hash))
        prev = record_hash
    return rows, sealed


_ROW = "(" + ", ".join(["%s::bigint", "%s", "%s", "%s::bigint"] + ["%s"] * len(INDEX_FIELDS)) + ")"


def _fast_append(count: int) -> bytes:
    """One statement: move the head from the known one, and insert ``count`` rows if it did
    (in one implicit transaction: both or neither)."""
    return (
        "WITH moved AS (UPDATE audit_head SET seq = %s, hash = %s "
        "WHERE id = 1 AND seq = %s AND hash = %s RETURNING 1) "
        f"INSERT INTO audit_records ({_COLUMNS}) "
        f"SELECT * FROM (VALUES {', '.join([_ROW] * count)}) AS batch ({_COLUMNS}) "
        "WHERE EXISTS (SELECT 1 FROM moved)"
    ).encode()


def _fast_params(known: Sealed, rows: list[tuple[object, ...]]) -> list[object]:
    last_seq, last_hash = rows[-1][0], rows[-1][1]
    params: list[object] = [last_seq, last_hash, known.seq, known.hash]
    for row in rows:
        params.extend(row)
    return params


async def _hash_of(conn: Conn, seq: int) -> str | None:
    cursor = await conn.execute("SELECT hash FROM audit_records WHERE seq = %s", (seq,))
    row = await cursor.fetchone()
    return None if row is None else str(row[0])
