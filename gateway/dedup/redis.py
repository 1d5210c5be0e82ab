"""The Redis idempotency store: one string key per entry, expired by Redis itself (PX)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable
from typing import Any

import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.dedup._base import Claim, check_duration, check_entry
from gateway.errors import DedupUnavailableError

# KEYS[1] entry; ARGV[1] "claimed|<owner>", ARGV[2] "done|<message_id>", ARGV[3] retention ms.
_COMPLETE = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return 1
end
if current == ARGV[2] then
    return 1
end
return 0
"""

# KEYS[1] entry; ARGV[1] "claimed|<owner>".
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def _ms(seconds: float) -> int:
    """Seconds as whole milliseconds for PX, rounded up and never below 1."""
    return max(1, math.ceil(seconds * 1000))


class RedisIdempotencyStore:
    """Idempotency entries as Redis strings ``claimed|<owner>`` or ``done|<message_id>``.

    The key of an entry is ``{prefix}:idem:{scope}:{key}``. Its PX is the lease while claimed
    and the retention once done, so Redis expires entries itself. The client does not retry:
    a command whose reply was lost may have been applied, and a retried SET NX would then find
    its own claim and call it busy. Failures surface at once as DedupUnavailableError.
    """

    def __init__(self, url: str, *, prefix: str, timeout_s: float = 2.0) -> None:
        self._prefix = prefix
        self._closed = False
        self._redis = redis.asyncio.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self._complete = self._redis.register_script(_COMPLETE)
        self._release = self._redis.register_script(_RELEASE)

    def _key(self, scope: str, key: str) -> str:
        """The Redis key of the entry for (scope, key)."""
        return f"{self._prefix}:idem:{scope}:{key}"

    async def claim(
        self, scope: str, key: str, *, owner: str, lease_s: float, retention_s: float
    ) -> Claim:
        """Atomically claim ``key`` in ``scope`` for ``owner``, or say why not."""
        check_entry(scope, key, owner)
        check_duration("lease_s", lease_s)
        check_duration("retention_s", retention_s)
        name, value = self._key(scope, key), f"claimed|{owner}"
        for _ in range(2):  # the entry may vanish between SET NX and GET: then SET once more
            if await self._call(self._redis.set(name, value, nx=True, px=_ms(lease_s))):
                return Claim("claimed")
            current = await self._call(self._redis.get(name))
            if current is not None:
                state, _, rest = str(current).partition("|")
                return Claim("done", rest) if state == "done" else Claim("busy")
        return Claim("busy")

    async def complete(
        self, scope: str, key: str, *, owner: str, message_id: str, retention_s: float
    ) -> bool:
        """Mark ``owner``'s claim done with ``message_id``; False if someone else holds it."""
        check_entry(scope, key, owner)
        check_duration("retention_s", retention_s)
        args: list[str | int] = [f"claimed|{owner}", f"done|{message_id}", _ms(retention_s)]
        done = await self._call(self._complete(keys=[self._key(scope, key)], args=args))
        return bool(done)

    async def release(self, scope: str, key: str, *, owner: str) -> None:
        """Forget ``owner``'s claim (the attempt failed), leaving anything else alone."""
        check_entry(scope, key, owner)
        await self._call(self._release(keys=[self._key(scope, key)], args=[f"claimed|{owner}"]))

    async def purge_expired(self) -> int:
        """Nothing to do: Redis expires entries itself (PX), so this returns 0."""
        return 0

    async def ping(self) -> None:
        """Raise DedupUnavailableError unless Redis answers PING."""
        await self._call(self._redis.ping())

    async def aclose(self) -> None:
        """Close the client and its connection pool; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        await self._redis.aclose()

    async def _call(self, command: Awaitable[Any]) -> Any:
        """Await one Redis command, translating Redis's failures to DedupUnavailableError."""
        if self._closed:
            if inspect.iscoroutine(command):
                command.close()
            raise DedupUnavailableError("the idempotency store is closed")
        try:
            return await command
        except redis.exceptions.TimeoutError as exc:
            raise DedupUnavailableError(f"Redis did not answer in time: {exc}") from exc
        except redis.exceptions.ConnectionError as exc:
            raise DedupUnavailableError(f"Redis is unreachable: {exc}") from exc
