"""The Redis store: its key layout, native expiry, and an unreachable server."""

import uuid

import pytest
import redis.asyncio
import redis.exceptions

from gateway.dedup import Claim, RedisIdempotencyStore
from gateway.errors import DedupUnavailableError
from tests.support.redis_keys import REDIS_URL

SCOPE = "feed:crime-reports"
CLOSED = "redis://127.0.0.1:1/0"


@pytest.fixture
async def unreachable():
    """A store pointed at a port where nothing listens."""
    store = RedisIdempotencyStore(CLOSED, prefix=f"test:{uuid.uuid4().hex}", timeout_s=0.5)
    yield store
    await store.aclose()


async def test_claim_against_a_closed_port_is_unavailable(unreachable):
    """claim() raises DedupUnavailableError when Redis cannot be reached."""
    with pytest.raises(DedupUnavailableError) as caught:
        await unreachable.claim(SCOPE, "m-1", owner="a", lease_s=1, retention_s=60)
    assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)


async def test_ping_against_a_closed_port_is_unavailable(unreachable):
    """ping() raises DedupUnavailableError when Redis cannot be reached."""
    with pytest.raises(DedupUnavailableError):
        await unreachable.ping()


async def test_a_claim_is_stored_under_prefix_scope_and_key(redis_only):
    """A claim is the string claimed|<owner> at {prefix}:idem:{scope}:{key}, leased by PX."""
    store = redis_only.opened[0]
    await store.claim(SCOPE, "m-1", owner="a", lease_s=30, retention_s=60)
    client = redis.asyncio.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        name = f"{redis_only.prefix}:idem:{SCOPE}:m-1"
        value, ttl_ms = await client.get(name), await client.pttl(name)
    finally:
        await client.aclose()
    assert "claimed|a" == value
    assert 0 < ttl_ms <= 30_000


async def test_a_done_entry_is_kept_for_its_retention(redis_only):
    """complete() stores done|<message_id> with the retention as PX."""
    store = redis_only.opened[0]
    await store.claim(SCOPE, "m-1", owner="a", lease_s=30, retention_s=600)
    await store.complete(SCOPE, "m-1", owner="a", message_id="msg|1", retention_s=600)
    client = redis.asyncio.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        name = f"{redis_only.prefix}:idem:{SCOPE}:m-1"
        value, ttl_ms = await client.get(name), await client.pttl(name)
    finally:
        await client.aclose()
    assert "done|msg|1" == value
    assert 30_000 < ttl_ms <= 600_000


async def test_purge_expired_leaves_expiry_to_redis(redis_only):
    """Redis expires entries itself, so purge_expired() reports 0."""
    assert 0 == await redis_only.opened[0].purge_expired()


async def test_scripts_flushed_from_redis_are_loaded_again(redis_only):
    """After SCRIPT FLUSH (or a Redis restart) the store loads its scripts and carries on."""
    store = redis_only.opened[0]
    await store.claim(SCOPE, "m-1", owner="a", lease_s=30, retention_s=60)
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await client.script_flush()
    finally:
        await client.aclose()
    assert (Claim("busy"), True) == (
        await store.claim(SCOPE, "m-1", owner="b", lease_s=30, retention_s=60),
        await store.complete(SCOPE, "m-1", owner="a", message_id="msg-1", retention_s=60),
    )
