"""Dead-letter queues for operators: list, show, replay and purge, never losing a message.

    list      every message of a destination's DLQ, oldest first, left exactly where it was
    get       one message, by its id
    replay    a copy back to the destination's work queue (failure headers removed, a replay
              mark added); the original is acked only once the broker confirmed the copy
    purge     the messages whose last failure is older than a cutoff, acked (deleted)

**Browsing without loss.** Each operation reads the DLQ on a channel of its own with
``basic.get`` and no auto-ack, at most as many messages as the queue held when it was passively
declared (so a concurrent publisher cannot keep it reading forever). Nothing is ever
republished to the DLQ: the messages an operation does not remove go back when it closes its
channel without acking them, and RabbitMQ puts them back at their original positions (the DLQ
is a classic queue). A message is removed only by an ack; for a replay, only after its copy on
the work queue was confirmed (persistent, mandatory, on a publisher-confirm channel).

**Ids.** A dead letter's id is its ``message_id``; without one, ``sha256:`` and the first 16 hex
digits of the SHA-256 of its body. The second, third, ... message with the same id (in queue
order) gets ``#2``, ``#3``, ... appended, so every message can be named. An id may be
abbreviated to a prefix of at least :data:`MIN_PREFIX` characters that starts exactly one id;
an exact id always wins over a prefix.

**A replayed copy** keeps the body byte for byte and the properties the delivery worker keeps
(content type and encoding, priority, correlation and message id, timestamp, type, app id,
reply-to; persistent). Its headers are the original's without the failure headers
(``attempts``, ``destination``, ``dead_letter_reason``, ``last_error``, ``first_failed_at``,
``last_failed_at``) and without RabbitMQ's bookkeeping (``x-death``, ``x-first-death-*``,
``x-last-death-*``, ``x-delivery-count``), plus ``replayed_at`` (now, ISO 8601 UTC) and
``replays`` (the previous count + 1), so the worker starts it afresh at attempt 1. A message
without a ``message_id`` is given its derived id (``sha256:...``) as ``message_id`` (the AMQP
client would otherwise give it a random one, and a destination that deduplicates by message
id needs one).

Errors (broker failures are translated to :class:`~gateway.errors.BrokerUnavailableError`)::

    DeadLetterError                       base of this module's errors
    ├── QueueMissingError                 the DLQ (or the work queue) does not exist on the broker
    ├── UnknownDeadLetterError            no message has that id, or a prefix starts several
    └── ReplayFailedError                 a copy was not confirmed (or its original not acked);
                                          ``replayed`` lists the messages that were replayed
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractIncomingMessage,
    AbstractQueue,
)

from gateway.broker import BROKER_FAILURES, Topology
from gateway.delivery import headers as h
from gateway.errors import BrokerUnavailableError

log = structlog.get_logger("gateway.dlq")

#: the shortest prefix accepted for an id (like git's abbreviated commit ids)
MIN_PREFIX = 4
#: how long one ``basic.get`` may take before the broker counts as failing
_GET_TIMEOUT_S = 10.0
#: the AMQP properties of a message, as aio-pika names them
_PROPERTIES = (
    "content_type",
    "content_encoding",
    "delivery_mode",
    "priority",
    "correlation_id",
    "reply_to",
    "expiration",
    "message_id",
    "timestamp",
    "type",
    "user_id",
    "app_id",
)
#: the properties a replayed copy keeps (user_id would be checked against our login; a replay
#: must not expire)
_KEPT_PROPERTIES = (
    "content_type",
    "content_encoding",
    "priority",
    "correlation_id",
    "reply_to",
    "message_id",
    "timestamp",
    "type",
    "app_id",
)
#: a quorum queue's count of deliveries, which a message it dead-letters may carry
_DELIVERY_COUNT = "x-delivery-count"


class DeadLetterError(Exception):
    """Base of the errors of dead-letter operations."""


class QueueMissingError(DeadLetterError):
    """The queue does not exist on the broker (the gateway never declared its topology)."""

    def __init__(self, queue: str) -> None:
        super().__init__(
            f"queue {queue!r} does not exist on the broker: has a gateway with this routing "
            "table and namespace ever started?"
        )
        self.queue = queue


class UnknownDeadLetterError(DeadLetterError):
    """No dead letter has the id asked for, or an abbreviation starts several ids."""


class ReplayFailedError(DeadLetterError):
    """A replay stopped part-way; ``replayed`` were replayed, the rest stayed in the DLQ."""

    def __init__(self, message: str, replayed: Sequence[DeadLetter]) -> None:
        super().__init__(message)
        self.replayed = tuple(replayed)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message in a dead-letter queue, as read (the queue is left as it was)."""

    id: str
    position: int  # 1-based, in the queue as it was read
    body: bytes
    properties: Mapping[str, Any]  # the AMQP properties present, named as aio-pika names them
    headers: Mapping[str, Any]
    reason: str  # our dead_letter_reason, else "broker:<x-death reason>", else "unknown"
    attempts: int
    first_failed_at: datetime | None
    last_failed_at: datetime | None  # the latest of last_failed_at and RabbitMQ's x-death times
    last_error: str | None
    replays: int

    @property
    def message_id(self) -> str | None:
        """The AMQP message id, if the message has one."""
        return self.properties.get("message_id") or None

    @property
    def correlation_id(self) -> str | None:
        """The AMQP correlation id, if any."""
        return self.properties.get("correlation_id") or None

    @property
    def schema(self) -> str | None:
        """The AMQP type: the canonical schema, e.g. ``crime_report/1``."""
        return self.properties.get("type") or None

    @property
    def timestamp(self) -> datetime | None:
        """The AMQP timestamp (when the gateway received the record)."""
        value = self.properties.get("timestamp")
        return _aware(value) if isinstance(value, datetime) else None

    @property
    def size(self) -> int:
        """The body's length in bytes."""
        return len(self.body)

    @property
    def failed_at(self) -> datetime | None:
        """What a purge compares with its cutoff: the last failure, else the AMQP timestamp."""
        return self.last_failed_at or self.timestamp

    def summary(self) -> dict[str, Any]:
        """The fields ``gateway dlq list --json`` prints, JSON-ready."""
        return {
            "id": self.id,
            "message_id": self.message_id,
            "correlation_id": self.correlation_id,
            "schema": self.schema,
            "reason": self.reason,
            "attempts": self.attempts,
            "first_failed_at": _iso(self.first_failed_at),
            "last_failed_at": _iso(self.last_failed_at),
            "last_error": self.last_error,
            "replays": self.replays,
            "size": self.size,
        }


def current_operator() -> str:
    """The OS user running this process (who replayed or purged, for the log)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


class DeadLetterQueue:
    """A destination's dead-letter queue over an aio-pika connection (which the caller owns).

    Every method reads the queue afresh on a channel of its own and closes that channel
    before it returns, so the messages it does not remove are back in place by then.
    """

    def __init__(
        self,
        connection: AbstractConnection,
        topology: Topology,
        destination: str,
        *,
        operator: str | None = None,
        publish_timeout: float = 10.0,
    ) -> None:
        if destination not in topology.dead_letter_queues:
            known = ", ".join(sorted(topology.dead_letter_queues)) or "none"
            raise ValueError(f"unknown destination {destination!r} (destinations: {known})")
        self.destination = destination
        self.queue = topology.dead_letter_queue_of(destination)
        self.work_queue = topology.queue_of(destination)
        self._connection = connection
        self._operator = operator or current_operator()
        self._publish_timeout = publish_timeout

    async def count(self) -> int:
        """How many messages the DLQ holds now (not counting any read and not yet returned)."""
        with _translated():
            channel = await self._connection.channel()
            async with _closing(channel):
                queue = await _passive(channel, self.queue)
                return int(queue.declaration_result.message_count or 0)

    async def list(self, limit: int | None = None) -> tuple[DeadLetter, ...]:
        """Every message (the first ``limit`` ones), oldest first; the queue is left as it was."""
        async with self._browse(limit) as held:
            return tuple(letter for _, letter in held)

    async def get(self, id_: str) -> DeadLetter:
        """The message with id ``id_`` (or a unique abbreviation of it)."""
        async with self._browse() as held:
            [(_, letter)] = _select(held, [id_], self.queue)
            return letter

    async def replay(
        self, ids: Iterable[str] | None = None, *, dry_run: bool = False
    ) -> tuple[DeadLetter, ...]:
        """Put the messages ``ids`` (every message when None) back on the work queue.

        Every id is resolved before anything changes: an unknown one raises
        UnknownDeadLetterError and nothing is replayed. Each copy is published (persistent,
        mandatory) and confirmed before its original is acked, one message after the other in
        queue order. Returns what was replayed (what would be, with ``dry_run``).
        """
        async with self._browse() as held:
            chosen = held if ids is None else _select(held, list(ids), self.queue)
            if dry_run or not chosen:
                return tuple(letter for _, letter in chosen)
            with _translated():
                channel = await self._connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
            async with _closing(channel):
                with _translated():
                    await _passive(channel, self.work_queue)
                return await self._replay_each(channel, chosen)

    async def _replay_each(
        self, channel: AbstractChannel, chosen: Sequence[tuple[AbstractIncomingMessage, DeadLetter]]
    ) -> tuple[DeadLetter, ...]:
        replayed: list[DeadLetter] = []
        for message, letter in chosen:
            now = datetime.now(UTC)
            try:
                await channel.default_exchange.publish(
                    _replay_copy(letter, now),
                    routing_key=self.work_queue,
                    mandatory=True,
                    timeout=self._publish_timeout,
                )
            except BROKER_FAILURES as exc:
                raise ReplayFailedError(
                    f"{letter.id} was not replayed (the broker did not confirm its copy on "
                    f"{self.work_queue}: {_describe(exc)}); it and the messages after it stay "
                    f"in {self.queue}",
                    replayed,
                ) from exc
            try:
                await message.ack()
            except BROKER_FAILURES as exc:
                raise ReplayFailedError(
                    f"{letter.id} was copied to {self.work_queue} but could not be removed from "
                    f"{self.queue} ({_describe(exc)}): it is in both queues now",
                    replayed,
                ) from exc
            replayed.append(letter)
            log.info(
                "dlq.replayed",
                destination=self.destination,
                message_id=letter.message_id,
                id=letter.id,
                reason=letter.reason,
                attempts=letter.attempts,
                replays=letter.replays + 1,
                operator=self._operator,
            )
        return tuple(replayed)

    async def purge(
        self, cutoff: datetime, *, limit: int | None = None, dry_run: bool = False
    ) -> tuple[DeadLetter, ...]:
        """Delete the messages whose last failure is before ``cutoff`` (at most ``limit``, the
        first in queue order); the others stay, in their order.

        A message's last failure is its ``last_failed_at`` (or RabbitMQ's x-death time, the
        later of the two), else its AMQP timestamp; a message with neither is never purged.
        Returns what was deleted (what would be, with ``dry_run``).
        """
        cutoff = _aware(cutoff)
        async with self._browse() as held:
            chosen = [
                (message, letter)
                for message, letter in held
                if letter.failed_at is not None and letter.failed_at < cutoff
            ][:limit]
            if dry_run:
                return tuple(letter for _, letter in chosen)
            purged: list[DeadLetter] = []
            for message, letter in chosen:
                with _translated():
                    await message.ack()
                purged.append(letter)
                log.info(
                    "dlq.purged",
                    destination=self.destination,
                    message_id=letter.message_id,
                    id=letter.id,
                    reason=letter.reason,
                    last_failed_at=_iso(letter.failed_at),
                    operator=self._operator,
                )
            return tuple(purged)

    @contextlib.asynccontextmanager
    async def _browse(
        self, limit: int | None = None
    ) -> AsyncIterator[Sequence[tuple[AbstractIncomingMessage, DeadLetter]]]:
        """The queue's messages, held unacked on a channel that is closed on exit (which
        returns every message not acked meanwhile to its place)."""
        with _translated():
            channel = await self._connection.channel()
        async with _closing(channel):
            with _translated():
                queue = await _passive(channel, self.queue)
                count = int(queue.declaration_result.message_count or 0)
                wanted = count if limit is None else min(count, limit)
                messages: list[AbstractIncomingMessage] = []
                while len(messages) < wanted:
                    message = await queue.get(no_ack=False, fail=False, timeout=_GET_TIMEOUT_S)
                    if message is None:
                        break
                    messages.append(message)
            yield list(zip(messages, _read(messages), strict=True))


async def _passive(channel: AbstractChannel, name: str) -> AbstractQueue:
    """The queue ``name``, passively declared (its declaration result has the message count);
    QueueMissingError when it does not exist."""
    try:
        return await channel.declare_queue(name, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity as exc:
        raise QueueMissingError(name) from exc


@contextlib.asynccontextmanager
async def _closing(channel: AbstractChannel) -> AsyncIterator[AbstractChannel]:
    """Close ``channel`` on the way out; after a failure, quietly (the failure is the news)."""
    try:
        yield channel
    except BaseException:
        if not channel.is_closed:
            with contextlib.suppress(Exception):
                await channel.close()
        raise
    if not channel.is_closed:
        with _translated():
            await channel.close()


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """aio-pika's and the network's failures as BrokerUnavailableError."""
    try:
        yield
    except BROKER_FAILURES as exc:
        raise BrokerUnavailableError(f"RabbitMQ failed: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _read(messages: Sequence[AbstractIncomingMessage]) -> Iterator[DeadLetter]:
    """DeadLetters of ``messages`` (in queue order), each with its unique id."""
    seen: dict[str, int] = {}
    for position, message in enumerate(messages, start=1):
        base = message.message_id or derived_id(message.body)
        seen[base] = seen.get(base, 0) + 1
        id_ = base if seen[base] == 1 else f"{base}#{seen[base]}"
        yield _dead_letter(message, id_, position)


def derived_id(body: bytes) -> str:
    """The id of a message without a message_id: ``sha256:`` and 16 hex digits of its body's
    SHA-256."""
    return f"sha256:{hashlib.sha256(body).hexdigest()[:16]}"


def _dead_letter(message: AbstractIncomingMessage, id_: str, position: int) -> DeadLetter:
    headers = dict(message.headers or {})
    properties = {
        name: getattr(message, name)
        for name in _PROPERTIES
        if getattr(message, name, None) is not None
    }
    deaths = _x_deaths(headers)
    death_times = [t for t in (_time(d.get("time")) for d in deaths) if t is not None]
    header_last = _time(headers.get(h.LAST_FAILED_AT))
    last_candidates = [t for t in (header_last, *death_times) if t is not None]
    reason = _text(headers.get(h.REASON))
    if reason is None and deaths:
        reason = f"broker:{_text(deaths[0].get('reason')) or 'unknown'}"
    return DeadLetter(
        id=id_,
        position=position,
        body=message.body,
        properties=properties,
        headers=headers,
        reason=reason or "unknown",
        attempts=h.attempts_of(headers),
        first_failed_at=_time(headers.get(h.FIRST_FAILED_AT))
        or (min(death_times) if death_times else None),
        last_failed_at=max(last_candidates) if last_candidates else None,
        last_error=_text(headers.get(h.LAST_ERROR)),
        replays=_count(headers.get(h.REPLAYS)),
    )


def _select(
    held: Sequence[tuple[AbstractIncomingMessage, DeadLetter]], wanted: Sequence[str], queue: str
) -> list[tuple[AbstractIncomingMessage, DeadLetter]]:
    """The messages named by ``wanted`` (ids or unique abbreviations), in queue order, each
    once; UnknownDeadLetterError naming the first id that names none or several."""
    ids = [letter.id for _, letter in held]
    chosen: set[int] = set()
    for want in wanted:
        if want in ids:
            chosen.add(ids.index(want))
            continue
        matches = [
            i for i, id_ in enumerate(ids) if len(want) >= MIN_PREFIX and id_.startswith(want)
        ]
        if len(matches) == 1:
            chosen.add(matches[0])
        elif matches:
            some = ", ".join(ids[i] for i in matches[:5])
            more = ", ..." if len(matches) > 5 else ""
            raise UnknownDeadLetterError(
                f"id {want!r} is ambiguous in {queue}: it starts {len(matches)} ids ({some}{more})"
            )
        else:
            raise UnknownDeadLetterError(f"no dead letter with id {want!r} in {queue}")
    return [held[i] for i in sorted(chosen)]


def _replay_copy(letter: DeadLetter, now: datetime) -> aio_pika.Message:
    headers = {
        key: value
        for key, value in h.carried_headers(letter.headers).items()
        if key not in h.FAILURE_HEADERS and key != _DELIVERY_COUNT
    }
    headers[h.REPLAYED_AT] = now.isoformat()
    headers[h.REPLAYS] = letter.replays + 1
    kept = {name: letter.properties.get(name) for name in _KEPT_PROPERTIES}
    # aiormq gives a message without an id a random one: give it its derived id instead
    kept["message_id"] = letter.message_id or derived_id(letter.body)
    return aio_pika.Message(
        letter.body, headers=headers, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **kept
    )


def _x_deaths(headers: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """RabbitMQ's x-death entries, the most recent first."""
    value = headers.get("x-death")
    if not isinstance(value, list | tuple):
        return []
    return [entry for entry in value if isinstance(entry, Mapping)]


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return _aware(value)
    text = _text(value)
    if text is None:
        return None
    try:
        return _aware(datetime.fromisoformat(text))
    except ValueError:
        return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
