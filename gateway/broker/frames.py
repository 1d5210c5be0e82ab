"""The frames of many publishes on one channel, encoded into one buffer and written at once.

aiormq's ``basic_publish`` handles one message at a time: it builds pamqp frame objects,
marshals them, takes the channel's lock under a timeout, queues the bytes for the
connection's writer task and waits for that task to have written them: a socket write and
several turns of the event loop per message. A file's batch is hundreds of records in one
transaction, where nothing is confirmed one by one, so :class:`PublishFrames` encodes the
whole batch (AMQP 0-9-1 §4.2.3: for each message a ``basic.publish`` method frame, a content
header frame, the body in frames of at most the connection's frame size) and
:func:`write_frames` hands it to the same writer in one piece, after whatever the channel
has queued before. The bytes are those aiormq and pamqp would write for each message;
tests/gateway/broker/test_frames.py compares them.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Final

import aiormq
from aiormq.abc import ChannelFrame

_HEAD: Final = struct.Struct(">BHI")  # frame type, channel, payload size
_END: Final = b"\xce"
_METHOD: Final = 1
_HEADER: Final = 2
_BODY: Final = 3
_BASIC_PUBLISH: Final = struct.pack(">HHH", 60, 40, 0)  # class, method, reserved ticket
_CONTENT: Final = struct.Struct(">HHQ")  # class, weight, body size
_BASIC: Final = 60


class PublishFrames:
    """The frames of publishes on channel ``channel``, bodies cut at ``max_content`` bytes
    (the connection's frame size less a body frame's overhead; none or less: not cut, as
    aiormq does for a connection without a frame size limit)."""

    def __init__(self, channel: int, max_content: int) -> None:
        self._channel = channel
        self._max_content = max_content
        self._parts: list[bytes] = []
        self._methods: dict[tuple[str, str, bool], bytes] = {}
        self.count = 0

    def add(
        self,
        exchange: str,
        routing_key: str,
        properties: bytes,
        body: bytes,
        *,
        mandatory: bool = False,
    ) -> None:
        """One message: ``properties`` as ``Basic.Properties.marshal()`` gives them; a
        ``mandatory`` one RabbitMQ returns when no queue takes it."""
        key = (exchange, routing_key, mandatory)
        method = self._methods.get(key)
        if method is None:
            method = self._methods[key] = self._frame(
                _METHOD,
                _BASIC_PUBLISH
                + short_string(exchange)
                + short_string(routing_key)
                + (b"\x01" if mandatory else b"\x00"),
            )
        parts = self._parts
        parts.append(method)
        parts.append(self._frame(_HEADER, _CONTENT.pack(_BASIC, 0, len(body)) + properties))
        if len(body) < self._max_content or self._max_content <= 0:
            if body:
                parts.append(self._frame(_BODY, body))
        else:
            for start in range(0, len(body), self._max_content):
                parts.append(self._frame(_BODY, body[start : start + self._max_content]))
        self.count += 1

    def payload(self) -> bytes:
        """Every frame added, in order."""
        return b"".join(self._parts)

    def _frame(self, kind: int, payload: bytes) -> bytes:
        return _HEAD.pack(kind, self._channel, len(payload)) + payload + _END


async def write_frames(channel: aiormq.Channel, frames: PublishFrames, *, timeout: float) -> None:
    """Queue ``frames`` for the connection's writer under the channel's lock, as
    ``basic_publish`` queues one message's, and wait until they are written to the socket
    (TimeoutError after ``timeout`` seconds: the connection is gone or stuck)."""
    drained = asyncio.get_running_loop().create_future()
    try:
        async with asyncio.timeout(timeout):
            async with channel.lock:
                await channel.write_queue.put(
                    ChannelFrame(payload=frames.payload(), should_close=False, drain_future=drained)
                )
            await drained
    finally:
        # a writer that reaches the frames later still writes them (only the drain is
        # skipped): a caller that gave up must make them harmless, as the ledger does by
        # closing the channel of the uncommitted transaction
        drained.cancel()


def short_string(value: str) -> bytes:
    """``value`` as an AMQP short string (a length octet, then UTF-8); ValueError when it
    is over 255 bytes."""
    data = value.encode("utf-8")
    if len(data) > 255:
        raise ValueError(f"an AMQP short string is at most 255 bytes: {value[:40]!r}…")
    return bytes((len(data),)) + data
