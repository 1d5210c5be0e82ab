"""Deduplication at ingest: a record already accepted is answered "duplicate", not published.

Eager, like Camel's idempotent consumer: each record's key is claimed before it is published;
a key already done answers ``duplicate`` with the original message id; a key another request
is accepting at this very moment is waited for (up to ``wait_s``) and then answered from its
outcome, or 409 if it is still undecided. After publishing, accepted records' keys are marked
done and failed ones released, so the caller's retry is not mistaken for a duplicate.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import structlog

from gateway.dedup import IdempotencyStore
from gateway.errors import ConflictError
from gateway.ingest.pipeline import PreparedMessage, PublishOutcome, RecordReceipt
from gateway.metrics import Metrics
from gateway.routing import FeedSpec

log = structlog.get_logger("gateway.ingest")
_POLL_S = 0.05


@dataclass
class Claims:
    """What claiming decided for the records of one request."""

    owner: str
    publish: list[PreparedMessage]
    keys: dict[int, str] = field(default_factory=dict)
    answered: list[RecordReceipt] = field(default_factory=list)
    conflict: ConflictError | None = None


class IngestDeduplicator:
    """Claims, completes and releases the dedup keys of a feed's records."""

    def __init__(
        self,
        store: IdempotencyStore,
        metrics: Metrics,
        *,
        wait_s: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._wait_s = wait_s
        self._sleep = sleep

    async def claim(
        self, feed_name: str, feed: FeedSpec, messages: Sequence[PreparedMessage]
    ) -> Claims:
        """Claim every record's key; a store failure releases what was claimed and raises."""
        claims = Claims(owner=uuid.uuid4().hex, publish=[])
        if feed.dedup is None:
            claims.publish = list(messages)
            return claims
        scope = f"feed:{feed_name}"
        first_in_request: dict[str, PreparedMessage] = {}
        try:
            for message in messages:
                key = message.dedup_key
                if key is None:
                    claims.publish.append(message)
                elif key in first_in_request:  # the same record twice in one batch
                    self._metrics.dedup_hits.labels(scope).inc()
                    original = first_in_request[key]
                    claims.answered.append(_duplicate(message.index, original.envelope.message_id))
                else:
                    first_in_request[key] = message
                    await self._claim_one(scope, feed, key, message, claims)
        except BaseException:
            await self.release(feed_name, claims)
            raise
        return claims

    async def _claim_one(
        self, scope: str, feed: FeedSpec, key: str, message: PreparedMessage, claims: Claims
    ) -> None:
        assert feed.dedup is not None
        deadline = time.monotonic() + self._wait_s
        while True:
            claim = await self._store.claim(
                scope,
                key,
                owner=claims.owner,
                lease_s=self._wait_s + 30,
                retention_s=feed.dedup.window,
            )
            if claim.state == "claimed":
                claims.keys[message.index] = key
                claims.publish.append(message)
                return
            if claim.state == "done":
                self._metrics.dedup_hits.labels(scope).inc()
                claims.answered.append(_duplicate(message.index, claim.message_id or ""))
                return
            if time.monotonic() >= deadline:
                text = "the same record is being accepted by another request; send it again"
                claims.answered.append(
                    RecordReceipt(message.index, message.envelope.message_id, "failed", (), text)
                )
                claims.conflict = claims.conflict or ConflictError(text)
                return
            await self._sleep(_POLL_S)

    async def settle(
        self, feed_name: str, feed: FeedSpec, claims: Claims, outcome: PublishOutcome
    ) -> None:
        """Mark accepted records' keys done, release the others."""
        if not claims.keys or feed.dedup is None:
            return
        scope = f"feed:{feed_name}"
        accepted = {r.index: r.message_id for r in outcome.receipts if r.status == "accepted"}
        for index, key in claims.keys.items():
            try:
                if index in accepted:
                    await self._store.complete(
                        scope,
                        key,
                        owner=claims.owner,
                        message_id=accepted[index],
                        retention_s=feed.dedup.window,
                    )
                else:
                    await self._store.release(scope, key, owner=claims.owner)
            except Exception as exc:
                log.error("ingest.dedup_not_recorded", scope=scope, index=index, error=str(exc))

    async def release(self, feed_name: str, claims: Claims) -> None:
        """Release every key claimed (nothing was published)."""
        scope = f"feed:{feed_name}"
        for key in claims.keys.values():
            try:
                await self._store.release(scope, key, owner=claims.owner)
            except Exception as exc:
                log.error("ingest.dedup_not_released", scope=scope, error=str(exc))


def _duplicate(index: int, original_message_id: str) -> RecordReceipt:
    return RecordReceipt(index, original_message_id, "duplicate", ())
