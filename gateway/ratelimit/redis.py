"""Token buckets in Redis (``GATEWAY_RATE_LIMIT_BACKEND=redis``): every instance of the
gateway takes from the same buckets.

One Lua script per request (atomic in Redis) reads every bucket the request needs, refills
each by the time passed on Redis's own clock (``TIME``: one clock for every instance), and
takes a token from each only when every one has a token. A bucket is a hash
``{prefix}:ratelimit:{key}`` with ``tokens`` and ``at``; it expires once it would be full
again anyway.

When Redis cannot be reached the request is let through (the limit is not enforced) and a
warning is logged once per outage: a rate limit protects the systems behind the gateway, it
is not evidence, and a Redis outage must not stop the exchanges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import redis.asyncio
import redis.exceptions
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

from gateway.ratelimit._base import Bucket, Refusal

log = structlog.get_logger("gateway.ratelimit")

# KEYS: the buckets; ARGV: per_second, capacity of each, in the same order.
# Returns {0} when every bucket gave a token, else {i, wait}: bucket i (1-based) waits longest.
_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local tokens = {}
local worst, wait = 0, 0
for i, key in ipairs(KEYS) do
  local rate, capacity = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local available, at = tonumber(state[1]), tonumber(state[2])
  if available == nil or at == nil then available, at = capacity, now end
  available = math.min(capacity, available + math.max(0, now - at) * rate)
  tokens[i] = available
  if available < 1 and (1 - available) / rate > wait then
    worst, wait = i, (1 - available) / rate
  end
end
if worst > 0 then return {worst, tostring(wait)} end
for i, key in ipairs(KEYS) do
  local rate, capacity = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('HSET', key, 'tokens', tostring(tokens[i] - 1), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((capacity - tokens[i] + 1) / rate * 1000) + 1000)
end
return {0}
"""
_TAKE_SHA = hashlib.sha1(_TAKE.encode()).hexdigest()


class RedisRateLimiter:
    """Buckets shared through Redis; see the module's docstring."""

    def __init__(self, url: str, *, prefix: str, timeout_s: float = 1.0) -> None:
        self._prefix = prefix
        self._redis = redis.asyncio.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self._failing = False

    def key(self, bucket: Bucket) -> str:
        """The Redis key of ``bucket``."""
        return f"{self._prefix}:ratelimit:{bucket.key}"

    async def take(self, buckets: Sequence[Bucket]) -> Refusal | None:
        """See :class:`gateway.ratelimit.RateLimiter`."""
        if not buckets:
            return None
        keys = [self.key(b) for b in buckets]
        args = [str(x) for b in buckets for x in (repr(b.per_second), b.capacity)]
        try:
            try:
                answer = await self._redis.evalsha(_TAKE_SHA, len(keys), *keys, *args)
            except NoScriptError:
                answer = await self._redis.eval(_TAKE, len(keys), *keys, *args)
        except (redis.exceptions.RedisError, OSError) as exc:
            if not self._failing:
                log.warning("ratelimit.unavailable", error=str(exc) or type(exc).__name__)
            self._failing = True
            return None
        if self._failing:
            log.info("ratelimit.available")
            self._failing = False
        worst = int(answer[0])
        if worst == 0:
            return None
        return Refusal(buckets[worst - 1], float(answer[1]))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
