"""Deduplication at ingest: a record already accepted is answered "duplicate", not published.

Eager, like Camel's idempotent consumer:

    claim    every distinct key of the request at once (the store batches them), under one
             lease long enough for the whole request; a key already done is answered
             ``duplicate`` with the original message id; a key another request is accepting
             right now is asked again until one deadline for the request (``wait_s``), then
             answered from its outcome, or 409 if still undecided. A record whose key appears
             earlier in the same batch is a copy: it is answered from the first one's outcome
    settle   after publishing, accepted records' keys are marked done and the others released,
             so the caller's resend is not mistaken for a duplicate
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import structlog

from gateway.dedup import Claim, IdempotencyStore
from gateway.errors import ConflictError
from gateway.ingest.pipeline import (
    IngestPipeline,
    PreparedMessage,
    PublishOutcome,
    RecordReceipt,
)
from gateway.metrics import Metrics
from gateway.routing import FeedSpec

log = structlog.get_logger("gateway.ingest")
_POLL_S = 0.05
#: how much longer than the request can take a claim is leased, before others may take it over
_LEASE_MARGIN_S = 30.0


@dataclass
class Claims:
    """What claiming decided for the records of one request."""

    owner: str
    publish: list[PreparedMessage]
    scope: str = ""  # the key space: feed:<name>, or the scope it shares with other feeds
    keys: dict[int, str] = field(default_factory=dict)  # record index → key claimed for it
    answered: list[RecordReceipt] = field(default_factory=list)  # duplicates, undecided
    copies: dict[int, int] = field(default_factory=dict)  # later index → first index, same key
    conflict: ConflictError | None = None


class IngestDeduplicator:
    """Claims, completes and releases the dedup keys of a feed's records."""

    def __init__(
        self,
        store: IdempotencyStore,
        metrics: Metrics,
        *,
        wait_s: float,
        publish_timeout: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._wait_s = wait_s
        self._publish_timeout = publish_timeout
        self._sleep = sleep
        self._clock = clock

    async def claim(
        self,
        feed_name: str,
        feed: FeedSpec,
        messages: Sequence[PreparedMessage],
        *,
        owner: str | None = None,
    ) -> Claims:
        """Claim every record's key (as ``owner``, else as the request, a fresh id); a store
        failure releases what was claimed and raises."""
        claims = Claims(
            owner=owner or uuid.uuid4().hex, publish=[], scope=scope_of(feed_name, feed)
        )
        if feed.dedup is None:
            claims.publish = list(messages)
            return claims
        scope = claims.scope
        first: dict[str, PreparedMessage] = {}
        for message in messages:
            key = message.dedup_key
            if key is None:
                claims.publish.append(message)
            elif key in first:
                self._metrics.dedup_hits.labels(scope).inc()
                claims.copies[message.index] = first[key].index
            else:
                first[key] = message
        try:
            await self._claim_all(scope, feed, first, claims)
        except BaseException:
            await self.release(feed_name, claims)
            raise
        claims.publish.sort(key=lambda m: m.index)
        return claims

    async def _claim_all(
        self, scope: str, feed: FeedSpec, pending: dict[str, PreparedMessage], claims: Claims
    ) -> None:
        assert feed.dedup is not None
        # long enough for the busy wait, then one publish round per destination of a record
        rounds = max((len(m.destinations) for m in pending.values()), default=1)
        lease = self._wait_s + self._publish_timeout * rounds + _LEASE_MARGIN_S
        deadline = self._clock() + self._wait_s
        while pending:
            answers = await self._store.claim_many(
                scope,
                list(pending),
                owner=claims.owner,
                lease_s=lease,
                retention_s=feed.dedup.window,
            )
            busy: dict[str, PreparedMessage] = {}
            failure: BaseException | None = None
            for (key, message), answer in zip(pending.items(), answers, strict=True):
                if isinstance(answer, Exception):
                    failure = failure or answer
                elif answer.state == "claimed":
                    claims.keys[message.index] = key
                    claims.publish.append(message)
                elif answer.state == "done":
                    self._metrics.dedup_hits.labels(scope).inc()
                    claims.answered.append(_duplicate(message.index, answer))
                else:
                    busy[key] = message
            if failure is not None:
                raise failure
            pending = busy
            if not pending or self._clock() >= deadline:
                break
            await self._sleep(_POLL_S)
        for message in pending.values():
            text = "the same record is being accepted by another request; send it again"
            claims.answered.append(
                RecordReceipt(message.index, message.envelope.message_id, "failed", (), text)
            )
            claims.conflict = claims.conflict or ConflictError(text)

    async def settle(
        self, feed_name: str, feed: FeedSpec, claims: Claims, outcome: PublishOutcome
    ) -> None:
        """Mark accepted records' keys done, release the others (all at once)."""
        if not claims.keys or feed.dedup is None:
            return
        scope, window = claims.scope, feed.dedup.window
        accepted = {r.index: r.message_id for r in outcome.receipts if r.status == "accepted"}
        done = [(i, key) for i, key in claims.keys.items() if i in accepted]
        failed = [key for i, key in claims.keys.items() if i not in accepted]

        async def complete() -> None:
            try:
                answers = await self._store.complete_many(
                    scope,
                    [(key, accepted[i]) for i, key in done],
                    owner=claims.owner,
                    retention_s=window,
                )
            except Exception as exc:
                answers = [exc] * len(done)
            for (index, _), answer in zip(done, answers, strict=True):
                if isinstance(answer, Exception):
                    log.error(
                        "ingest.dedup_not_recorded", scope=scope, index=index, error=str(answer)
                    )
                elif not answer:
                    # our lease ran out and another request took the key meanwhile
                    log.error("ingest.dedup_claim_lost", scope=scope, index=index)

        tasks = [complete()] if done else []
        if failed:
            tasks.append(self._release_keys(scope, claims.owner, failed))
        await asyncio.gather(*tasks)

    async def release(self, feed_name: str, claims: Claims) -> None:
        """Release every key claimed (nothing was published)."""
        if claims.keys:
            await self._release_keys(claims.scope, claims.owner, list(claims.keys.values()))

    async def _release_keys(self, scope: str, owner: str, keys: list[str]) -> None:
        try:
            await self._store.release_many(scope, keys, owner=owner)
        except Exception as exc:
            log.error("ingest.dedup_not_released", scope=scope, keys=len(keys), error=str(exc))


def scope_of(feed_name: str, feed: FeedSpec) -> str:
    """The key space of a feed's records: its own, or the one it shares with other feeds."""
    shared = feed.dedup.scope if feed.dedup is not None else None
    return f"feed:{shared or feed_name}"


async def publish_once(
    pipeline: IngestPipeline,
    dedup: IngestDeduplicator | None,
    feed_name: str,
    feed: FeedSpec,
    prepared: Sequence[PreparedMessage],
    *,
    owner: str | None = None,
    on_claimed: Callable[[Claims], Awaitable[None]] | None = None,
) -> PublishOutcome:
    """Publish the records not yet accepted, every channel alike: claim their keys (as
    ``owner``), publish what was claimed, settle; duplicates are answered from the store, a
    later copy of a key in the same batch from the first one, and a key another request
    holds past the wait makes the outcome's failure a conflict. ``on_claimed`` is told what
    claiming decided before anything is published."""
    if dedup is None or feed.dedup is None:
        return await pipeline.publish(prepared)
    claims = await dedup.claim(feed_name, feed, prepared, owner=owner)
    try:
        if on_claimed is not None:
            await on_claimed(claims)
        outcome = await pipeline.publish(claims.publish)
    except BaseException:
        await asyncio.shield(dedup.release(feed_name, claims))
        raise
    # shielded: a request cancelled now (a shutdown) must still record what was accepted
    await asyncio.shield(dedup.settle(feed_name, feed, claims, outcome))
    outcome.receipts.extend(claims.answered)
    outcome.receipts.extend(answer_copies(claims, outcome.receipts))
    if outcome.failure is None:
        outcome.failure = claims.conflict
    return outcome


def answer_copies(claims: Claims, receipts: Sequence[RecordReceipt]) -> list[RecordReceipt]:
    """Receipts for the later copies of a key within one batch, from the first copy's: a
    duplicate of what it became (accepted, or itself a duplicate), or failed like it."""
    by_index = {r.index: r for r in receipts}
    copies = []
    for index, first_index in claims.copies.items():
        first = by_index[first_index]
        if first.status in ("accepted", "duplicate"):
            copies.append(RecordReceipt(index, first.message_id, "duplicate", ()))
        else:
            copies.append(RecordReceipt(index, first.message_id, "failed", (), first.error))
    return copies


def _duplicate(index: int, claim: Claim) -> RecordReceipt:
    return RecordReceipt(index, claim.message_id or "", "duplicate", ())
