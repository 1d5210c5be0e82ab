"""What travels between the gateway and a provider worker: one request, one reply.

Request (gateway → ``<ns>.service.<service>``, default exchange, transient):
    body         the canonical query, JSON
    properties   message_id = correlation_id = a fresh request id; reply_to =
                 ``amq.rabbitmq.reply-to`` (direct reply-to); expiration = the caller's
                 timeout, so RabbitMQ drops a request nobody took in time; type = the query id
    headers      service, client, user_id, issue, correlation (the caller's correlation id),
                 deadline (epoch seconds: after it the caller has given up)

Reply (worker → the request's reply_to, with its correlation_id):
    headers      outcome (``answer`` or ``error``), provider_ms (the provider call's duration),
                 and for an error: code, status (the HTTP status the gateway answers with)
    body         the canonical answer (JSON), or for an error the provider's message (UTF-8)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"

SERVICE = "service"
CLIENT = "client"
USER_ID = "user_id"
ISSUE = "issue"
CORRELATION = "correlation"
DEADLINE = "deadline"
OUTCOME = "outcome"
PROVIDER_MS = "provider_ms"
CODE = "code"
STATUS = "status"


@dataclass(frozen=True, slots=True)
class Reply:
    """A provider worker's reply: the canonical answer, or an error code and message."""

    answer: bytes | None  # the canonical answer's JSON, when there is one
    code: str | None = None
    status: int | None = None
    message: str = ""
    provider_ms: float | None = None

    @classmethod
    def from_amqp(cls, body: bytes, headers: Mapping[str, Any] | None) -> Reply:
        """Read a reply message (anything unexpected becomes a gateway error reply)."""
        headers = headers or {}
        provider_ms = _float(headers.get(PROVIDER_MS))
        if headers.get(OUTCOME) == "answer":
            return cls(body, provider_ms=provider_ms)
        code = str(headers.get(CODE) or "gateway.internal")
        status = _int(headers.get(STATUS)) or 502
        message = body.decode("utf-8", "replace") or "the provider worker gave no reason"
        return cls(None, code, status, message, provider_ms)

    def amqp_headers(self) -> dict[str, Any]:
        """The headers of this reply's message."""
        headers: dict[str, Any] = {OUTCOME: "answer" if self.answer is not None else "error"}
        if self.provider_ms is not None:
            headers[PROVIDER_MS] = round(self.provider_ms, 3)
        if self.answer is None:
            headers[CODE] = self.code or "gateway.internal"
            headers[STATUS] = self.status or 502
        return headers

    def amqp_body(self) -> bytes:
        """The body of this reply's message."""
        return self.answer if self.answer is not None else self.message.encode("utf-8")


def deadline_after(timeout: float) -> float:
    """The epoch time a request times out at."""
    return time.time() + timeout


def seconds_left(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds until the request's deadline (negative when passed), or None without one."""
    deadline = _float((headers or {}).get(DEADLINE))
    return None if deadline is None else deadline - time.time()


def answer_json(answer: Mapping[str, Any]) -> bytes:
    """A canonical answer as the JSON bytes a reply carries."""
    return orjson.dumps(answer)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
