"""The outbound adapter a destination's ``deliver:`` asks for."""

from __future__ import annotations

from adapters.outbound.base import OutboundAdapter
from adapters.outbound.http import HttpDeliverer
from adapters.outbound.soap import SoapDeliverer
from gateway.routing.spec import DeliverySpec


def deliverer_for(spec: DeliverySpec) -> OutboundAdapter:
    """Build the adapter for ``spec``: an HTTP POST or a SOAP call."""
    if spec.soap is not None:
        soap = spec.soap
        return SoapDeliverer(
            soap.wsdl,
            soap.operation,
            timeout=soap.timeout,
            service=soap.service,
            port=soap.port,
            address=soap.address,
        )
    if spec.http is not None:
        http = spec.http
        return HttpDeliverer(http.url, timeout=http.timeout, headers=http.headers)
    raise ValueError("a delivery spec names no protocol")
