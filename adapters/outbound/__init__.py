"""Outbound adapters: hand one message to a receiving system over one protocol."""

from adapters.outbound.base import Delivery, OutboundAdapter
from adapters.outbound.factory import deliverer_for
from adapters.outbound.file import FileDeliverer
from adapters.outbound.http import HttpDeliverer
from adapters.outbound.soap import SoapDeliverer

__all__ = [
    "Delivery",
    "FileDeliverer",
    "HttpDeliverer",
    "OutboundAdapter",
    "SoapDeliverer",
    "deliverer_for",
]
