"""The provider worker: one service's request queue → the ministry's service → a reply.

For each request (``prefetch`` at a time):

    past its deadline        dropped without calling the provider (the caller has gone)
    not a valid query        a client.schema_violation reply (the gateway checks queries
                             before publishing them, so this means another publisher)
    the provider answers     the answer, validated against the service's canonical schema,
                             goes back to the request's reply_to
    the provider fails       the ProviderError's code and message go back instead
    an answer that does not  provider.bad_answer, naming the field
    fit the schema

The provider call is bounded by the provider's own timeout and by what is left of the
caller's. Requests are acked once answered (or dropped): they are transient by design, and a
request that a crash interrupts simply times out at the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from pydantic import BaseModel, ValidationError

from adapters.providers.base import ProviderClient
from gateway.broker import BROKER_FAILURES, Topology, cancel_consumer, close_channel
from gateway.errors import ProviderAnswerError, ProviderError, ProviderTimeoutError
from gateway.metrics import Metrics
from gateway.routing import ServiceSpec
from gateway.services import messages as m
from schemas import Query

log = structlog.get_logger("gateway.services")


class ProviderWorker:
    """Consumes one service's request queue and answers each request from its provider."""

    def __init__(
        self,
        service: str,
        spec: ServiceSpec,
        topology: Topology,
        client: ProviderClient,
        *,
        query: type[Query],
        answer: type[BaseModel],
        metrics: Metrics,
    ) -> None:
        self.service = service
        self._spec = spec
        self._queue_name = topology.service_queue_of(service)
        self._client = client
        self._query = query
        self._answer = answer
        self._metrics = metrics
        self._channel: AbstractRobustChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._handling: set[asyncio.Task[None]] = set()

    @property
    def label(self) -> str:
        """What this worker consumes for."""
        return f"service {self.service}"

    @property
    def running(self) -> bool:
        """True while consuming on an open channel."""
        return (
            self._consumer_tag is not None
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def start(self, connection: AbstractRobustConnection) -> None:
        """Open a channel of its own and consume the service's queue."""
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=self._spec.prefetch)
        self._channel = channel
        self._queue = await channel.declare_queue(self._queue_name, passive=True)
        self._consumer_tag = await self._queue.consume(self._on_request)
        log.info("service.worker_started", service=self.service, queue=self._queue_name)

    async def stop_consuming(self) -> None:
        """Take no more requests; those in hand go on."""
        queue, tag, self._consumer_tag = self._queue, self._consumer_tag, None
        await cancel_consumer(self._channel, queue, tag)

    async def stop(self, timeout: float) -> None:
        """Stop consuming, let the requests in hand finish (up to ``timeout``), close."""
        await self.stop_consuming()
        if self._handling:
            _, unfinished = await asyncio.wait(self._handling, timeout=timeout)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        channel, self._channel = self._channel, None
        try:
            await close_channel(channel)
        finally:
            await self._client.aclose()

    async def _on_request(self, message: AbstractIncomingMessage) -> None:
        # Like a delivery, a provider call under way is not abandoned when the channel closes
        # under it: its answer could not go back anyway, but its log line and metrics should.
        task = asyncio.create_task(self._answer_request(message))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)
        await asyncio.shield(task)

    async def _answer_request(self, message: AbstractIncomingMessage) -> None:
        headers = message.headers or {}
        with structlog.contextvars.bound_contextvars(
            message_id=message.message_id,
            request_id=message.correlation_id,
            correlation_id=headers.get(m.CORRELATION),
            service=self.service,
        ):
            try:
                try:
                    reply = await self._reply_to(message)
                except Exception:
                    # a bug of ours, or of the adapter: the caller hears so at once
                    error_id = uuid.uuid4().hex[:16]
                    log.exception("service.worker_failed", error_id=error_id)
                    reply = m.Reply(
                        None,
                        "gateway.internal",
                        500,
                        f"the provider worker failed; error_id {error_id} is in its log",
                    )
                if reply is not None and message.reply_to:
                    await self._send(message, reply)
            except BROKER_FAILURES as exc:
                log.warning("service.reply_not_sent", error=str(exc) or type(exc).__name__)
            finally:
                with contextlib.suppress(*BROKER_FAILURES):
                    await message.ack()

    async def _reply_to(self, message: AbstractIncomingMessage) -> m.Reply | None:
        left = m.seconds_left(message.headers)
        if left is not None and left <= 0:
            log.warning("service.request_expired", late_by_s=round(-left, 3))
            self._metrics.service_requests.labels(self.service, "expired").inc()
            return None
        try:
            query = self._query.model_validate_json(message.body)
        except ValidationError as exc:
            return m.Reply(None, "client.schema_violation", 422, _problems(exc))
        timeout = self._spec.timeout if left is None else left
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                answer = await self._client.call(query)
            record = self._answer.model_validate(answer)
        except TimeoutError:
            error: ProviderError = ProviderTimeoutError(
                f"the provider did not answer within {timeout:g}s"
            )
        except ProviderError as exc:
            error = exc
        except ValidationError as exc:
            error = ProviderAnswerError(
                f"the provider's answer is not a valid {self._answer.__name__}: {_problems(exc)}"
            )
        else:
            elapsed = time.perf_counter() - started
            self._metrics.provider_seconds.labels(self.service).observe(elapsed)
            self._metrics.service_requests.labels(self.service, "answered").inc()
            log.info("service.answered", provider_ms=round(elapsed * 1000, 3))
            return m.Reply(
                m.answer_json(record.model_dump(mode="json")), provider_ms=elapsed * 1000
            )
        elapsed = time.perf_counter() - started
        self._metrics.provider_seconds.labels(self.service).observe(elapsed)
        self._metrics.service_requests.labels(self.service, error.code).inc()
        log.warning("service.provider_failed", code=error.code, provider_ms=elapsed * 1000)
        return m.Reply(None, error.code, error.status, error.message, elapsed * 1000)

    async def _send(self, request: AbstractIncomingMessage, reply: m.Reply) -> None:
        assert self._channel is not None
        assert request.reply_to is not None
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                reply.amqp_body(),
                content_type="application/json" if reply.answer is not None else "text/plain",
                correlation_id=request.correlation_id,
                headers={**reply.amqp_headers(), m.SERVICE: self.service},
                delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
            ),
            routing_key=request.reply_to,
            # RabbitMQ returns a mandatory publish to a direct reply-to address as unroutable
            # even when it delivers it; a caller that has gone is not our concern anyway
            mandatory=False,
        )


def _problems(exc: ValidationError) -> str:
    """A validation error as one line: each field path and what is wrong with it."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"]) or "<record>"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
