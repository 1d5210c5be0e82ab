"""The gateway's side of a record request: publish it, wait for its reply, or time out.

Replies come by RabbitMQ's direct reply-to (no queue to declare or clean up): the caller's
channel consumes ``amq.rabbitmq.reply-to`` and every request it publishes names it as
``reply_to``. Each request has a fresh id as correlation id; its reply is matched by that id
alone, so a reply that arrives after its request timed out finds nobody waiting: it is dropped
and logged, and can never reach another caller.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
)

from gateway.broker import BROKER_FAILURES, Broker, close_channel
from gateway.errors import BrokerUnavailableError, ProviderTimeoutError
from gateway.metrics import Metrics
from gateway.services import messages as m

log = structlog.get_logger("gateway.services")
APP_ID = "e-integratsiya"


class ServiceCaller:
    """Publishes record requests to provider queues and hands each reply to its caller."""

    def __init__(self, broker: Broker, metrics: Metrics, *, retry_after: int = 5) -> None:
        self._broker = broker  # its topology is the routing table's in force, reloads included
        self._metrics = metrics
        self._retry_after = retry_after
        self._channel: AbstractRobustChannel | None = None
        self._pending: dict[str, asyncio.Future[m.Reply]] = {}

    @property
    def label(self) -> str:
        """What this consumer consumes for."""
        return "record request replies"

    @property
    def running(self) -> bool:
        """True while the reply consumer runs on an open channel."""
        return self._channel is not None and not self._channel.is_closed

    async def stop_consuming(self) -> None:
        """Nothing: replies keep coming for the requests still being answered."""

    async def stop(self, timeout: float) -> None:
        """Close (the requests still waiting time out at their callers)."""
        await self.aclose()

    async def start(self, connection: AbstractRobustConnection) -> None:
        """Open the channel, consume direct replies (restored by aio-pika after a reconnect)."""
        channel = await connection.channel(publisher_confirms=False)
        replies = await channel.declare_queue(m.DIRECT_REPLY_TO, passive=True)
        await replies.consume(self._on_reply, no_ack=True)
        self._channel = channel

    async def aclose(self) -> None:
        """Close the channel; callers still waiting time out as they would."""
        channel, self._channel = self._channel, None
        await close_channel(channel)

    async def request(
        self,
        service: str,
        query: bytes,
        *,
        query_id: str,
        timeout: float,
        headers: Mapping[str, str],
    ) -> m.Reply:
        """Publish ``query`` for ``service`` and wait up to ``timeout`` for the reply.

        Raises BrokerUnavailableError when the request cannot be published, and
        ProviderTimeoutError when no reply comes in time.
        """
        channel = self._channel
        if channel is None or channel.is_closed:
            raise BrokerUnavailableError(
                "the message broker is unavailable: no channel for record requests",
                retry_after=self._retry_after,
            )
        request_id = str(uuid.uuid4())
        future: asyncio.Future[m.Reply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message = aio_pika.Message(
            query,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
            message_id=request_id,
            correlation_id=request_id,
            reply_to=m.DIRECT_REPLY_TO,
            expiration=timeout,
            timestamp=datetime.now(UTC),
            type=query_id,
            app_id=APP_ID,
            headers={**headers, m.SERVICE: service, m.DEADLINE: str(m.deadline_after(timeout))},
        )
        started = time.monotonic()
        structlog.contextvars.bind_contextvars(message_id=request_id)
        try:
            try:
                await channel.default_exchange.publish(
                    message, routing_key=self._broker.topology.service_queue_of(service)
                )
            except BROKER_FAILURES as exc:
                raise BrokerUnavailableError(
                    f"the message broker is unavailable: {exc!s}", retry_after=self._retry_after
                ) from exc
            try:
                async with asyncio.timeout(max(0.0, timeout - (time.monotonic() - started))):
                    return await future
            except TimeoutError:
                raise ProviderTimeoutError(
                    f"service {service!r} did not answer within {timeout:g}s",
                    details={"request_id": request_id},
                ) from None
        finally:
            self._pending.pop(request_id, None)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        request_id = message.correlation_id or ""
        future = self._pending.pop(request_id, None)
        if future is None or future.done():
            self._metrics.late_replies.inc()
            log.warning(
                "service.late_reply_dropped",
                request_id=request_id,
                service=(message.headers or {}).get(m.SERVICE),
            )
            return
        future.set_result(m.Reply.from_amqp(message.body, message.headers))
