"""Deliver by HTTP POST of the canonical JSON (aiohttp's client), classifying every failure."""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Mapping

import aiohttp

from adapters.outbound.base import Delivery, envelope_headers
from gateway.errors import PermanentDeliveryError, TransientDeliveryError

#: statuses worth trying again: the receiver is busy, overloaded or broken for now
TRANSIENT_STATUSES = frozenset({408, 425, 429})
#: how much of a refusal's body the error quotes
_QUOTED = 300
_CHUNK = 64 * 1024


class HttpDeliverer:
    """POSTs each message to one URL; 2xx is success.

    Timeouts, connection errors, 408, 425, 429 and 5xx are transient (with the receiver's
    ``Retry-After``, if any); any other status is permanent. The receiver gets the envelope as
    ``X-*`` headers and ``Idempotency-Key: <message id>``, so it can drop a duplicate itself.
    The connection pool is opened on the first delivery (inside the event loop) and kept.
    """

    def __init__(
        self, url: str, *, timeout: float, headers: Mapping[str, str] | None = None
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._headers = dict(headers or {})
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise TransientDeliveryError(f"{self._url}: the deliverer is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                raise_for_status=False,
            )
        return self._session

    async def prepare(self) -> None:
        """Nothing to prepare: the connection pool opens with the first delivery."""

    async def deliver(self, delivery: Delivery) -> None:
        """POST the message; raise TransientDeliveryError or PermanentDeliveryError."""
        headers = {"Content-Type": "application/json", **envelope_headers(delivery)}
        try:
            async with self._client().post(
                self._url, data=delivery.body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                if 200 <= status < 300:
                    await _drain(response)
                    return
                quoted = await response.content.read(_QUOTED)
                retry_after = retry_after_seconds(response.headers)
        except TimeoutError as exc:
            raise TransientDeliveryError(
                f"{self._url}: no answer within {self._timeout:g}s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise TransientDeliveryError(f"{self._url}: {type(exc).__name__}: {exc}") from exc
        summary = f"{self._url} answered HTTP {status}"
        text = f"{summary}: {quoted.decode('utf-8', 'replace')}"
        if status in TRANSIENT_STATUSES or status >= 500:
            raise TransientDeliveryError(
                text, status=status, retry_after=retry_after, summary=summary
            )
        raise PermanentDeliveryError(text, status=status, summary=summary)

    async def aclose(self) -> None:
        """Close the connection pool (twice is harmless)."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read a success's body to its end, so the connection can serve again. The receiver
    has said 2xx: a body cut short or slow changes nothing about the delivery."""
    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
        async for _ in response.content.iter_chunked(_CHUNK):
            pass


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
