"""routing.yaml: its models, its loader, and the compiled routing table."""

from gateway.routing.diff import describe, routing_diff
from gateway.routing.spec import (
    DedupSpec,
    DeliverySpec,
    DestinationSpec,
    FeedSpec,
    HttpDeliverySpec,
    ProviderSpec,
    QueueSpec,
    RetrySpec,
    RouteSpec,
    RoutingSpec,
    ServiceSpec,
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
    "ProviderSpec",
    "QueueSpec",
    "RetrySpec",
    "RouteExplanation",
    "RouteSpec",
    "RoutingSpec",
    "RoutingTable",
    "ServiceSpec",
    "SoapDeliverySpec",
    "SystemSpec",
    "api_key_digest",
    "compile_routing_table",
    "describe",
    "load_routing_table",
    "routing_diff",
]
