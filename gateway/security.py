"""Who is calling: the system behind an API key."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.errors import AuthenticationError
from gateway.routing import RoutingTable


def authenticate(headers: Mapping[str, str], table: RoutingTable) -> str:
    """The system id behind ``Authorization: Bearer <key>``; 401 without a valid key."""
    value = headers.get("Authorization")
    if not value:
        raise AuthenticationError(
            "no API key: send Authorization: Bearer <key>", code="client.missing_key"
        )
    scheme, _, key = value.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthenticationError(
            "the Authorization header must be: Bearer <key>", code="client.missing_key"
        )
    system = table.authenticate(key.strip())
    if system is None:
        raise AuthenticationError("unknown API key", code="client.unknown_key")
    return system
