"""Headers the delivery worker adds to a message on the retry ladder and in a dead-letter queue.

Every other header and property of the original message is kept, and the body byte for byte.
RabbitMQ's own ``x-death`` bookkeeping is dropped from the copies the gateway writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ATTEMPTS = "attempts"  # int: delivery attempts made so far (each with its in-process retries)
DESTINATION = "destination"  # the destination the message failed for
REASON = "dead_letter_reason"  # rejected | retries_exhausted | malformed
LAST_ERROR = "last_error"  # the last failure, as text
FIRST_FAILED_AT = "first_failed_at"  # ISO 8601, UTC
LAST_FAILED_AT = "last_failed_at"  # ISO 8601, UTC
REPLAYED_AT = "replayed_at"  # ISO 8601, UTC: set by `gateway dlq replay`
REPLAYS = "replays"  # int: how many times the message was replayed

FAILURE_HEADERS = frozenset(
    {ATTEMPTS, DESTINATION, REASON, LAST_ERROR, FIRST_FAILED_AT, LAST_FAILED_AT}
)
_BROKER_BOOKKEEPING = ("x-death", "x-first-death-", "x-last-death-")


def carried_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The original headers without RabbitMQ's dead-letter bookkeeping."""
    return {
        key: value
        for key, value in (headers or {}).items()
        if not key.startswith(_BROKER_BOOKKEEPING)
    }


def attempts_of(headers: Mapping[str, Any] | None) -> int:
    """The attempt count a message carries (0 for a fresh one)."""
    value = (headers or {}).get(ATTEMPTS, 0)
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0
