"""RabbitMQ: the topology a routing table needs, and the broker that declares and publishes."""

from gateway.broker.broker import (
    BROKER_FAILURES,
    Broker,
    OutgoingMessage,
    cancel_consumer,
    close_channel,
)
from gateway.broker.topology import ExchangeDecl, QueueDecl, Topology, topology_for

__all__ = [
    "BROKER_FAILURES",
    "Broker",
    "ExchangeDecl",
    "OutgoingMessage",
    "QueueDecl",
    "Topology",
    "cancel_consumer",
    "close_channel",
    "topology_for",
]
