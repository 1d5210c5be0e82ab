"""open_store() opens the backend the configuration names."""

import uuid

import pytest

from gateway.dedup import RedisIdempotencyStore, SqliteIdempotencyStore, open_store
from tests.support.redis_keys import REDIS_URL


@pytest.mark.parametrize(
    ("backend", "expected"), [("sqlite", SqliteIdempotencyStore), ("redis", RedisIdempotencyStore)]
)
async def test_open_store_picks_the_named_backend(tmp_path, backend, expected):
    """ "sqlite" opens the SQLite store, "redis" the Redis store."""
    store = open_store(
        backend,
        sqlite_path=str(tmp_path / "dedup.db"),
        redis_url=REDIS_URL,
        redis_prefix=f"test:{uuid.uuid4().hex}",
    )
    try:
        assert expected is type(store)
    finally:
        await store.aclose()


def test_open_store_refuses_an_unknown_backend(tmp_path):
    """Any other backend name is a ValueError."""
    with pytest.raises(ValueError, match="memcached"):
        open_store(
            "memcached",  # type: ignore[arg-type]
            sqlite_path=str(tmp_path / "dedup.db"),
            redis_url=REDIS_URL,
            redis_prefix="test",
        )
