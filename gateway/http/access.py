"""The access log: one structured event per request, and the error body it shares an id with."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web

access_log = structlog.get_logger("gateway.access")


@dataclass
class AccessRecord:
    """What the handler learned about one exchange; the middleware logs it when it ends."""

    method: str
    path: str
    correlation_id: str
    started: float = field(default_factory=time.perf_counter)
    kind: str = "other"
    client: str | None = None
    feed: str | None = None
    schema: str | None = None
    user_id: str | None = None
    issue: str | None = None
    message_ids: list[str] = field(default_factory=list)
    duplicate_of: list[str] = field(default_factory=list)
    record_count: int = 0
    outcome: str = "ok"
    status: int = 200
    error_code: str | None = None
    error_id: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    # X-Road SOAP headers, as the caller claimed them (who calls is its API key's system)
    xroad_client: str | None = None
    xroad_service: str | None = None
    xroad_protocol_version: str | None = None
    # record requests: what was asked about, how long the provider and the round trip took,
    # and the SHA-256 of the request and response bodies, which tie an answer to its request
    service: str | None = None
    subject: str | None = None
    provider_ms: float | None = None
    service_ms: float | None = None
    request_sha256: str | None = None
    response_sha256: str | None = None

    def latency_ms(self) -> float:
        """Milliseconds since the request arrived."""
        return round((time.perf_counter() - self.started) * 1000, 3)

    def event(self) -> dict[str, Any]:
        """The access log event's fields."""
        event: dict[str, Any] = {
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "client": self.client,
            "feed": self.feed,
            "schema": self.schema,
            "user_id": self.user_id,
            "issue": self.issue,
            "message_ids": self.message_ids,
            "duplicate_of": self.duplicate_of,
            "record_count": self.record_count,
            "outcome": self.outcome,
            "status": self.status,
            "error_code": self.error_code,
            "error_id": self.error_id,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "latency_ms": self.latency_ms(),
            "correlation_id": self.correlation_id,
        }
        if self.service is not None:
            event.update(
                service=self.service,
                subject=self.subject,
                provider_ms=self.provider_ms,
                service_ms=self.service_ms,
                request_sha256=self.request_sha256,
                response_sha256=self.response_sha256,
            )
        if self.xroad_client or self.xroad_service or self.xroad_protocol_version:
            event.update(
                xroad_client=self.xroad_client,
                xroad_service=self.xroad_service,
                xroad_protocol_version=self.xroad_protocol_version,
            )
        return event


ACCESS = web.RequestKey("access", AccessRecord)


def new_error_id() -> str:
    """A short unique id that ties an error response to its access log event."""
    return uuid.uuid4().hex[:16]
