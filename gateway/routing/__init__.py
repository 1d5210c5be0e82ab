"""routing.yaml: its models, its loader, and the compiled routing table."""

from gateway.routing.spec import (
    DestinationSpec,
    FeedSpec,
    QueueSpec,
    RouteSpec,
    RoutingSpec,
    SystemSpec,
    api_key_digest,
)
from gateway.routing.table import (
    UNROUTED,
    MatchContext,
    RouteExplanation,
    RoutingTable,
    compile_routing_table,
    load_routing_table,
)

__all__ = [
    "UNROUTED",
    "DestinationSpec",
    "FeedSpec",
    "MatchContext",
    "QueueSpec",
    "RouteExplanation",
    "RouteSpec",
    "RoutingSpec",
    "RoutingTable",
    "SystemSpec",
    "api_key_digest",
    "compile_routing_table",
    "load_routing_table",
]
