"""The HTTP face of the gateway (aiohttp)."""

from gateway.http.app import make_app, make_probe_app
from gateway.http.state import GATEWAY

__all__ = ["GATEWAY", "make_app", "make_probe_app"]
