"""The audit writer: a bounded backlog, group commit, checkpoints, and a verdict on whether
the gateway may serve.

    append(entry)   serialise the entry, queue it, wait until its batch is committed (durable)
                    and return where it landed; AuditUnavailableError when it cannot be
                    written (the store failed, the backlog is full, the writer is closed): the
                    exchange it belongs to fails with it, nothing is dropped silently
    problem         None while the store takes records; else why not (the middleware refuses
                    new exchanges with 503 gateway.audit_unavailable, /readyz names it)

**Group commit.** One sender task writes what is queued, batch after batch (at most
``batch_size`` records a transaction): records that arrive while a batch is being committed
go together into the next one. While exchanges come together (the last batch held more than
one record, or several are queued already) a batch also waits ``commit_window`` seconds
(2 ms) after its first record for others to join, so a busy gateway pays one commit (one
fsync) for many records. A lone exchange does not wait for company that is not coming: like
PostgreSQL's ``commit_delay``, which applies only with ``commit_siblings`` transactions
active, the window is spent only when others are about. 0 turns it off.

**Bounds.** The backlog (queued and being written) holds at most ``max_backlog`` records and
``max_backlog_bytes`` of serialised records (bodies included); beyond either, ``append``
refuses at once, so a slow disk costs availability, never unbounded memory.

**Failure and recovery.** When a batch fails, every record of it and every record queued
behind it fails (their exchanges get 503), and ``problem`` says why; the sender then pings
the store every ``probe_interval`` seconds and clears ``problem`` when it answers. An idle
writer pings as often too, so that a store lost while nothing was written is noticed (and
exchanges refused before they are served) without an exchange having to fail first.

**Checkpoints.** With a key, after every ``checkpoint_every`` records or ``checkpoint_interval``
seconds (whichever comes first, if anything was written since the last one), and at close,
the writer signs the last record it wrote and stores the checkpoint in the same store.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from gateway.audit.record import AuditEntry, PreparedRecord, Sealed, checkpoint_mac, to_micros
from gateway.audit.store import AuditStore
from gateway.errors import AuditUnavailableError
from gateway.metrics import Metrics

log = structlog.get_logger("gateway.audit")


@dataclass(slots=True)
class _Waiting:
    record: PreparedRecord
    future: asyncio.Future[Sealed]


class AuditWriter:
    """Appends audit records to ``store`` in batches, within bounds."""

    def __init__(
        self,
        store: AuditStore,
        *,
        metrics: Metrics | None = None,
        key: bytes | None = None,
        max_backlog: int = 10_000,
        max_backlog_bytes: int = 64 * 1024 * 1024,
        batch_size: int = 500,
        commit_window: float = 0.002,
        checkpoint_every: int = 10_000,
        checkpoint_interval: float = 60.0,
        probe_interval: float = 1.0,
        retry_after: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._metrics = metrics
        self._key = key or None
        self._max_backlog = max_backlog
        self._max_backlog_bytes = max_backlog_bytes
        self._batch_size = batch_size
        self._commit_window = commit_window
        self._checkpoint_every = checkpoint_every
        self._checkpoint_interval = checkpoint_interval
        self._probe_interval = probe_interval
        self._retry_after = retry_after
        self._clock = clock
        self._queue: list[_Waiting] = []
        self._writing = 0
        self._backlog_bytes = 0
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._closed = False
        self._problem: str | None = None
        self._last: Sealed | None = None  # the last record this writer wrote
        self._checkpointed: Sealed | None = None
        self._since_checkpoint = 0
        self._checkpoint_due = 0.0
        self._answered = time.monotonic()  # when the store last answered
        self._last_batch = 0  # records in the last batch written: are exchanges coming together?
        if metrics is not None:
            metrics.audit_backlog.set_function(lambda: float(self.backlog))

    @property
    def backlog(self) -> int:
        """Records accepted and not yet durable."""
        return len(self._queue) + self._writing

    @property
    def problem(self) -> str | None:
        """Why the writer cannot take records now, or None."""
        if self._closed:
            return "the audit writer is closed"
        if self._problem is not None:
            return self._problem
        if self.backlog >= self._max_backlog:
            return f"the audit backlog is full ({self.backlog} records waiting to be written)"
        return None

    def refuse_if_unavailable(self) -> None:
        """Raise AuditUnavailableError (503 + Retry-After) while :attr:`problem` is set."""
        problem = self.problem
        if problem is not None:
            raise AuditUnavailableError(
                f"the audit log cannot record the exchange: {problem}",
                retry_after=self._retry_after,
            )

    async def start(self) -> None:
        """Start the sender and find out whether the store answers (``problem`` says if not;
        the gateway starts either way and serves once it does)."""
        self._ensure_sender()
        await self._probe()

    async def append(self, entry: AuditEntry) -> Sealed:
        """Write ``entry`` durably; return where it landed in the chain."""
        return await self.append_prepared(entry.prepare())

    async def append_prepared(self, record: PreparedRecord) -> Sealed:
        """:meth:`append` of an entry already serialised."""
        if self._closed:
            raise self._refusal("the audit writer is closed", "unavailable")
        if self.backlog >= self._max_backlog:
            raise self._refusal(
                f"the audit backlog is full ({self.backlog} records waiting to be written)",
                "backlog_full",
            )
        if self._backlog_bytes and self._backlog_bytes + record.size > self._max_backlog_bytes:
            raise self._refusal(
                f"the audit backlog is full ({self._backlog_bytes} bytes waiting to be written)",
                "backlog_full",
            )
        future: asyncio.Future[Sealed] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiting(record, future))
        self._backlog_bytes += record.size
        self._ensure_sender()
        self._wake.set()
        return await asyncio.shield(future)  # the record is written even if its caller leaves

    async def aclose(self) -> None:
        """Write what is queued, sign a last checkpoint, stop; twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._sender is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        with contextlib.suppress(AuditUnavailableError):
            await self._checkpoint()
        await self.store.aclose()

    def _refusal(self, message: str, reason: str) -> AuditUnavailableError:
        if self._metrics is not None:
            self._metrics.audit_failures.labels(reason).inc()
        return AuditUnavailableError(
            f"the audit log cannot record the exchange: {message}", retry_after=self._retry_after
        )

    def _ensure_sender(self) -> None:
        if self._sender is None or self._sender.done():
            self._checkpoint_due = time.monotonic() + self._checkpoint_interval
            self._sender = asyncio.create_task(self._send(), name="audit-writer")

    def _fail(self, message: str) -> None:
        if self._problem is None:
            log.error("audit.unavailable", error=message)
        self._problem = message

    async def _send(self) -> None:
        """Write batches while there are records; between them, checkpoint and probe."""
        while True:
            self._wake.clear()  # before looking: an append from now on wakes the wait below
            if self._queue:
                if self._last_batch > 1 or len(self._queue) > 1:
                    await self._gather_window()
                await self._write_batch()
                continue
            if self._closed:
                return
            now = time.monotonic()
            if self._problem is not None or now - self._answered >= self._probe_interval:
                await self._probe()
            elif self._checkpoint_due <= now:
                await self._checkpoint_quietly()
            wait = (
                self._probe_interval
                if self._problem is not None
                else min(
                    self._probe_interval - (time.monotonic() - self._answered),
                    self._checkpoint_due - time.monotonic(),
                )
            )
            wait = max(0.0, wait)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def _gather_window(self) -> None:
        """Give the records of exchanges finishing now ``commit_window`` seconds to join the
        batch (until it is full): one commit, one fsync, for all of them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._commit_window
        while len(self._queue) < self._batch_size and not self._closed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wake.wait()

    async def _write_batch(self) -> None:
        batch, self._queue = self._queue[: self._batch_size], self._queue[self._batch_size :]
        self._writing = self._last_batch = len(batch)
        try:
            sealed = await self.store.append([w.record for w in batch])
        except Exception as exc:
            message = exc.message if isinstance(exc, AuditUnavailableError) else repr(exc)
            if not isinstance(exc, AuditUnavailableError):
                log.exception("audit.write_failed", records=len(batch))
            self._fail(message)
            # what queued behind the failed batch would meet the same store: fail it now
            failed, self._queue = batch + self._queue, []
            self._settle(failed, None, message)
            return
        finally:
            self._writing = 0
        self._problem = None
        self._answered = time.monotonic()
        self._settle(batch, sealed, None)
        self._last = sealed[-1]
        self._since_checkpoint += len(sealed)
        if self._since_checkpoint >= self._checkpoint_every:
            await self._checkpoint_quietly()

    def _settle(
        self, batch: list[_Waiting], sealed: list[Sealed] | None, problem: str | None
    ) -> None:
        for waiting in batch:
            self._backlog_bytes -= waiting.record.size
        if sealed is not None:
            if self._metrics is not None:
                self._metrics.audit_records.inc(len(sealed))
            for waiting, where in zip(batch, sealed, strict=True):
                if not waiting.future.done():
                    waiting.future.set_result(where)
            return
        if self._metrics is not None:
            self._metrics.audit_failures.labels("unavailable").inc(len(batch))
        for waiting in batch:
            if not waiting.future.done():
                waiting.future.set_exception(
                    AuditUnavailableError(
                        f"the audit log could not record the exchange: {problem}",
                        retry_after=self._retry_after,
                    )
                )

    async def _probe(self) -> None:
        try:
            await self.store.ping()
        except AuditUnavailableError as exc:
            self._fail(exc.message)
        else:
            self._answered = time.monotonic()
            if self._problem is not None:
                log.info("audit.available", store=self.store.location)
                self._problem = None

    async def _checkpoint_quietly(self) -> None:
        try:
            await self._checkpoint()
        except AuditUnavailableError as exc:
            log.warning("audit.checkpoint_failed", error=exc.message)

    async def _checkpoint(self) -> None:
        """Sign the last record written, if anything was written since the last checkpoint."""
        self._checkpoint_due = time.monotonic() + self._checkpoint_interval
        last = self._last
        if self._key is None or last is None or last == self._checkpointed:
            return
        time_us = to_micros(self._clock())
        mac = checkpoint_mac(self._key, last.seq, last.hash, time_us)
        await self.store.add_checkpoint(last.seq, last.hash, time_us, mac)
        self._checkpointed = last
        self._since_checkpoint = 0
        log.info("audit.checkpoint", seq=last.seq)
