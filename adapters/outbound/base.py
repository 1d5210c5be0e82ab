"""The seam of outbound delivery: one message in, success or a Transient/Permanent error out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for a receiving system: the canonical body and its envelope fields."""

    body: bytes
    message_id: str
    correlation_id: str | None
    schema_id: str | None
    envelope: Mapping[str, str]
    attempt: int


class OutboundAdapter(Protocol):
    """Delivers messages over one protocol; retry policy is the caller's, never the adapter's."""

    async def prepare(self) -> None:
        """Get ready to deliver (load a WSDL, ...), before a message is claimed; raise
        TransientDeliveryError or PermanentDeliveryError when that cannot be done."""
        ...

    async def deliver(self, delivery: Delivery) -> None:
        """Hand the message over; raise TransientDeliveryError or PermanentDeliveryError."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def envelope_headers(delivery: Delivery) -> dict[str, str]:
    """The HTTP headers every outbound protocol sends: the idempotency key (the message id,
    so the receiver can drop a duplicate itself), the attempt and the envelope as ``X-*``."""
    headers = {
        "Idempotency-Key": delivery.message_id,
        "X-Message-Id": delivery.message_id,
        "X-Attempt": str(delivery.attempt),
    }
    if delivery.correlation_id:
        headers["X-Correlation-Id"] = delivery.correlation_id
    if delivery.schema_id:
        headers["X-Schema"] = delivery.schema_id
    for name in ("client", "feed", "user_id", "issue"):
        if name in delivery.envelope:
            headers["X-" + name.replace("_", "-").title()] = str(delivery.envelope[name])
    return headers
