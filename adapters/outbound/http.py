"""Deliver by HTTP POST of the canonical JSON (httpx), classifying every failure."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import httpx

from adapters.outbound.base import Delivery, envelope_headers
from gateway.errors import PermanentDeliveryError, TransientDeliveryError

#: statuses worth trying again: the receiver is busy, overloaded or broken for now
TRANSIENT_STATUSES = frozenset({408, 425, 429})


class HttpDeliverer:
    """POSTs each message to one URL; 2xx is success.

    Timeouts, connection errors, 408, 425, 429 and 5xx are transient (with the receiver's
    ``Retry-After``, if any); any other status is permanent. The receiver gets the envelope as
    ``X-*`` headers and ``Idempotency-Key: <message id>``, so it can drop a duplicate itself.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            headers=dict(headers or {}),
            transport=transport,
            follow_redirects=False,
        )

    async def deliver(self, delivery: Delivery) -> None:
        """POST the message; raise TransientDeliveryError or PermanentDeliveryError."""
        headers = {"Content-Type": "application/json", **envelope_headers(delivery)}
        try:
            response = await self._client.post(self._url, content=delivery.body, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientDeliveryError(
                f"{self._url}: no answer within {self._timeout:g}s"
            ) from exc
        except httpx.TransportError as exc:
            raise TransientDeliveryError(f"{self._url}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        text = f"{self._url} answered HTTP {status}: {response.text[:300]}"
        if status in TRANSIENT_STATUSES or status >= 500:
            raise TransientDeliveryError(
                text, status=status, retry_after=retry_after_seconds(response.headers)
            )
        raise PermanentDeliveryError(text, status=status)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date), or None."""
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
