"""What the routing table asks of RabbitMQ: exchanges, queues and bindings, as plain values.

For namespace ``eint`` and a destination ``etergov.crime-reports``:

    eint.ingress                       direct exchange; the gateway publishes here with the
                                       destination's name as routing key (mandatory, confirmed)
    eint.etergov.crime-reports         the destination's work queue (quorum or classic), bound to
                                       eint.ingress with key etergov.crime-reports
    eint.etergov.crime-reports.dlx     its dead-letter exchange (fanout)
    eint.etergov.crime-reports.dlq     its dead-letter queue, bound to the dlx
    eint.unrouted                      where a message that no route takes is kept (quorum)

Everything is durable. Quorum queues dead-letter ``at-least-once``, so a dead-lettered message
cannot be lost between the two queues.
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
    bind_to: str
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

    def queue_of(self, destination: str) -> str:
        """The work queue that receives ``destination``'s messages."""
        return self.work_queues[destination]


def topology_for(table: RoutingTable, namespace: str) -> Topology:
    """Derive the broker topology from the routing table."""
    ingress = f"{namespace}.ingress"
    exchanges = [ExchangeDecl(ingress, "direct")]
    queues = [QueueDecl(f"{namespace}.{UNROUTED}", "quorum", ingress, UNROUTED)]
    work_queues = {UNROUTED: f"{namespace}.{UNROUTED}"}
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
        queues.append(QueueDecl(dlq, destination.queue.type, dlx, ""))
        work_queues[name] = work
    return Topology(ingress, tuple(exchanges), tuple(queues), work_queues)


def destination_names(
    namespace: str, name: str, destination: DestinationSpec
) -> tuple[str, str, str]:
    """(work queue, dead-letter exchange, dead-letter queue) of one destination."""
    work = f"{namespace}.{destination.queue.name or name}"
    return work, f"{namespace}.{name}.dlx", f"{work}.dlq"
