"""Open the idempotency store the configuration names."""

from __future__ import annotations

from typing import Literal

from gateway.dedup._base import IdempotencyStore
from gateway.dedup.redis import RedisIdempotencyStore
from gateway.dedup.sqlite import SqliteIdempotencyStore


def open_store(
    backend: Literal["sqlite", "redis"], *, sqlite_path: str, redis_url: str, redis_prefix: str
) -> IdempotencyStore:
    """The store for ``backend``: an SQLite file at ``sqlite_path`` or Redis at ``redis_url``."""
    if backend == "sqlite":
        return SqliteIdempotencyStore(sqlite_path)
    if backend == "redis":
        return RedisIdempotencyStore(redis_url, prefix=redis_prefix)
    raise ValueError(f"unknown idempotency store backend {backend!r}")
