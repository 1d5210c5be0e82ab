"""Token buckets: in this process with an injected clock, and in the real Redis shared by two
limiters (as by two gateway instances)."""

import uuid

import pytest

from gateway.errors import RateLimitedError
from gateway.ratelimit import Bucket, MemoryRateLimiter, RedisRateLimiter, admit, buckets_for
from tests.gateway.security.access import access_table
from tests.support.redis_keys import REDIS_URL, delete_keys


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def bucket(key="system:a", per_second=1.0, capacity=2):
    """A bucket of ``capacity`` tokens, ``per_second`` coming back."""
    return Bucket(key, per_second, capacity, key)


async def test_a_full_bucket_gives_its_burst_then_refuses():
    """Capacity 2: two tokens at once, the third is refused."""
    limiter = MemoryRateLimiter(Clock())
    outcomes = [await limiter.take([bucket()]) is None for _ in range(3)]
    assert [True, True, False] == outcomes


async def test_the_refusal_says_how_long_until_a_token_rounded_up():
    """0.5 token/s, empty for 0.5 s: a token in 1.5 s, Retry-After 2."""
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    slow = bucket(per_second=0.5, capacity=1)
    await limiter.take([slow])
    clock.now += 0.5
    refusal = await limiter.take([slow])
    assert refusal is not None
    assert (1.5, 2) == (refusal.wait_s, refusal.retry_after)


async def test_tokens_come_back_at_the_rate_up_to_the_capacity():
    """Emptied, then 10 s at 1/s with capacity 2: exactly two tokens again."""
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    await limiter.take([bucket()])
    await limiter.take([bucket()])
    clock.now += 10
    outcomes = [await limiter.take([bucket()]) is None for _ in range(3)]
    assert [True, True, False] == outcomes


async def test_a_request_takes_from_all_its_buckets_or_from_none():
    """The service's bucket is empty: the system's token is not spent for a refused request."""
    limiter = MemoryRateLimiter(Clock())
    system, service = bucket("system:a", capacity=1), bucket("service:s", capacity=1)
    await limiter.take([service])
    refusal = await limiter.take([system, service])
    assert refusal is not None
    assert "service:s" == refusal.bucket.key
    assert await limiter.take([system]) is None


async def test_the_bucket_waiting_longest_is_the_one_named():
    """Two empty buckets: Retry-After is when both have a token again."""
    limiter = MemoryRateLimiter(Clock())
    fast, slow = bucket("system:a", 10.0, 1), bucket("service:s", 0.1, 1)
    await limiter.take([fast, slow])
    refusal = await limiter.take([fast, slow])
    assert refusal is not None
    assert ("service:s", 10) == (refusal.bucket.key, refusal.retry_after)


async def test_a_changed_rate_applies_to_the_same_bucket():
    """A reload lowers the capacity from 5 to 1: the bucket keeps its key and is capped at
    once."""
    limiter = MemoryRateLimiter(Clock())
    await limiter.take([bucket(capacity=5)])
    outcomes = [await limiter.take([bucket(capacity=1)]) is None for _ in range(2)]
    assert [True, False] == outcomes


def test_buckets_of_a_request_are_its_systems_and_its_services(provider):
    """E-tergov asking person.limited: only the service has a limit; sud.e-xsud pushing
    court-decisions: only the system has one."""
    table = access_table(provider)
    assert ["service:person.limited"] == [
        b.key for b in buckets_for(table, "gp.e-tergov", "service", "person.limited")
    ]
    [system] = buckets_for(table, "sud.e-xsud", "feed", "court-decisions")
    assert ("system:sud.e-xsud", 1 / 3600, 1) == (system.key, system.per_second, system.capacity)


async def test_admit_raises_429_naming_the_limit(provider):
    """The second push of sud.e-xsud within the hour: RateLimitedError, Retry-After 3600 on a
    clock that stands still."""
    table, limiter = access_table(provider), MemoryRateLimiter(Clock())
    await admit(limiter, table, "sud.e-xsud", "feed", "court-decisions")
    with pytest.raises(RateLimitedError) as caught:
        await admit(limiter, table, "sud.e-xsud", "feed", "court-decisions")
    error = caught.value
    assert (429, "client.rate_limited", "3600", {"limit": "system"}) == (
        error.status,
        error.code,
        error.headers["Retry-After"],
        error.details,
    )
    assert "sud.e-xsud" in error.message


@pytest.fixture
async def redis_prefix():
    """A Redis key prefix of this test's own, deleted afterwards."""
    prefix = f"test:ratelimit:{uuid.uuid4().hex[:8]}"
    yield prefix
    await delete_keys(prefix)


async def test_two_redis_limiters_share_one_bucket(redis_prefix):
    """Capacity 2 at 1 per hour: two tokens taken through one limiter, none left for the
    other; its refusal waits about the hour."""
    first = RedisRateLimiter(REDIS_URL, prefix=redis_prefix)
    second = RedisRateLimiter(REDIS_URL, prefix=redis_prefix)
    slow = bucket(per_second=1 / 3600, capacity=2)
    try:
        taken = [await first.take([slow]) is None for _ in range(2)]
        refusal = await second.take([slow])
    finally:
        await first.aclose()
        await second.aclose()
    assert [True, True] == taken
    assert refusal is not None
    assert 1 <= refusal.retry_after <= 3600


async def test_redis_takes_from_all_buckets_or_from_none(redis_prefix):
    """In Redis too, a refused request spends no token of its other buckets."""
    limiter = RedisRateLimiter(REDIS_URL, prefix=redis_prefix)
    system = bucket("system:a", 1 / 3600, 1)
    service = bucket("service:s", 1 / 3600, 1)
    try:
        await limiter.take([service])
        refused = await limiter.take([system, service])
        alone = await limiter.take([system])
    finally:
        await limiter.aclose()
    assert refused is not None
    assert "service:s" == refused.bucket.key
    assert alone is None


async def test_an_unreachable_redis_lets_requests_through(redis_prefix):
    """Redis down: the limit is not enforced (the exchange goes on) rather than failing."""
    limiter = RedisRateLimiter("redis://127.0.0.1:9/0", prefix=redis_prefix, timeout_s=0.5)
    try:
        outcomes = [await limiter.take([bucket(capacity=1)]) for _ in range(2)]
    finally:
        await limiter.aclose()
    assert [None, None] == outcomes
