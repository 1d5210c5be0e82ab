"""The outbound adapter a destination's ``deliver:`` asks for."""

from __future__ import annotations

from adapters.outbound.base import OutboundAdapter
from adapters.outbound.http import HttpDeliverer
from gateway.routing.spec import DeliverySpec


def deliverer_for(spec: DeliverySpec) -> OutboundAdapter:
    """Build the adapter for ``spec`` (HTTP POST is the one protocol so far)."""
    http = spec.http
    return HttpDeliverer(http.url, timeout=http.timeout, headers=http.headers)
