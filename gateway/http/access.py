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

    def latency_ms(self) -> float:
        """Milliseconds since the request arrived."""
        return round((time.perf_counter() - self.started) * 1000, 3)

    def event(self) -> dict[str, Any]:
        """The access log event's fields."""
        return {
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


ACCESS = web.RequestKey("access", AccessRecord)


def new_error_id() -> str:
    """A short unique id that ties an error response to its access log event."""
    return uuid.uuid4().hex[:16]
