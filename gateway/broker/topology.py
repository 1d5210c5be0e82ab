"""What the routing table asks of RabbitMQ: exchanges, queues and bindings, as plain values.

For namespace ``eint`` and a destination ``etergov.crime-reports``:

    eint.ingress                       direct exchange; the gateway publishes here with the
                                       destination's name as routing key (mandatory, confirmed)
    eint.etergov.crime-reports         the destination's work queue (quorum or classic), bound to
                                       eint.ingress with key etergov.crime-reports
    eint.etergov.crime-reports.dlx     its dead-letter exchange (fanout)
    eint.etergov.crime-reports.dlq     its dead-letter queue (classic), bound to the dlx
    eint.etergov.crime-reports.retry.N one delay queue per step of the retry ladder (classic,
                                       x-message-ttl = the step's delay); an expired message is
                                       dead-lettered to eint.ingress with the destination's key,
                                       so it comes back to the work queue
    eint.unrouted                      where a message that no route takes is kept (quorum)
    eint.service.person.by-pinfl       a request-reply service's requests (classic): the gateway
                                       publishes to it through the default exchange, transient,
                                       with a TTL of the caller's timeout; provider workers
                                       consume it and answer by direct reply-to

Everything is durable. Quorum queues dead-letter ``at-least-once``, so a dead-lettered message
cannot be lost between the two queues. Dead-letter queues are classic so that operators can
browse them (``gateway dlq list``) without a delivery limit ever dropping a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.routing import UNROUTED, DestinationSpec, RoutingTable

QueueType = Literal["classic", "quorum"]


@dataclass(frozen=True, slots=True)
class ExchangeDecl:
    """A durable exchange."""

    name: str
    type: Literal["direct", "fanout"]


@dataclass(frozen=True, slots=True)
class QueueDecl:
    """A durable queue, its arguments and its one binding."""

    name: str
    type: QueueType
    bind_to: str  # "" for none: the queue is reached through the default exchange
    routing_key: str
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def declare_arguments(self) -> dict[str, Any]:
        """The x-arguments RabbitMQ receives when the queue is declared."""
        args: dict[str, Any] = {"x-queue-type": self.type, **self.arguments}
        if self.type == "quorum" and "x-dead-letter-exchange" in args:
            args["x-dead-letter-strategy"] = "at-least-once"
            args["x-overflow"] = "reject-publish"
        return args


@dataclass(frozen=True, slots=True)
class Topology:
    """Everything to declare, in order: exchanges first, then queues with their bindings."""

    ingress: str
    exchanges: tuple[ExchangeDecl, ...]
    queues: tuple[QueueDecl, ...]
    work_queues: Mapping[str, str]
    dead_letter_queues: Mapping[str, str] = field(default_factory=dict)
    retry_queues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    service_queues: Mapping[str, str] = field(default_factory=dict)

    def queue_of(self, destination: str) -> str:
        """The work queue that receives ``destination``'s messages."""
        return self.work_queues[destination]

    def dead_letter_queue_of(self, destination: str) -> str:
        """The dead-letter queue of ``destination``."""
        return self.dead_letter_queues[destination]

    def service_queue_of(self, service: str) -> str:
        """The queue ``service``'s requests wait in for a provider worker."""
        return self.service_queues[service]


def topology_for(table: RoutingTable, namespace: str) -> Topology:
    """Derive the broker topology from the routing table."""
    ingress = f"{namespace}.ingress"
    exchanges = [ExchangeDecl(ingress, "direct")]
    queues = [QueueDecl(f"{namespace}.{UNROUTED}", "quorum", ingress, UNROUTED)]
    work_queues = {UNROUTED: f"{namespace}.{UNROUTED}"}
    dead_letter_queues: dict[str, str] = {}
    retry_queues: dict[str, tuple[str, ...]] = {}
    for name, destination in table.destinations.items():
        work, dlx, dlq = destination_names(namespace, name, destination)
        exchanges.append(ExchangeDecl(dlx, "fanout"))
        queues.append(
            QueueDecl(
                work,
                destination.queue.type,
                ingress,
                name,
                {"x-dead-letter-exchange": dlx},
            )
        )
        queues.append(QueueDecl(dlq, "classic", dlx, ""))
        work_queues[name] = work
        dead_letter_queues[name] = dlq
        if destination.deliver is not None:
            steps = []
            for step, delay in enumerate(destination.retry.delays):
                retry = f"{work}.retry.{step}"
                queues.append(
                    QueueDecl(
                        retry,
                        "classic",
                        "",
                        retry,
                        {
                            "x-message-ttl": max(1, round(delay * 1000)),
                            "x-dead-letter-exchange": ingress,
                            "x-dead-letter-routing-key": name,
                        },
                    )
                )
                steps.append(retry)
            retry_queues[name] = tuple(steps)
    service_queues: dict[str, str] = {}
    for name in table.services:
        queue = f"{namespace}.service.{name}"
        queues.append(QueueDecl(queue, "classic", "", queue))
        service_queues[name] = queue
    return Topology(
        ingress,
        tuple(exchanges),
        tuple(queues),
        work_queues,
        dead_letter_queues,
        retry_queues,
        service_queues,
    )


def destination_names(
    namespace: str, name: str, destination: DestinationSpec
) -> tuple[str, str, str]:
    """(work queue, dead-letter exchange, dead-letter queue) of one destination."""
    work = f"{namespace}.{destination.queue.name or name}"
    return work, f"{namespace}.{name}.dlx", f"{work}.dlq"
