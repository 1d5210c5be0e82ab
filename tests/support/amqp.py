"""Reading what the gateway published, and cleaning up after a test."""

import asyncio
from collections.abc import Callable

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from gateway.broker import Topology


async def take(
    channel: AbstractChannel, queue: str, count: int, timeout: float = 10.0
) -> list[AbstractIncomingMessage]:
    """Exactly ``count`` messages from ``queue`` (acked), waiting up to ``timeout`` for them."""
    q = await channel.get_queue(queue, ensure=True)
    messages: list[AbstractIncomingMessage] = []
    async with asyncio.timeout(timeout):
        while len(messages) < count:
            message = await q.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.02)
            else:
                messages.append(message)
    return messages


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait until ``condition()`` holds (a deadline against hanging, not a timing check)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (a plain condition: nothing to await)
            await asyncio.sleep(0.01)


async def depth(channel: AbstractChannel, queue: str) -> int:
    """How many messages ``queue`` holds now."""
    declared = await channel.declare_queue(queue, passive=True)
    return int(declared.declaration_result.message_count or 0)


async def drained(channel: AbstractChannel, queue: str, timeout: float = 15.0) -> None:
    """Wait until ``queue`` holds no message (a deadline against hanging, not a timing check)."""
    async with asyncio.timeout(timeout):
        while await depth(channel, queue):  # noqa: ASYNC110 (the broker is polled)
            await asyncio.sleep(0.05)


async def delete_topology(url: str, topology: Topology) -> None:
    """Delete every queue and exchange of ``topology``."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for queue in topology.queues:
            await channel.queue_delete(queue.name)
        for exchange in topology.exchanges:
            await channel.exchange_delete(exchange.name)
