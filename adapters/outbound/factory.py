"""The outbound adapter a destination's ``deliver:`` asks for."""

from __future__ import annotations

from adapters.outbound.base import OutboundAdapter
from adapters.outbound.file import FileDeliverer
from adapters.outbound.http import HttpDeliverer
from adapters.outbound.soap import SoapDeliverer
from gateway.routing.spec import DeliverySpec


def deliverer_for(spec: DeliverySpec) -> OutboundAdapter:
    """Build the adapter for ``spec``: an HTTP POST, a SOAP call, or files in a directory."""
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
    if spec.file is not None:
        to_file = spec.file
        return FileDeliverer(
            to_file.dir,
            format=to_file.format,
            batch_size=to_file.batch_size,
            batch_seconds=to_file.batch_seconds,
            timeout=to_file.timeout,
        )
    raise ValueError("a delivery spec names no protocol")
