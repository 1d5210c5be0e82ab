"""The ledger of a file being published: which of its batches reached RabbitMQ, told by
RabbitMQ itself, so that a gateway that died mid-file publishes none of them twice.

Each batch of a file's records is published in one AMQP transaction (``tx.select`` …
``tx.commit``) together with a marker message in the file's own ledger queue,
``<namespace>.filedrop.<feed>.<sha256[:32]>``: the marker and the records are enqueued
together at the commit, or none of them is. A run that resumes the file reads every marker
(and leaves them in the queue); a record a marker names is in its destinations' queues
already and is settled without being published again. The queue is deleted once the file is
archived.

A publish that fails before the commit is sent is known not to have happened (it is tried
again); one whose commit was sent but not answered (the connection dropped) is undecided:
``LedgerUndecidedError`` ends the run, and the resumed run reads the ledger. Publishing is
not ``mandatory`` (aiormq sees no returns outside confirm mode): the destination queues are
checked (passive declare) before each batch and again after its commit, and a batch whose
queue vanished meanwhile is tried again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import Final

import aiormq
import orjson
from aio_pika.abc import AbstractRobustConnection

from gateway.broker import Broker
from gateway.broker.broker import APP_ID, BROKER_FAILURES
from gateway.broker.frames import PublishFrames, write_frames
from gateway.broker.properties import record_properties
from gateway.errors import BrokerUnavailableError, PublishFailedError
from gateway.ingest import PreparedMessage

_CLOSE_TIMEOUT_S: Final = 5.0
#: what opening, using or committing on a channel raises when RabbitMQ is away or refuses
_FAILURES: Final[tuple[type[Exception], ...]] = (*BROKER_FAILURES, TimeoutError, RuntimeError)


class LedgerUndecidedError(Exception):
    """A transaction's commit was sent and not answered: whether it happened is in the
    ledger, read when the file is resumed."""


class FileLedger:
    """Publishes one file's batches in transactions with their markers; reads the markers."""

    def __init__(
        self, broker: Broker, feed: str, sha256: str, *, channels: int, commit_timeout: float
    ) -> None:
        self._broker = broker
        self._commit_timeout = commit_timeout
        namespace = broker.topology.ingress.removesuffix(".ingress")
        self.queue = f"{namespace}.filedrop.{feed}.{sha256[:32]}"
        self._free: list[aiormq.Channel] = []
        self._slots = asyncio.Semaphore(channels)
        self._checked: set[str] = set()

    def _connection(self) -> AbstractRobustConnection:
        if not self._broker.ready:
            raise BrokerUnavailableError(
                f"the message broker is unavailable: {self._broker.problem}"
            )
        return self._broker.connection

    async def published(self) -> set[int]:
        """Declare the ledger queue; the indices of every record its markers name (the
        markers stay in the queue)."""
        found: set[int] = set()
        channel = await self._open()
        try:
            await channel.queue_declare(
                self.queue, durable=True, arguments={"x-queue-type": "classic"}
            )
            while True:
                got = await channel.basic_get(self.queue, no_ack=False)
                if got.body is None or isinstance(got.delivery, aiormq.spec.Basic.GetEmpty):
                    break
                for first, end in orjson.loads(got.body)["runs"]:
                    found.update(range(first, end))
        finally:
            # unacknowledged, every marker goes back to the queue with the channel
            await _close(channel)
        return found

    async def publish(self, messages: Sequence[PreparedMessage], marker_id: str) -> None:
        """Publish every copy of ``messages`` and a marker naming them in one transaction.
        BrokerUnavailableError or PublishFailedError when it did not happen;
        LedgerUndecidedError when it is not known."""
        if not messages:
            return
        destinations = {d for m in messages for d in m.destinations}
        async with self._slots:
            channel = await self._take()
            committing = False
            try:
                await self._check_queues(channel, destinations, cached=True)
                ingress = self._broker.topology.ingress
                frames = PublishFrames(channel.number, channel.max_content_size)
                for message in messages:
                    properties = _properties(message).marshal()
                    for destination in message.destinations:
                        frames.add(ingress, destination, properties, message.body)
                marker = orjson.dumps({"runs": _runs(m.index for m in messages)})
                frames.add("", self.queue, _marker_properties(marker_id), marker)
                await write_frames(channel, frames, timeout=self._commit_timeout)
                committing = True
                async with asyncio.timeout(self._commit_timeout):
                    await channel.tx_commit()
                committing = False
                await self._check_queues(channel, destinations, cached=False)
            except _FAILURES as exc:
                await _close(channel)
                if committing:
                    raise LedgerUndecidedError(str(exc) or type(exc).__name__) from exc
                if isinstance(exc, aiormq.exceptions.ChannelNotFoundEntity):
                    raise PublishFailedError(
                        f"RabbitMQ has no queue for a destination of the file: {exc}",
                        retry_after=1,
                    ) from exc
                raise BrokerUnavailableError(
                    f"the message broker is unavailable: {exc!s}", retry_after=1
                ) from exc
            except BaseException:
                await _close(channel)
                raise
            self._free.append(channel)

    async def delete(self) -> None:
        """Delete the ledger queue (the file is archived; deleting it twice is harmless)."""
        channel = await self._open()
        try:
            await channel.queue_delete(self.queue)
        finally:
            await _close(channel)

    async def aclose(self) -> None:
        """Close the transaction channels."""
        free, self._free = self._free, []
        for channel in free:
            await _close(channel)

    async def _open(self) -> aiormq.Channel:
        connection = self._connection()
        try:
            transport = connection.transport
            if transport is None:
                raise RuntimeError("not connected")
            opened = await transport.connection.channel(publisher_confirms=False)
        except _FAILURES as exc:
            raise BrokerUnavailableError(
                f"the message broker is unavailable: {exc!s}", retry_after=1
            ) from exc
        if not isinstance(opened, aiormq.Channel):  # aiormq's connections make Channel
            await _close(opened)
            raise TypeError(f"unexpected AMQP channel class {type(opened).__name__}")
        return opened

    async def _take(self) -> aiormq.Channel:
        while self._free:
            channel = self._free.pop()
            if not channel.is_closed:
                return channel
        channel = await self._open()
        try:
            await channel.tx_select()
        except BaseException:
            await _close(channel)
            raise
        return channel

    async def _check_queues(
        self, channel: aiormq.Channel, destinations: Iterable[str], *, cached: bool
    ) -> None:
        topology = self._broker.topology
        for destination in sorted(destinations):
            if cached and destination in self._checked:
                continue
            await channel.queue_declare(topology.queue_of(destination), passive=True)
            self._checked.add(destination)


def _properties(message: PreparedMessage) -> aiormq.spec.Basic.Properties:
    envelope = message.envelope
    return record_properties(
        message_id=envelope.message_id,
        correlation_id=envelope.correlation_id,
        schema_id=envelope.schema_id,
        timestamp=envelope.received_at,
        headers=message.headers,
        app_id=APP_ID,
    )


def _marker_properties(marker_id: str) -> bytes:
    return bytes(
        aiormq.spec.Basic.Properties(delivery_mode=2, message_id=marker_id, app_id=APP_ID).marshal()
    )


def _runs(indices: Iterable[int]) -> list[list[int]]:
    """Ascending indices as ``[first, end)`` runs: ``[0, 1, 2, 5]`` → ``[[0, 3], [5, 6]]``."""
    runs: list[list[int]] = []
    for index in sorted(indices):
        if runs and runs[-1][1] == index:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    return runs


async def _close(channel: aiormq.abc.AbstractChannel) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_CLOSE_TIMEOUT_S):
            await channel.close()
