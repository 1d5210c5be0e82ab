"""How many messages wait in each queue of the topology, read when ``/metrics`` is scraped.

RabbitMQ answers a passive ``queue.declare`` with the queue's ready-message count, on the
AMQP connection the gateway already has (no management plugin needed). Reading every queue
costs one round trip each, so a scrape reuses figures younger than ``max_age`` seconds, and
several instances scraped at once each read the same shared queues. A queue that does not
exist (yet, or any more) is left out; when the broker cannot be asked, the figures are
cleared rather than left to stand for a past that no longer holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import aiormq
import structlog
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from gateway.broker.broker import close_channel
from gateway.broker.topology import Topology
from gateway.metrics import Metrics

log = structlog.get_logger("gateway.broker")


def queues_of(topology: Topology) -> Iterator[tuple[str, str, str]]:
    """``(destination or service, role, queue)`` for every queue worth watching: work and
    dead-letter queues of destinations (``unrouted`` too), retry queues, service queues."""
    for destination, queue in topology.work_queues.items():
        yield destination, "work", queue
    for destination, queue in topology.dead_letter_queues.items():
        yield destination, "dead_letter", queue
    for destination, queues in topology.retry_queues.items():
        for queue in queues:
            yield destination, "retry", queue
    for service, queue in topology.service_queues.items():
        yield service, "service", queue


class QueueDepths:
    """Refreshes the ``gateway_queue_messages`` gauge from the broker, at most every
    ``max_age`` seconds, each refresh bounded by ``timeout`` seconds."""

    def __init__(self, metrics: Metrics, *, max_age: float = 5.0, timeout: float = 3.0) -> None:
        self._gauge = metrics.queue_messages
        self._max_age = max_age
        self._timeout = timeout
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    async def refresh(
        self, connection: AbstractRobustConnection | None, topology: Topology
    ) -> None:
        """Read every queue's depth, unless the figures are younger than ``max_age``."""
        async with self._lock:
            now = time.monotonic()
            if self._read_at is not None and now - self._read_at < self._max_age:
                return
            self._read_at = now
            if connection is None or connection.is_closed:
                self._gauge.clear()
                return
            try:
                async with asyncio.timeout(self._timeout):
                    depths = await read_depths(connection, topology)
            except (TimeoutError, aiormq.exceptions.AMQPError, ConnectionError) as exc:
                self._gauge.clear()
                log.warning("broker.queue_depths_unread", error=str(exc) or type(exc).__name__)
                return
            self._gauge.clear()
            for (owner, role), count in depths.items():
                self._gauge.labels(owner, role).set(count)


async def read_depths(
    connection: AbstractRobustConnection, topology: Topology
) -> dict[tuple[str, str], int]:
    """``(destination or service, role)`` → messages ready, summed over its queues of that
    role (the retry ladder's steps add up); missing queues are left out."""
    depths: dict[tuple[str, str], int] = {}
    channel: AbstractChannel | None = None
    try:
        for owner, role, queue in queues_of(topology):
            if channel is None or channel.is_closed:
                channel = await connection.channel(publisher_confirms=False)
            try:
                declared = await channel.declare_queue(queue, passive=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                continue  # the broker closed the channel; the next queue opens another
            count = int(declared.declaration_result.message_count or 0)
            depths[owner, role] = depths.get((owner, role), 0) + count
    finally:
        await close_channel(channel)
    return depths
