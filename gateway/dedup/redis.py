"""The Redis idempotency store: one string key per entry, expired by Redis itself (PX)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio
import redis.exceptions
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

from gateway.dedup._base import Claim, check_duration, check_entry
from gateway.dedup._batch import Batcher, Op, fail_all
from gateway.errors import DedupUnavailableError

# KEYS[1] entry; ARGV[1] "claimed|<owner>", ARGV[2] lease ms. Returns "" when claimed, else
# the entry that is there ("claimed|<owner>" or "done|<message_id>").
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return ''
end
return redis.call('GET', KEYS[1])
"""

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

_SCRIPTS = (_CLAIM, _COMPLETE, _RELEASE)

#: one operation: queue its command on the pipeline (its reply comes back in order)
_Queue = Callable[[Pipeline], Any]


def _sha(script: str) -> str:
    """The SHA-1 Redis knows a script by (EVALSHA)."""
    return hashlib.sha1(script.encode()).hexdigest()


def _claim_of(current: Any) -> Claim:
    """The claim a _CLAIM script's reply tells: "" claimed, else the entry that is there."""
    if not current:
        return Claim("claimed")
    state, _, rest = str(current).partition("|")
    return Claim("done", rest) if state == "done" else Claim("busy")


def _ms(seconds: float) -> int:
    """Seconds as whole milliseconds for PX, rounded up and never below 1."""
    return max(1, math.ceil(seconds * 1000))


class RedisIdempotencyStore:
    """Idempotency entries as Redis strings ``claimed|<owner>`` or ``done|<message_id>``.

    The key of an entry is ``{prefix}:idem:{scope}:{key}``. Its PX is the lease while claimed
    and the retention once done, so Redis expires entries itself. Every operation is one Lua
    script (atomic in Redis), called by its SHA-1. Operations asked for while a pipeline is on
    its way wait and go together in the next one: one round trip for all of them, each
    answered on its own.

    The client does not retry: a command whose reply was lost may have been applied, and a
    retried claim would then find its own entry and call it busy. Failures surface at once as
    DedupUnavailableError, to every operation of the pipeline that failed.
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
        self._claim = _sha(_CLAIM)
        self._complete = _sha(_COMPLETE)
        self._release = _sha(_RELEASE)
        self._batcher: Batcher[_Queue] = Batcher(self._pipeline, name="dedup-redis")

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
        name = self._key(scope, key)
        current = await self._batcher.run(self._claim_op(name, owner, _ms(lease_s)))
        return _claim_of(current)

    async def claim_many(
        self, scope: str, keys: Sequence[str], *, owner: str, lease_s: float, retention_s: float
    ) -> list[Claim | Exception]:
        """:meth:`claim` of every one of ``keys``, in one pipeline."""
        for key in keys:
            check_entry(scope, key, owner)
        check_duration("lease_s", lease_s)
        check_duration("retention_s", retention_s)
        lease = _ms(lease_s)
        try:
            answers = await self._batcher.run_many(
                [self._claim_op(self._key(scope, key), owner, lease) for key in keys]
            )
        except DedupUnavailableError as exc:  # the store is closed
            return [exc] * len(keys)
        return [a if isinstance(a, Exception) else _claim_of(a) for a in answers]

    def _claim_op(self, name: str, owner: str, lease_ms: int) -> Op[_Queue]:
        def undo(current: Any) -> Op[_Queue] | None:
            return None if current else Op(self._release_op(name, owner))

        return Op(
            lambda pipe: pipe.evalsha(self._claim, 1, name, f"claimed|{owner}", lease_ms), undo
        )

    async def complete(
        self, scope: str, key: str, *, owner: str, message_id: str, retention_s: float
    ) -> bool:
        """Mark ``owner``'s claim done with ``message_id``; False if someone else holds it."""
        check_entry(scope, key, owner)
        check_duration("retention_s", retention_s)
        name = self._key(scope, key)
        done = await self._batcher.run(
            Op(self._complete_op(name, owner, message_id, _ms(retention_s)))
        )
        return bool(done)

    async def complete_many(
        self, scope: str, done: Sequence[tuple[str, str]], *, owner: str, retention_s: float
    ) -> list[bool | Exception]:
        """:meth:`complete` of every (key, message id) of ``done``, in one pipeline."""
        for key, _ in done:
            check_entry(scope, key, owner)
        check_duration("retention_s", retention_s)
        retention = _ms(retention_s)
        try:
            answers = await self._batcher.run_many(
                [
                    Op(self._complete_op(self._key(scope, key), owner, message_id, retention))
                    for key, message_id in done
                ]
            )
        except DedupUnavailableError as exc:  # the store is closed
            return [exc] * len(done)
        return [a if isinstance(a, Exception) else bool(a) for a in answers]

    def _complete_op(self, name: str, owner: str, message_id: str, retention_ms: int) -> _Queue:
        args = (f"claimed|{owner}", f"done|{message_id}", retention_ms)
        return lambda pipe: pipe.evalsha(self._complete, 1, name, *args)

    async def release(self, scope: str, key: str, *, owner: str) -> None:
        """Forget ``owner``'s claim (the attempt failed), leaving anything else alone."""
        check_entry(scope, key, owner)
        await self._batcher.run(Op(self._release_op(self._key(scope, key), owner)))

    async def release_many(self, scope: str, keys: Sequence[str], *, owner: str) -> None:
        """:meth:`release` of every one of ``keys``, in one pipeline."""
        for key in keys:
            check_entry(scope, key, owner)
        answers = await self._batcher.run_many(
            [Op(self._release_op(self._key(scope, key), owner)) for key in keys]
        )
        failed = [a for a in answers if isinstance(a, Exception)]
        if failed:
            raise DedupUnavailableError(
                f"{len(failed)} of {len(keys)} claim(s) not released: {failed[0]}"
            ) from failed[0]

    def _release_op(self, name: str, owner: str) -> _Queue:
        return lambda pipe: pipe.evalsha(self._release, 1, name, f"claimed|{owner}")

    async def purge_expired(self) -> int:
        """Nothing to do: Redis expires entries itself (PX), so this returns 0."""
        return 0

    async def ping(self) -> None:
        """Raise DedupUnavailableError unless Redis answers PING."""
        await self._batcher.run(Op(lambda pipe: pipe.ping()))

    async def aclose(self) -> None:
        """Finish what is under way, close the client and its connection pool; calling it
        again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._batcher.aclose()
        finally:
            await self._redis.aclose()

    async def _pipeline(self, batch: Sequence[_Queue]) -> list[Any]:
        """One round trip for ``batch``: one reply per operation (an exception for a command
        Redis refused), or DedupUnavailableError for all. Scripts Redis does not know (after a
        restart or SCRIPT FLUSH) are loaded and the operations that met NOSCRIPT (which
        therefore did not run) are sent once more."""
        try:
            replies = await self._execute(batch)
            unknown = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
            if unknown:
                for script in _SCRIPTS:
                    await self._redis.script_load(script)
                again = await self._execute([batch[i] for i in unknown])
                for i, reply in zip(unknown, again, strict=True):
                    replies[i] = reply
        except redis.exceptions.TimeoutError as exc:
            error = DedupUnavailableError(f"Redis did not answer in time: {exc}")
            return fail_all(len(batch), error, exc)
        except redis.exceptions.ConnectionError as exc:
            return fail_all(len(batch), DedupUnavailableError(f"Redis is unreachable: {exc}"), exc)
        except redis.exceptions.RedisError as exc:
            return fail_all(len(batch), DedupUnavailableError(f"Redis refused: {exc}"), exc)
        answers: list[Any] = []
        for reply in replies:
            if isinstance(reply, Exception):
                error = DedupUnavailableError(f"Redis refused: {reply}")
                error.__cause__ = reply
                answers.append(error)
            else:
                answers.append(reply)
        return answers

    async def _execute(self, batch: Sequence[_Queue]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for queue in batch:
                queue(pipe)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies
