"""Operations asked for concurrently go to the store together: one transaction, one pipeline.

Both stores do the same dance around their own way of sending a batch, so it lives here once:

    run(op)    queue ``op`` and wait for its answer; the first ``run`` starts the sender task,
               which sends what is queued, batch after batch, until nothing is
    run_many   the same for several operations at once (one future each, no task)
    flush      the store's coroutine: send one batch, return one answer per operation (a value,
               or an exception instance for that operation alone); raising fails the batch
    undo       an operation may say what undoes it: when its caller was cancelled before the
               answer came, the undo is queued (a claim nobody will use is released at once
               instead of blocking its key until its lease ends)
    aclose()   wait for the batch under way, then refuse what is still queued

Whatever goes wrong in the sender (a bug, cancellation), every waiting caller gets an answer:
a caller never hangs on a store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog

from gateway.errors import DedupUnavailableError

log = structlog.get_logger("gateway.dedup")
W = TypeVar("W")


@dataclass(frozen=True, slots=True)
class Op(Generic[W]):
    """One operation: the store's ``work`` and, optionally, what undoes it given its answer."""

    work: W
    undo: Callable[[Any], Op[W] | None] | None = field(default=None)


Flush = Callable[[Sequence[W]], Awaitable[list[Any]]]


class Batcher(Generic[W]):
    """Sends the operations of concurrent callers together, each answered on its own."""

    def __init__(self, flush: Flush[W], *, name: str) -> None:
        self._flush = flush
        self._name = name
        self._queued: list[tuple[Op[W], asyncio.Future[Any] | None]] = []
        self._sender: asyncio.Task[None] | None = None
        self._closed = False

    async def run(self, op: Op[W]) -> Any:
        """Queue ``op`` for the next batch and wait for its answer."""
        if self._closed:
            raise DedupUnavailableError("the idempotency store is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue(op, future)
        return await future

    async def run_many(self, ops: Sequence[Op[W]]) -> list[Any]:
        """Queue every one of ``ops`` for the same batch and wait for all their answers: one
        per operation, in order, an operation's exception in its place."""
        if self._closed:
            raise DedupUnavailableError("the idempotency store is closed")
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Any]] = [loop.create_future() for _ in ops]
        for op, future in zip(ops, futures, strict=True):
            self._queue(op, future)
        return await asyncio.gather(*futures, return_exceptions=True)

    def _queue(self, op: Op[W], future: asyncio.Future[Any] | None) -> None:
        self._queued.append((op, future))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send(), name=self._name)

    async def _send(self) -> None:
        batch: list[tuple[Op[W], asyncio.Future[Any] | None]] = []
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                answers = await self._flush([op.work for op, _ in batch])
                self._answer(batch, answers)
                batch = []
        except BaseException as exc:
            error = DedupUnavailableError(f"the idempotency store failed: {exc!r}")
            error.__cause__ = exc
            for _, future in (*batch, *self._queued):
                if future is not None and not future.done():
                    future.set_exception(error)
            self._queued = []
            if not isinstance(exc, Exception):
                raise  # cancellation and the like go on
            log.exception("dedup.batch_failed", store=self._name)
        finally:
            self._sender = None

    def _answer(
        self, batch: list[tuple[Op[W], asyncio.Future[Any] | None]], answers: list[Any]
    ) -> None:
        for (op, future), answer in zip(batch, answers, strict=True):
            if future is None:
                continue  # an undo: nobody waits for it
            if future.cancelled():
                undo = op.undo(answer) if op.undo and not isinstance(answer, Exception) else None
                if undo is not None and not self._closed:
                    self._queue(undo, None)
            elif isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    async def aclose(self) -> None:
        """Let the batch under way finish, then refuse what is queued; twice is harmless."""
        self._closed = True
        sender = self._sender
        if sender is not None:
            await asyncio.gather(asyncio.shield(sender), return_exceptions=True)
        for _, future in self._queued:
            if future is not None and not future.done():
                future.set_exception(DedupUnavailableError("the idempotency store is closed"))
        self._queued = []


def fail_all(count: int, error: Exception, cause: BaseException) -> list[Any]:
    """The answers of a batch that failed as a whole: ``error`` for each of ``count``."""
    error.__cause__ = cause
    return [error] * count
