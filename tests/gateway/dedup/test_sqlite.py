"""The SQLite store: expiry by its clock, purging, several processes, a locked file."""

import asyncio
import contextlib
import sqlite3
import sys
from pathlib import Path

import pytest

from gateway.dedup import Claim, SqliteIdempotencyStore
from gateway.errors import DedupUnavailableError

REPO = Path(__file__).resolve().parents[3]
SCOPE = "feed:crime-reports"

CLAIM_IN_ANOTHER_PROCESS = """
import asyncio, sys
from gateway.dedup import SqliteIdempotencyStore

async def main():
    store = SqliteIdempotencyStore(sys.argv[1])
    try:
        claim = await store.claim(
            "feed:crime-reports", "m-1", owner="other-process", lease_s=30, retention_s=60
        )
    finally:
        await store.aclose()
    print(claim.state)

asyncio.run(main())
"""


@pytest.fixture
async def sqlite_store(tmp_path, clock):
    """A SQLite store on a fresh file, on the fake clock."""
    store = SqliteIdempotencyStore(tmp_path / "dedup.db", clock=clock)
    yield store
    await store.aclose()


async def test_purge_removes_exactly_the_expired_rows(sqlite_store, clock, tmp_path):
    """Claims past their lease and done rows past retention go; the live rows stay."""
    await sqlite_store.claim(SCOPE, "lapsed", owner="a", lease_s=10, retention_s=60)
    await sqlite_store.claim(SCOPE, "leased", owner="a", lease_s=100, retention_s=60)
    for key, retention in (("stale", 10), ("kept", 100)):
        await sqlite_store.claim(SCOPE, key, owner="a", lease_s=5, retention_s=retention)
        await sqlite_store.complete(SCOPE, key, owner="a", message_id=key, retention_s=retention)
    clock.advance(50)
    purged = await sqlite_store.purge_expired()
    with contextlib.closing(sqlite3.connect(tmp_path / "dedup.db")) as conn:
        left = [key for (key,) in conn.execute("SELECT key FROM idempotency ORDER BY key")]
    assert (2, ["kept", "leased"]) == (purged, left)


async def test_purge_with_nothing_expired_removes_nothing(sqlite_store):
    """With every entry live, purge_expired() deletes nothing."""
    await sqlite_store.claim(SCOPE, "m-1", owner="a", lease_s=10, retention_s=60)
    assert 0 == await sqlite_store.purge_expired()


async def test_another_process_sees_a_held_claim_as_busy(tmp_path):
    """A process opening the same file cannot claim what this one holds."""
    path = tmp_path / "dedup.db"
    store = SqliteIdempotencyStore(path)
    try:
        await store.claim(SCOPE, "m-1", owner="this-process", lease_s=30, retention_s=60)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CLAIM_IN_ANOTHER_PROCESS,
            str(path),
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(30):
            out, err = await child.communicate()
    finally:
        await store.aclose()
    assert (0, "busy") == (child.returncode, out.decode().strip()), err.decode()


async def test_parent_directories_are_created(tmp_path, clock):
    """The file may live in directories that do not exist yet."""
    store = SqliteIdempotencyStore(tmp_path / "a" / "b" / "dedup.db", clock=clock)
    try:
        assert Claim("claimed") == await store.claim(
            SCOPE, "m-1", owner="a", lease_s=10, retention_s=60
        )
    finally:
        await store.aclose()


async def test_locked_file_is_unavailable(tmp_path):
    """Another connection holding the write lock past timeout_s makes claim() fail clearly."""
    path = tmp_path / "dedup.db"
    store = SqliteIdempotencyStore(path, timeout_s=0.1)
    await store.ping()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DedupUnavailableError, match="locked"):
            await store.claim(SCOPE, "m-1", owner="a", lease_s=10, retention_s=60)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
        await store.aclose()


async def test_lock_held_for_a_moment_is_waited_out_without_blocking_the_loop(tmp_path):
    """Another writer holds the lock for a while: the claim waits (asynchronously: the event
    loop keeps running meanwhile) and then succeeds."""
    path = tmp_path / "dedup.db"
    store = SqliteIdempotencyStore(path, timeout_s=5)
    await store.ping()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    asyncio.get_running_loop().call_later(0.2, locker.execute, "ROLLBACK")
    try:
        claim = await store.claim(SCOPE, "m-1", owner="a", lease_s=10, retention_s=60)
        ticks_while_waiting = ticks
    finally:
        ticker.cancel()
        locker.close()
        await store.aclose()
    assert Claim("claimed") == claim
    assert ticks_while_waiting > 5


async def test_store_works_again_once_the_lock_is_gone(tmp_path):
    """A failed transaction leaves the store usable once the other writer has finished."""
    path = tmp_path / "dedup.db"
    store = SqliteIdempotencyStore(path, timeout_s=0.1)
    await store.ping()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DedupUnavailableError):
            await store.claim(SCOPE, "m-1", owner="a", lease_s=10, retention_s=60)
        locker.execute("ROLLBACK")
        assert Claim("claimed") == await store.claim(
            SCOPE, "m-1", owner="a", lease_s=10, retention_s=60
        )
    finally:
        locker.close()
        await store.aclose()


async def test_unopenable_file_is_unavailable(tmp_path):
    """A path that cannot be opened as a database fails ping() with DedupUnavailableError."""
    store = SqliteIdempotencyStore(tmp_path)  # a directory
    try:
        with pytest.raises(DedupUnavailableError):
            await store.ping()
    finally:
        await store.aclose()


async def test_closed_store_is_unavailable(sqlite_store):
    """A closed store refuses work with DedupUnavailableError."""
    await sqlite_store.aclose()
    with pytest.raises(DedupUnavailableError, match="closed"):
        await sqlite_store.claim(SCOPE, "m-1", owner="a", lease_s=10, retention_s=60)


async def test_key_longer_than_512_characters_is_refused(sqlite_store):
    """Keys are at most 512 characters."""
    with pytest.raises(ValueError, match="512"):
        await sqlite_store.claim(SCOPE, "k" * 513, owner="a", lease_s=10, retention_s=60)


async def test_a_file_that_is_no_database_is_unavailable_not_a_hang(tmp_path):
    """A file with other content answers every operation with DedupUnavailableError."""
    path = tmp_path / "dedup.db"
    path.write_bytes(b"this is not an SQLite database, just text" * 100)
    store = SqliteIdempotencyStore(path, timeout_s=0.5)
    try:
        async with asyncio.timeout(5):
            with pytest.raises(DedupUnavailableError, match="unusable"):
                await store.claim(SCOPE, "m-1", owner="a", lease_s=10, retention_s=60)
    finally:
        await store.aclose()


async def test_purge_works_in_chunks_and_removes_every_expired_row(tmp_path, clock):
    """More expired rows than one chunk: all are purged, the live one stays."""
    from gateway.dedup.sqlite import PURGE_CHUNK

    store = SqliteIdempotencyStore(tmp_path / "dedup.db", clock=clock)
    try:
        await asyncio.gather(
            *(
                store.claim(SCOPE, f"m-{n}", owner="a", lease_s=1, retention_s=60)
                for n in range(PURGE_CHUNK + 10)
            )
        )
        clock.advance(2)
        await store.claim(SCOPE, "live", owner="b", lease_s=60, retention_s=60)
        purged = await store.purge_expired()
        again = await store.claim(SCOPE, "live", owner="c", lease_s=60, retention_s=60)
    finally:
        await store.aclose()
    assert (PURGE_CHUNK + 10, Claim("busy")) == (purged, again)


async def test_bulk_operations_under_a_lock_held_too_long_answer_unavailable(tmp_path):
    """Another writer holding the file past the timeout: every key of a bulk claim and of a
    bulk complete gets DedupUnavailableError in its place, and a bulk release raises it."""
    path = tmp_path / "dedup.db"
    store = SqliteIdempotencyStore(path, timeout_s=0.1)
    await store.ping()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        claims = await store.claim_many(
            SCOPE, ["m-1", "m-2"], owner="a", lease_s=10, retention_s=60
        )
        completions = await store.complete_many(
            SCOPE, [("m-1", "msg-1")], owner="a", retention_s=60
        )
        with pytest.raises(DedupUnavailableError):
            await store.release_many(SCOPE, ["m-1"], owner="a")
    finally:
        locker.close()
        await store.aclose()
    assert all(isinstance(a, DedupUnavailableError) for a in [*claims, *completions])
    assert (2, 1) == (len(claims), len(completions))
