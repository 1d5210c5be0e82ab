"""Confirmed publishes started in the same turn of the event loop, written to RabbitMQ at once.

aiormq's ``basic_publish`` spends, per message, a lock, a timeout, a drain future, a turn of
the connection's writer task and a socket write; at thousands of records a second that is
most of what a publish costs the gateway. Requests served concurrently reach their publish
in the same turn of the event loop, and a batch's records reach it together; the outbox
gathers them and, in the next turn, does what ``basic_publish`` does for each (a delivery tag
and a confirmation registered with the channel, the message id mapped to the tag so that a
returned message fails its own publish) under the channel's lock once, encodes all their
frames into one buffer (frames.py) and queues it for the writer once. RabbitMQ confirms (or
returns, or nacks) each message by its delivery tag as before; each caller's future settles
with its own message's outcome.

A message id is how aiormq matches a returned message to its publish, so two messages with
the same id are never in flight on one channel at once: a later one waits in the outbox
until the earlier is settled. A publish whose caller stopped waiting before its write is not
sent, as ``basic_publish`` sends nothing when cancelled before its frames are queued.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import aiormq
from aiormq.abc import ChannelFrame
from aiormq.channel import Returning

from gateway.broker.frames import PublishFrames, short_string


@dataclass(slots=True)
class _Publish:
    exchange: str
    routing_key: str
    message_id: str
    properties: bytes
    body: bytes
    result: asyncio.Future[None] = field(repr=False)


class Outbox:
    """Mandatory publishes on confirm-mode channels, written one turn of the loop at a time."""

    def __init__(self, *, write_timeout: float = 10.0) -> None:
        self._write_timeout = write_timeout
        self._pending: dict[aiormq.Channel, list[_Publish]] = {}
        self._flushing: set[asyncio.Task[None]] = set()
        self._scheduled = False

    def publish(
        self,
        channel: aiormq.Channel,
        *,
        exchange: str,
        routing_key: str,
        message_id: str,
        properties: bytes,
        body: bytes,
    ) -> asyncio.Future[None]:
        """Publish ``body`` (``properties`` as ``Basic.Properties.marshal()`` gives them,
        their message id ``message_id``): a future that is done when RabbitMQ confirmed it,
        or fails with what aiormq raises for a returned (PublishError) or nacked
        (DeliveryError) message or a closed channel, with ValueError for a name AMQP cannot
        carry, or with TimeoutError when the connection took no frames for ``write_timeout``
        seconds. Cancelled before its turn's write, nothing is sent; after, only the wait is
        abandoned."""
        if not channel.publisher_confirms:
            raise ValueError("the outbox publishes on channels in confirm mode only")
        result: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            short_string(exchange)
            short_string(routing_key)
        except ValueError as exc:  # this message only: the others of its turn go on
            result.set_exception(exc)
            return result
        self._add(channel, _Publish(exchange, routing_key, message_id, properties, body, result))
        return result

    async def aclose(self, timeout: float = 5.0) -> None:
        """Wait for the writes under way or scheduled (not for their confirmations); cancel
        those still waiting after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._flushing or self._scheduled:
            remaining = deadline - loop.time()
            if remaining <= 0:
                for task in self._flushing:
                    task.cancel()
                await asyncio.gather(*self._flushing, return_exceptions=True)
                return
            if self._flushing:
                await asyncio.wait(self._flushing, timeout=remaining)
            else:
                await asyncio.sleep(0)  # the scheduled flush runs

    def _add(self, channel: aiormq.Channel, entry: _Publish) -> None:
        self._pending.setdefault(channel, []).append(entry)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, {}
        for channel, entries in pending.items():
            task = asyncio.ensure_future(self._write(channel, entries))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _write(self, channel: aiormq.Channel, entries: list[_Publish]) -> None:
        try:
            async with asyncio.timeout(self._write_timeout), channel.lock:
                entries = self._hold_back_repeated_ids(channel, entries)
                if entries:
                    await self._send(channel, entries)
        except BaseException as exc:  # the channel closed, the connection is stuck or gone
            error = (
                exc
                if isinstance(exc, Exception)
                else aiormq.exceptions.ChannelInvalidStateError("publishing stopped")
            )
            for entry in entries:
                if not entry.result.done():
                    entry.result.set_exception(error)
            if not isinstance(exc, Exception):
                raise

    def _hold_back_repeated_ids(
        self, channel: aiormq.Channel, entries: list[_Publish]
    ) -> list[_Publish]:
        """The entries whose message id is not in flight on ``channel``, less those whose
        caller stopped waiting; each other one is added again once the publish in flight with
        its id is settled."""
        in_flight = channel.message_id_delivery_tag
        free, seen = [], set()
        for entry in entries:
            if entry.result.done():  # abandoned before it was sent: it is not sent
                continue
            if entry.message_id in seen:  # behind one of this write: the next write takes it
                self._add(channel, entry)
            elif entry.message_id in in_flight:
                confirmation = channel.confirmations.get(in_flight[entry.message_id])
                if (
                    isinstance(confirmation, asyncio.Future)
                    and not isinstance(confirmation, Returning)  # never done: the ack pops it
                    and not confirmation.done()
                ):
                    confirmation.add_done_callback(self._readder(channel, entry))
                else:  # settled, its id not forgotten yet: after this write
                    self._add(channel, entry)
            else:
                seen.add(entry.message_id)
                free.append(entry)
        return free

    def _readder(self, channel: aiormq.Channel, entry: _Publish) -> Any:
        def readd(_: asyncio.Future[Any]) -> None:
            self._add(channel, entry)

        return readd

    async def _send(self, channel: aiormq.Channel, entries: list[_Publish]) -> None:
        """Register every entry's delivery tag and confirmation, then queue their frames:
        what ``basic_publish`` does for one message, under the lock the caller holds."""
        frames = PublishFrames(channel.number, channel.max_content_size)
        for entry in entries:
            frames.add(
                entry.exchange, entry.routing_key, entry.properties, entry.body, mandatory=True
            )
        first = channel.delivery_tag + 1
        registered: list[tuple[int, str]] = []
        try:
            for tag, entry in enumerate(entries, first):
                confirmation = channel.create_future()
                channel.confirmations[tag] = confirmation
                channel.message_id_delivery_tag[entry.message_id] = tag
                registered.append((tag, entry.message_id))
                confirmation.add_done_callback(_settler(channel, entry, tag))
            channel.delivery_tag = first + len(entries) - 1
            drained = channel.create_future()
            await channel.write_queue.put(
                ChannelFrame(payload=frames.payload(), should_close=False, drain_future=drained)
            )
        except BaseException:
            # RabbitMQ has not seen these publishes: their tags are given back, as
            # basic_publish gives back the tag of a publish it did not send
            channel.delivery_tag = first - 1
            for tag, message_id in registered:
                if channel.message_id_delivery_tag.get(message_id) == tag:
                    del channel.message_id_delivery_tag[message_id]
                if tag in channel.confirmations:
                    confirmation = channel.confirmations.pop(tag)
                    if isinstance(confirmation, asyncio.Future):
                        confirmation.cancel()
            raise


def _settler(channel: aiormq.Channel, entry: _Publish, tag: int) -> Any:
    """The callback that hands a confirmation's outcome to the caller's future and forgets
    the message id's tag."""

    def settle(confirmation: asyncio.Future[Any]) -> None:
        if channel.message_id_delivery_tag.get(entry.message_id) == tag:
            del channel.message_id_delivery_tag[entry.message_id]
        result = entry.result
        if result.done():
            return
        if confirmation.cancelled():
            result.set_exception(aiormq.exceptions.ChannelInvalidStateError("publish abandoned"))
            return
        error = confirmation.exception()
        if error is not None:
            result.set_exception(error)
        elif isinstance(confirmation.result(), aiormq.spec.Basic.Ack):
            result.set_result(None)
        else:  # a returned message handed back as a result (a channel without on_return_raises)
            returned = confirmation.result()
            result.set_exception(aiormq.exceptions.PublishError(returned, returned.delivery))

    return settle
