"""The delivery worker: one destination's work queue → the receiving system.

For each message (``prefetch`` at a time):

    claim the dedup key      already delivered → ack, nothing sent; being delivered by another
                             worker right now → back on the ladder's first step
    deliver                  through the outbound adapter, with short in-process retries
    success                  mark the key done, then ack
    transient failure        release the key; a copy goes to the next delay queue of the ladder
                             (attempt count + 1), then ack; past the last step → dead letter
    permanent failure        release the key; a copy goes to the dead-letter queue, then ack
    malformed message        (not a JSON object, or no message id to deduplicate by)
                             → dead letter at once, never a loop
    broker failure mid-way   (channel lost, a copy not confirmed) → back to the work queue;
                             the message is not at fault
    a bug of ours            → rejected, so RabbitMQ dead-letters it through the queue's DLX

A copy is published with a confirm before the original is acked, so a crash in between leaves
the original to be delivered again (and the dedup key stops a second delivery). Cancellation
(shutdown) returns an unfinished message to its queue; it is never dead-lettered for that.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

import aio_pika
import orjson
import structlog
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)

from adapters.outbound import Delivery, OutboundAdapter
from gateway.broker import BROKER_FAILURES, Topology, cancel_consumer, close_channel
from gateway.dedup import IdempotencyStore, dedup_key
from gateway.delivery import headers as h
from gateway.delivery.retry import immediate_retrying
from gateway.errors import (
    DedupUnavailableError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from gateway.metrics import Metrics
from gateway.routing import DestinationSpec

log = structlog.get_logger("gateway.delivery")
Hook = Callable[[AbstractIncomingMessage], Awaitable[None]]
Decision = Literal["deliver", "ack", "settled"]
#: how long a claim outlives the longest an attempt can take, before others may take it over
_LEASE_MARGIN_S = 30.0
_PUBLISH_TIMEOUT_S = 10.0


class MalformedMessageError(Exception):
    """The message cannot be handled at all (e.g. its dedup key cannot be read)."""


def _canonical_body(message: AbstractIncomingMessage) -> dict[str, Any]:
    """The body as the canonical JSON object it must be; anything else is malformed."""
    try:
        body = orjson.loads(message.body)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessageError(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise MalformedMessageError("the body is not a JSON object")
    return body


class DeliveryWorker:
    """Consumes one destination's work queue and delivers every message exactly once."""

    def __init__(
        self,
        destination: str,
        spec: DestinationSpec,
        topology: Topology,
        deliverer: OutboundAdapter,
        *,
        store: IdempotencyStore | None,
        metrics: Metrics,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        before_ack: Hook | None = None,
    ) -> None:
        self.destination = destination
        self._spec = spec
        self._work_queue = topology.queue_of(destination)
        self._dead_letter_queue = topology.dead_letter_queue_of(destination)
        self._retry_queues = topology.retry_queues.get(destination, ())
        self._deliverer = deliverer
        self._store = store if spec.dedup is not None else None
        self._metrics = metrics
        self._sleep = sleep
        self._before_ack = before_ack
        self._channel: AbstractRobustChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._handling: set[asyncio.Task[None]] = set()
        immediate = spec.retry.immediate
        timeout = spec.deliver.timeout if spec.deliver is not None else 30.0
        self._lease_s = immediate.attempts * (timeout + immediate.max_wait) + _LEASE_MARGIN_S

    @property
    def label(self) -> str:
        """What this worker consumes for."""
        return f"destination {self.destination}"

    @property
    def running(self) -> bool:
        """True while consuming on an open channel."""
        return (
            self._consumer_tag is not None
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def start(self, connection: AbstractRobustConnection) -> None:
        """Open a channel of its own and start consuming the work queue."""
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=self._spec.prefetch)
        self._channel = channel
        self._queue = await channel.declare_queue(self._work_queue, passive=True)
        self._consumer_tag = await self._queue.consume(self._on_message)
        log.info("delivery.started", destination=self.destination, queue=self._work_queue)

    async def stop_consuming(self) -> None:
        """Take no more messages; those in hand go on."""
        queue, tag, self._consumer_tag = self._queue, self._consumer_tag, None
        await cancel_consumer(self._channel, queue, tag)

    async def stop(self, timeout: float) -> None:
        """Stop taking messages, let those in hand finish (up to ``timeout``), close.

        What is still unfinished then goes back to the queue unacked, with the channel."""
        await self.stop_consuming()
        if self._in_flight:
            log.info("delivery.draining", destination=self.destination, in_flight=self._in_flight)
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            log.warning(
                "delivery.drain_timeout",
                destination=self.destination,
                returned_to_queue=self._in_flight,
            )
            for task in self._handling:
                task.cancel()  # each gives its message back to the queue and its key up
            await asyncio.gather(*self._handling, return_exceptions=True)
        channel, self._channel = self._channel, None
        try:
            await close_channel(channel)  # anything still unacked goes back to the queue
        finally:
            await self._deliverer.aclose()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # The channel cancels this callback when it closes (a broker outage). The handling
        # goes on in a task of its own, so that a delivery in flight is finished and recorded
        # rather than abandoned half-way: abandoned, its dedup key would be released while the
        # receiver may already have the message, and the redelivery would send it twice.
        task = asyncio.create_task(self._handle_counted(message))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)
        await asyncio.shield(task)

    async def _handle_counted(self, message: AbstractIncomingMessage) -> None:
        self._in_flight += 1
        self._idle.clear()
        try:
            with structlog.contextvars.bound_contextvars(
                message_id=message.message_id,
                correlation_id=message.correlation_id,
                destination=self.destination,
            ):
                await self._handle_safely(message)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _handle_safely(self, message: AbstractIncomingMessage) -> None:
        """Handle one message; whatever fails, settle it so that it neither loops nor is lost."""
        try:
            await self._handle(message)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
            raise
        except BROKER_FAILURES as exc:
            # The broker went away or refused a copy mid-way; the message itself is fine. It
            # goes back to its queue (after a pause, so a broken broker is not hammered), or,
            # with the channel gone, RabbitMQ redelivers it by itself after the reconnect.
            log.warning("delivery.broker_unavailable", error=str(exc) or type(exc).__name__)
            if self._channel is not None and not self._channel.is_closed:
                await self._sleep(1.0)
                with contextlib.suppress(*BROKER_FAILURES):
                    await message.nack(requeue=True)
        except Exception:
            # A failure of our own (a bug): reject without requeue, so RabbitMQ dead-letters
            # the message through the queue's DLX instead of looping on it.
            log.exception("delivery.failed_unexpectedly")
            with contextlib.suppress(*BROKER_FAILURES):
                await message.reject(requeue=False)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        attempts = h.attempts_of(message.headers)
        try:
            key = self._dedup_key(message, _canonical_body(message))
        except MalformedMessageError as exc:
            await self._dead_letter(message, "malformed", str(exc), attempts)
            await message.ack()
            return
        try:
            # before the claim: a slow first WSDL load must not eat into the claim's lease
            await self._deliverer.prepare()
        except (TransientDeliveryError, PermanentDeliveryError) as exc:
            await self._after_failure(message, exc, attempts + 1)
            await message.ack()
            return
        owner = uuid.uuid4().hex
        if key is not None:
            decision = await self._claim(message, key, owner, attempts)
            if decision == "ack":
                await message.ack()
            if decision != "deliver":
                return
        started = time.perf_counter()
        try:
            await self._deliver(message, attempts + 1)
        except (TransientDeliveryError, PermanentDeliveryError) as exc:
            await self._release(key, owner)
            await self._after_failure(message, exc, attempts + 1)
            await message.ack()
            return
        except BaseException:
            await self._release(key, owner)
            raise
        self._metrics.delivery_seconds.labels(self.destination).observe(
            time.perf_counter() - started
        )
        if key is not None:
            await self._complete(key, owner, message)
        self._metrics.deliveries.labels(self.destination, "delivered").inc()
        log.info("delivery.delivered", attempt=attempts + 1)
        if self._before_ack is not None:
            await self._before_ack(message)
        await message.ack()

    async def _claim(
        self, message: AbstractIncomingMessage, key: str, owner: str, attempts: int
    ) -> Decision:
        """``deliver``; or ``ack`` (a duplicate, or postponed by a copy on the ladder); or
        ``settled`` (returned to its queue)."""
        assert self._store is not None
        assert self._spec.dedup is not None
        try:
            claim = await self._store.claim(
                self._scope,
                key,
                owner=owner,
                lease_s=self._lease_s,
                retention_s=self._spec.dedup.window,
            )
        except DedupUnavailableError as exc:
            return await self._retry_later(message, attempts, f"dedup store unavailable: {exc}")
        if claim.state == "done":
            self._metrics.deliveries.labels(self.destination, "duplicate").inc()
            self._metrics.dedup_hits.labels(self._scope).inc()
            log.info("delivery.duplicate_skipped", original_message_id=claim.message_id)
            return "ack"
        if claim.state == "busy":
            return await self._retry_later(message, attempts, "being delivered by another worker")
        return "deliver"

    async def _complete(self, key: str, owner: str, message: AbstractIncomingMessage) -> None:
        assert self._store is not None
        assert self._spec.dedup is not None
        try:
            await self._store.complete(
                self._scope,
                key,
                owner=owner,
                message_id=message.message_id or key,
                retention_s=self._spec.dedup.window,
            )
        except DedupUnavailableError as exc:
            # Delivered, and about to be acked: only a redelivery could send it twice.
            log.error("delivery.dedup_not_recorded", error=str(exc))

    async def _release(self, key: str | None, owner: str) -> None:
        if key is None or self._store is None:
            return
        try:
            await self._store.release(self._scope, key, owner=owner)
        except DedupUnavailableError as exc:
            log.warning("delivery.dedup_not_released", error=str(exc))

    @property
    def _scope(self) -> str:
        return f"destination:{self.destination}"

    def _dedup_key(self, message: AbstractIncomingMessage, body: dict[str, Any]) -> str | None:
        if self._store is None or self._spec.dedup is None:
            return None
        key = dedup_key(self._spec.dedup.key, message.message_id, body)
        if key is None:
            raise MalformedMessageError(
                f"the message has no message_id to deduplicate by ({self._spec.dedup.key})"
            )
        return key

    async def _deliver(self, message: AbstractIncomingMessage, attempt: int) -> None:
        headers = message.headers or {}
        delivery = Delivery(
            body=message.body,
            message_id=message.message_id or "",
            correlation_id=message.correlation_id,
            schema_id=message.type,
            envelope={k: str(v) for k, v in headers.items() if isinstance(v, str | int)},
            attempt=attempt,
        )
        async for try_ in immediate_retrying(self._spec.retry.immediate, self._sleep):
            with try_:
                await self._deliverer.deliver(delivery)

    async def _after_failure(
        self,
        message: AbstractIncomingMessage,
        error: TransientDeliveryError | PermanentDeliveryError,
        attempts: int,
    ) -> None:
        if isinstance(error, PermanentDeliveryError):
            await self._dead_letter(message, "rejected", error, attempts)
        elif attempts <= len(self._retry_queues):
            await self._to_ladder(message, attempts, error.message, step=attempts - 1)
            self._metrics.deliveries.labels(self.destination, "retried").inc()
            log.warning("delivery.retry_scheduled", attempt=attempts, error=error.summary)
        else:
            await self._dead_letter(message, "retries_exhausted", error, attempts)

    async def _retry_later(
        self, message: AbstractIncomingMessage, attempts: int, why: str
    ) -> Decision:
        """Put the message back after the first delay, without counting an attempt."""
        log.warning("delivery.postponed", reason=why)
        if self._retry_queues:
            await self._to_ladder(message, attempts, why, step=0)
            return "ack"
        await self._sleep(1.0)
        await message.nack(requeue=True)
        return "settled"

    async def _to_ladder(
        self, message: AbstractIncomingMessage, attempts: int, error: str, step: int
    ) -> None:
        await self._publish_copy(
            message, self._retry_queues[step], self._failure_headers(message, attempts, error)
        )

    async def _dead_letter(
        self,
        message: AbstractIncomingMessage,
        reason: str,
        error: str | DeliveryError,
        attempts: int,
    ) -> None:
        """The message to the dead-letter queue with the whole error; the log gets the
        error's summary, which quotes nothing the receiver said."""
        full, summary = (
            (error.message, error.summary)
            if isinstance(error, DeliveryError)
            else (
                error,
                error,
            )
        )
        headers = self._failure_headers(message, attempts, full)
        headers[h.REASON] = reason
        await self._publish_copy(message, self._dead_letter_queue, headers)
        self._metrics.deliveries.labels(self.destination, "dead_lettered").inc()
        log.error("delivery.dead_lettered", reason=reason, attempts=attempts, error=summary)

    def _failure_headers(
        self, message: AbstractIncomingMessage, attempts: int, error: str
    ) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        headers = h.carried_headers(message.headers)
        headers.setdefault(h.FIRST_FAILED_AT, now)
        headers.update(
            {
                h.ATTEMPTS: attempts,
                h.DESTINATION: self.destination,
                h.LAST_ERROR: error[:1000],
                h.LAST_FAILED_AT: now,
            }
        )
        return headers

    async def _publish_copy(
        self, message: AbstractIncomingMessage, queue: str, headers: dict[str, Any]
    ) -> None:
        """The message, body byte for byte and properties kept, to ``queue``, confirmed."""
        assert self._channel is not None
        copy = aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            priority=message.priority,
            correlation_id=message.correlation_id,
            message_id=message.message_id,
            timestamp=message.timestamp,
            type=message.type,
            app_id=message.app_id,
        )
        await self._channel.default_exchange.publish(
            copy, routing_key=queue, mandatory=True, timeout=_PUBLISH_TIMEOUT_S
        )
