"""The one object that talks to RabbitMQ: connection, topology, confirmed publishing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
)

from gateway.broker.outbox import Outbox
from gateway.broker.properties import record_properties
from gateway.broker.topology import Topology
from gateway.errors import BrokerUnavailableError, PublishFailedError

log = structlog.get_logger("gateway.broker")
APP_ID = "e-integratsiya"

BLOCKED = "RabbitMQ is blocking publishers (a memory or disk alarm is set)"

#: what aio-pika and aiormq raise when RabbitMQ is away, closes the channel, or nacks or
#: returns a publish (OSError covers refused and reset connections and timeouts): failures of
#: the broker, never of the message
BROKER_FAILURES: tuple[type[Exception], ...] = (
    aiormq.exceptions.AMQPError,
    aiormq.exceptions.ChannelInvalidStateError,
    OSError,
)
#: a publish on a connection that is going away may also see aiormq's bare RuntimeErrors
_PUBLISH_FAILURES: tuple[type[Exception], ...] = (*BROKER_FAILURES, RuntimeError)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message for one destination: canonical body plus the envelope's AMQP fields."""

    destination: str
    body: bytes
    message_id: str
    correlation_id: str
    headers: Mapping[str, str]
    schema_id: str
    timestamp: datetime


async def close_channel(channel: AbstractChannel | None, timeout: float = 5.0) -> None:
    """Close ``channel`` if it is open. While RabbitMQ is away a robust channel's close would
    wait for the connection to come back: give up after ``timeout`` (the broker takes back
    everything unacked when the connection ends anyway)."""
    if channel is None or channel.is_closed:
        return
    try:
        async with asyncio.timeout(timeout):
            await channel.close()
    except (TimeoutError, *BROKER_FAILURES) as exc:  # type: ignore[misc]
        log.warning("broker.channel_not_closed", error=str(exc) or type(exc).__name__)


async def cancel_consumer(
    channel: AbstractChannel | None,
    queue: AbstractQueue | None,
    tag: str | None,
    timeout: float = 5.0,
) -> None:
    """Stop consuming ``queue`` under consumer ``tag`` on ``channel``. Nothing to do while the
    channel is closed (the consumer ended with it); a robust queue would wait for RabbitMQ to
    come back, so give up after ``timeout``."""
    if channel is None or channel.is_closed or queue is None or tag is None:
        return
    try:
        async with asyncio.timeout(timeout):
            await queue.cancel(tag)
    except (TimeoutError, *BROKER_FAILURES) as exc:  # type: ignore[misc]
        log.warning("broker.consumer_not_cancelled", error=str(exc) or type(exc).__name__)


def publishers_blocked(connection: AbstractRobustConnection) -> bool:
    """True while RabbitMQ has told ``connection`` that it blocks publishers (``connection.blocked``
    after a memory or disk alarm, until ``connection.unblocked``).

    aiormq follows those notifications but exposes them only by making ``ready()`` wait; this
    reads the event it keeps. tests/gateway/http/test_broker_alarm.py raises a real alarm, so
    an aiormq release that renames the event fails there rather than here in production.
    """
    underlay = getattr(getattr(connection, "transport", None), "connection", None)
    unblocked = getattr(underlay, "_Connection__connection_unblocked", None)
    return isinstance(unblocked, asyncio.Event) and not unblocked.is_set()


async def _declare_topology(channel: AbstractRobustChannel, topology: Topology) -> None:
    """Declare every exchange, then every queue with its binding (idempotent; a robust channel
    declares them again after a reconnect)."""
    exchanges: dict[str, AbstractRobustExchange] = {}
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


def _properties(message: OutgoingMessage) -> aiormq.spec.Basic.Properties:
    return record_properties(
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        schema_id=message.schema_id,
        timestamp=message.timestamp,
        headers=message.headers,
        app_id=APP_ID,
    )


class Broker:
    """Owns the robust connection, declares the topology, and publishes with confirms.

    ``start()`` returns at once and connects in the background, so the gateway serves
    (503 and a failing ``/readyz``) while RabbitMQ is still unreachable. Once connected, aio-pika's
    robust connection restores the channel, exchanges, queues and bindings after every outage.
    """

    def __init__(
        self,
        url: str,
        topology: Topology,
        *,
        publish_timeout: float = 10.0,
        reconnect_interval: float = 2.0,
        retry_after: int = 5,
    ) -> None:
        self._url = url
        self._topology = topology
        self._publish_timeout = publish_timeout
        self._reconnect_interval = reconnect_interval
        self._retry_after = retry_after
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._starter: asyncio.Task[None] | None = None
        self._link_up = False  # the connection is open (robust: restored after an outage)
        self._channel_up = False  # the publishing channel is open, its topology restored
        self._ready = asyncio.Event()
        self._problem = "not started"
        self._closing = False
        self._outbox = Outbox(write_timeout=publish_timeout)

    @property
    def topology(self) -> Topology:
        """The topology this broker declared."""
        return self._topology

    @property
    def connection(self) -> AbstractRobustConnection:
        """The robust connection (for consumers); only once the broker was ready."""
        if self._connection is None:
            raise RuntimeError("the broker is not connected")
        return self._connection

    @property
    def ready(self) -> bool:
        """True when connected, with the topology declared and the channel open, and RabbitMQ
        not blocking publishers."""
        return self._ready.is_set() and not self.blocked

    @property
    def blocked(self) -> bool:
        """True while RabbitMQ blocks this connection's publishers (a memory or disk alarm)."""
        return self._connection is not None and publishers_blocked(self._connection)

    @property
    def problem(self) -> str | None:
        """Why the broker is not ready, or None when it is."""
        if self._ready.is_set() and self.blocked:
            return BLOCKED
        return None if self.ready else self._problem

    def _set_state(self, *, link: bool | None = None, channel: bool | None = None) -> None:
        if link is not None:
            self._link_up = link
        if channel is not None:
            self._channel_up = channel
        if self._link_up and self._channel_up:
            self._ready.set()
        else:
            self._ready.clear()

    async def start(self) -> None:
        """Begin connecting in the background."""
        if self._starter is None:
            self._starter = asyncio.create_task(self._connect(), name="broker-connect")

    async def wait_ready(self, timeout: float) -> None:
        """Wait until connected with the topology declared; raise BrokerUnavailableError after
        ``timeout``. A resource alarm is not waited out (``ready`` stays False under one)."""
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            raise BrokerUnavailableError(f"broker not ready: {self.problem}") from None

    async def _connect(self) -> None:
        delay = 0.25
        while True:
            try:
                connection = await aio_pika.connect_robust(
                    self._url,
                    reconnect_interval=self._reconnect_interval,
                    client_properties={
                        "connection_name": f"e-integratsiya {socket.gethostname()}:{os.getpid()}"
                    },
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._problem = f"cannot connect to RabbitMQ: {exc!s}"
                log.warning("broker.connect_failed", error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._reconnect_interval * 4)
                continue
            try:
                await self._declare(connection)
            except asyncio.CancelledError:
                await connection.close()
                raise
            except Exception as exc:
                self._problem = f"cannot declare the topology: {exc!s}"
                log.error("broker.topology_failed", error=str(exc), retry_in_s=delay)
                await connection.close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._reconnect_interval * 4)
                continue
            connection.close_callbacks.add(self._on_close)
            connection.reconnect_callbacks.add(self._on_reconnect)
            self._connection = connection
            self._set_state(link=True, channel=True)
            log.info("broker.connected", queues=len(self._topology.queues))
            return

    async def _declare(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await _declare_topology(channel, self._topology)
        channel.close_callbacks.add(self._on_channel_close)
        channel.reopen_callbacks.add(self._on_channel_reopen)
        self._channel = channel

    async def adopt(self, topology: Topology) -> None:
        """Declare ``topology`` (a reloaded routing table's) and publish by it from now on.

        Only adds: exchanges, queues and bindings of the previous topology stay as they are,
        so a queue a reload removes from the table keeps its messages (and its receivers may
        still drain it). Raises BrokerUnavailableError when the broker cannot take it; the
        previous topology then stays in force.
        """
        channel = self._channel
        if channel is None or not self.ready:
            raise self._unavailable(f"the message broker is unavailable: {self.problem}")
        try:
            await _declare_topology(channel, topology)
        except _PUBLISH_FAILURES as exc:
            raise self._unavailable(f"cannot declare the new topology: {exc!s}") from exc
        self._topology = topology

    def _on_close(self, _sender: Any, exc: BaseException | None = None) -> None:
        self._set_state(link=False)
        if not self._closing:
            self._problem = "connection to RabbitMQ lost; reconnecting"
            log.warning("broker.disconnected", error=str(exc) or type(exc).__name__)

    def _on_reconnect(self, _sender: Any) -> None:
        self._set_state(link=True)
        log.info("broker.reconnected")

    def _on_channel_close(self, _sender: Any, exc: BaseException | None = None) -> None:
        self._problem = "publishing channel closed; reopening"
        self._set_state(channel=False)
        if self._link_up and not self._closing:
            log.warning("broker.channel_closed", error=str(exc) or type(exc).__name__)

    def _on_channel_reopen(self, _sender: Any) -> None:
        self._set_state(channel=True)

    async def publish(self, message: OutgoingMessage) -> None:
        """Publish one message; return once the broker confirmed it, else raise (see below)."""
        [error] = await self.publish_many([message])
        if error is not None:
            raise error

    async def publish_many(
        self, messages: Sequence[OutgoingMessage]
    ) -> list[BrokerUnavailableError | None]:
        """Publish persistent, mandatory messages concurrently under one deadline.

        Returns, per message, None once the broker confirmed it, or the error: a
        PublishFailedError when the broker nacked it or could not route it to a queue, a
        BrokerUnavailableError when not connected or not confirmed in time. The messages of
        calls made in the same turn of the event loop are written to RabbitMQ together
        (outbox.py); a returned message is matched to its publish by message id, so a message
        whose id is in flight already waits until the earlier one is settled.
        """
        if not messages:
            return []
        channel = self._channel
        if channel is None or not self.ready:
            error = self._unavailable(f"the message broker is unavailable: {self.problem}")
            return [error] * len(messages)
        try:
            underlay = await channel.get_underlay_channel()
        except _PUBLISH_FAILURES as exc:
            error = self._unavailable(f"the message broker is unavailable: {exc!s}")
            return [error] * len(messages)
        if not isinstance(underlay, aiormq.Channel):  # what aio-pika's channels wrap
            raise TypeError(f"unexpected AMQP channel class {type(underlay).__name__}")
        ingress = self._topology.ingress
        futures = [
            self._outbox.publish(
                underlay,
                exchange=ingress,
                routing_key=message.destination,
                message_id=message.message_id,
                properties=_properties(message).marshal(),
                body=message.body,
            )
            for message in messages
        ]
        try:
            if len(futures) == 1:  # the common case: no wait set
                try:
                    async with asyncio.timeout(self._publish_timeout):
                        await futures[0]
                except TimeoutError:
                    return [self._failure(None, messages[0])]
                except Exception as exc:
                    return [self._failure(exc, messages[0])]
                return [None]
            _, pending = await asyncio.wait(futures, timeout=self._publish_timeout)
        finally:  # a caller gone or out of time: what was not written yet is not sent
            for future in futures:
                future.cancel()
        results: list[BrokerUnavailableError | None] = []
        for future, message in zip(futures, messages, strict=True):
            if future in pending:
                results.append(self._failure(None, message))
            else:
                raised = future.exception()
                results.append(None if raised is None else self._failure(raised, message))
        return results

    def _failure(
        self, exc: BaseException | None, message: OutgoingMessage
    ) -> BrokerUnavailableError:
        """The error for a publish that raised ``exc``, or that timed out when it is None.

        An exception that is no broker failure is a bug: it is raised, not translated.
        """
        if exc is None or isinstance(exc, TimeoutError):
            return self._unavailable(f"RabbitMQ did not confirm within {self._publish_timeout:g}s")
        if isinstance(exc, aiormq.exceptions.PublishError):
            return PublishFailedError(
                f"RabbitMQ could not route the message to destination {message.destination!r}",
                retry_after=self._retry_after,
            )
        if isinstance(exc, aiormq.exceptions.DeliveryError):
            return PublishFailedError(
                f"RabbitMQ refused the message for destination {message.destination!r}",
                retry_after=self._retry_after,
            )
        if isinstance(exc, _PUBLISH_FAILURES):
            return self._unavailable(f"the message broker is unavailable: {exc!s}")
        raise exc

    def _unavailable(self, message: str) -> BrokerUnavailableError:
        return BrokerUnavailableError(message, retry_after=self._retry_after)

    async def aclose(self) -> None:
        """Stop connecting and close the connection; calling it twice is harmless."""
        self._closing = True
        if self._starter is not None:
            self._starter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starter
        await self._outbox.aclose()
        connection, self._connection = self._connection, None
        self._problem = "closed"
        self._set_state(link=False, channel=False)
        if connection is not None and not connection.is_closed:
            await connection.close()
