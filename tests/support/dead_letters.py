"""Dead-letter queues filled by hand: the topology declared as the gateway declares it, and
messages dead-lettered the way the delivery worker does (or RabbitMQ itself)."""

import asyncio
from datetime import UTC, datetime
from unittest import mock

import aio_pika
import aiormq.channel
from aio_pika.abc import AbstractChannel

from gateway.broker import Topology
from gateway.delivery import headers as h
from tests.support.amqp import depth


async def declare_topology(url: str, topology: Topology) -> None:
    """Declare every exchange, queue and binding of ``topology`` (as gateway.broker does)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchanges = {}
        for decl in topology.exchanges:
            exchanges[decl.name] = await channel.declare_exchange(
                decl.name, aio_pika.ExchangeType(decl.type), durable=True
            )
        for queue_decl in topology.queues:
            queue = await channel.declare_queue(
                queue_decl.name, durable=True, arguments=queue_decl.declare_arguments()
            )
            if queue_decl.bind_to:
                await queue.bind(exchanges[queue_decl.bind_to], routing_key=queue_decl.routing_key)


def record_body(number: int) -> bytes:
    """A canonical-looking JSON body, distinct per ``number``, with non-ASCII text."""
    return (
        b'{"report_number":"IIV-2026-%07d","summary":"\xd0\x9e\xd0\xb3\xd0\xb8\xd0\xb7 '
        b'kesilgan","severity":"grave"}' % number
    )


async def put_dead_letter(
    channel: AbstractChannel,
    queue: str,
    body: bytes,
    *,
    message_id: str | None,
    reason: str = "rejected",
    attempts: int = 1,
    failed_at: datetime | None = None,
    first_failed_at: datetime | None = None,
    last_error: str = "HTTP 400 from the receiver: fake receiver says 400",
    destination: str = "etergov.crime-reports",
    headers: dict | None = None,
) -> None:
    """Publish ``body`` to ``queue`` (a DLQ) as the delivery worker dead-letters a message:
    the envelope's properties and headers, plus the failure headers."""
    failed_at = failed_at or datetime.now(UTC)
    first_failed_at = first_failed_at or failed_at
    await channel.default_exchange.publish(
        aio_pika.Message(
            body,
            headers={
                "client": "mvd.crime-registry",
                "feed": "crime-reports",
                "schema": "crime_report/1",
                "received_at": first_failed_at.isoformat(),
                **(headers or {}),
                h.ATTEMPTS: attempts,
                h.DESTINATION: destination,
                h.REASON: reason,
                h.LAST_ERROR: last_error,
                h.FIRST_FAILED_AT: first_failed_at.isoformat(),
                h.LAST_FAILED_AT: failed_at.isoformat(),
            },
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id,
            correlation_id=f"corr-{message_id}",
            timestamp=first_failed_at.replace(microsecond=0),
            type="crime_report/1",
            app_id="e-integratsiya",
        ),
        routing_key=queue,
    )


class _NoId:
    """Stands in for uuid.UUID in aiormq.channel: its ``hex`` is None, so no message id."""

    hex = None

    def __init__(self, **_: object) -> None:
        pass


async def publish_without_message_id(channel: AbstractChannel, queue: str, body: bytes) -> None:
    """Publish ``body`` to ``queue`` with no message id at all, as other AMQP clients may.

    aiormq gives every message it publishes a random message id (it matches returned messages
    by it); RabbitMQ needs none, so for this one publish aiormq's UUID makes an id of None.
    """
    with mock.patch.object(aiormq.channel, "UUID", _NoId):
        await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue)


async def dead_letter_by_broker(
    channel: AbstractChannel, work_queue: str, dead_letter_queue: str, body: bytes
) -> None:
    """Publish ``body`` (no message id, no headers) to ``work_queue``, take it and reject it:
    RabbitMQ dead-letters it to ``dead_letter_queue`` with its own x-death header only."""
    before = await depth(channel, dead_letter_queue)
    await publish_without_message_id(channel, work_queue, body)
    queue = await channel.get_queue(work_queue, ensure=False)
    async with asyncio.timeout(10):
        while True:
            message = await queue.get(no_ack=False, fail=False)
            if message is not None:
                break
            await asyncio.sleep(0.02)
        await message.reject(requeue=False)
        await until_depth(channel, dead_letter_queue, before + 1)


async def until_depth(channel: AbstractChannel, queue: str, expected: int) -> None:
    """Wait until ``queue`` holds ``expected`` messages (10 s at most)."""
    async with asyncio.timeout(10):
        while True:
            if await depth(channel, queue) == expected:
                return
            await asyncio.sleep(0.02)
