"""RabbitMQ: the topology a routing table needs, and the broker that declares and publishes."""

from gateway.broker.broker import Broker, OutgoingMessage
from gateway.broker.topology import ExchangeDecl, QueueDecl, Topology, topology_for

__all__ = ["Broker", "ExchangeDecl", "OutgoingMessage", "QueueDecl", "Topology", "topology_for"]
