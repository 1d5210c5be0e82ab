"""Fixtures for the idempotency store: each behaviour runs against SQLite and the real Redis."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.dedup import IdempotencyStore, RedisIdempotencyStore, SqliteIdempotencyStore
from gateway.errors import DedupUnavailableError
from tests.support.clock import FakeClock
from tests.support.redis_keys import REDIS_URL, delete_keys


@dataclass
class Backend:
    """One backend under test: ``open()`` another store on the same data, ``elapse()`` time."""

    name: str
    make: Callable[[], IdempotencyStore]
    elapse: Callable[[float], Awaitable[None]]
    prefix: str = ""  # Redis: the key prefix of this test
    opened: list[IdempotencyStore] = field(default_factory=list)

    def open(self) -> IdempotencyStore:
        """A new store instance on the same file or Redis prefix, closed after the test."""
        store = self.make()
        self.opened.append(store)
        return store


@pytest.fixture
def clock() -> FakeClock:
    """The injected clock of this test's SQLite stores."""
    return FakeClock()


@asynccontextmanager
async def opened(chosen: Backend) -> AsyncIterator[Backend]:
    """Open the backend's first store and check it answers; close every store afterwards."""
    problem = None
    try:
        await chosen.open().ping()
    except DedupUnavailableError as exc:
        problem = str(exc)
    if problem is not None:  # failed outside the except block: one line, no chained traceback
        for store in chosen.opened:
            await store.aclose()
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL} ({problem}); "
            "start it with: redis-server --daemonize yes",
            pytrace=False,
        )
    try:
        yield chosen
    finally:
        for store in chosen.opened:
            await store.aclose()
        if chosen.name == "redis":
            await delete_keys(chosen.prefix)


def sqlite_backend(path: Path, clock: FakeClock) -> Backend:
    """SQLite stores on one file, on the fake clock."""

    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    return Backend("sqlite", lambda: SqliteIdempotencyStore(path, clock=clock), advance)


def redis_backend() -> Backend:
    """Redis stores on the real server, under a prefix no other test uses."""
    prefix = f"test:{uuid.uuid4().hex}"
    return Backend(
        "redis",
        lambda: RedisIdempotencyStore(REDIS_URL, prefix=prefix),
        asyncio.sleep,
        prefix=prefix,
    )


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request, tmp_path, clock) -> AsyncIterator[Backend]:
    """SQLite in tmp_path with a fake clock, or the real Redis under a prefix of its own."""
    if request.param == "sqlite":
        chosen = sqlite_backend(tmp_path / "dedup.db", clock)
    else:
        chosen = redis_backend()
    async with opened(chosen) as ready:
        yield ready


@pytest.fixture
async def redis_only() -> AsyncIterator[Backend]:
    """The real Redis alone, for what only the Redis store does."""
    async with opened(redis_backend()) as ready:
        yield ready


@pytest.fixture
def store(backend: Backend) -> IdempotencyStore:
    """The first store of the backend under test."""
    return backend.opened[0]
