"""routing.yaml: its models, its loader, and the compiled routing table."""

from gateway.routing.spec import (
    DedupSpec,
    DeliverySpec,
    DestinationSpec,
    FeedSpec,
    HttpDeliverySpec,
    QueueSpec,
    RetrySpec,
    RouteSpec,
    RoutingSpec,
    SoapDeliverySpec,
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
    "DedupSpec",
    "DeliverySpec",
    "DestinationSpec",
    "FeedSpec",
    "HttpDeliverySpec",
    "MatchContext",
    "QueueSpec",
    "RetrySpec",
    "RouteExplanation",
    "RouteSpec",
    "RoutingSpec",
    "RoutingTable",
    "SoapDeliverySpec",
    "SystemSpec",
    "api_key_digest",
    "compile_routing_table",
    "load_routing_table",
]
