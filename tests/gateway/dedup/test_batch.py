"""Batched store operations: every caller is answered, whatever happens to the batch."""

import asyncio

import pytest

from gateway.dedup import Claim
from gateway.dedup._batch import Batcher, Op
from gateway.errors import DedupUnavailableError

SCOPE = "feed:crime-reports"


async def test_a_flush_that_raises_answers_every_caller_and_the_next_batch_works():
    """A bug in the flush fails its batch (no caller hangs); later operations go through."""
    calls = []

    async def flush(works):
        calls.append(list(works))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return [w * 2 for w in works]

    batcher = Batcher(flush, name="test")
    first = await asyncio.gather(batcher.run(Op(1)), batcher.run(Op(2)), return_exceptions=True)
    later = await batcher.run(Op(3))
    await batcher.aclose()
    assert [DedupUnavailableError, DedupUnavailableError] == [type(r) for r in first]
    assert ([[1, 2], [3]], 6) == (calls, later)


async def test_operations_asked_together_share_one_flush_and_keep_their_order():
    """Three operations asked in one go are flushed together, each answered with its own."""
    flushed = []

    async def flush(works):
        flushed.append(list(works))
        return [f"answer-{w}" for w in works]

    batcher = Batcher(flush, name="test")
    answers = await asyncio.gather(*(batcher.run(Op(n)) for n in range(3)))
    await batcher.aclose()
    assert ([[0, 1, 2]], ["answer-0", "answer-1", "answer-2"]) == (flushed, answers)


async def test_an_exception_answer_goes_to_its_caller_alone():
    """A flush may answer one operation with an exception and the others with values."""

    async def flush(works):
        return [ValueError(w) if w == "bad" else w for w in works]

    batcher = Batcher(flush, name="test")
    answers = await asyncio.gather(
        batcher.run(Op("good")), batcher.run(Op("bad")), return_exceptions=True
    )
    await batcher.aclose()
    assert "good" == answers[0]
    assert isinstance(answers[1], ValueError)


async def test_closed_batcher_refuses_work():
    """After aclose, run() raises DedupUnavailableError."""

    async def flush(works):
        return list(works)

    batcher = Batcher(flush, name="test")
    await batcher.aclose()
    with pytest.raises(DedupUnavailableError, match="closed"):
        await batcher.run(Op(1))


async def test_a_claim_whose_caller_was_cancelled_is_released(store):
    """The caller of a claim goes away before the answer: the claim is undone, so the key is
    free for the next caller at once instead of busy until the lease ends."""
    abandoned = asyncio.create_task(
        store.claim(SCOPE, "m-1", owner="gone", lease_s=3600, retention_s=3600)
    )
    await asyncio.sleep(0)  # the claim is queued
    abandoned.cancel()
    await asyncio.sleep(0.05)
    for _ in range(50):
        claim = await store.claim(SCOPE, "m-1", owner="next", lease_s=3600, retention_s=3600)
        if claim.state == "claimed":
            break
        await asyncio.sleep(0.01)  # the undo may still be on its way
    assert Claim("claimed") == claim


async def test_claims_of_a_cancelled_claim_many_are_released(store):
    """The same for a batch of claims: every key it claimed is free again."""
    keys = [f"m-{n}" for n in range(5)]
    abandoned = asyncio.create_task(
        store.claim_many(SCOPE, keys, owner="gone", lease_s=3600, retention_s=3600)
    )
    await asyncio.sleep(0)  # the claims are queued
    abandoned.cancel()
    await asyncio.sleep(0.05)
    for _ in range(50):
        answers = await store.claim_many(SCOPE, keys, owner="next", lease_s=3600, retention_s=3600)
        if all(a == Claim("claimed") for a in answers):
            break
        await store.release_many(SCOPE, keys, owner="next")
        await asyncio.sleep(0.01)  # the undo may still be on its way
    assert [Claim("claimed")] * 5 == answers


async def test_aclose_answers_an_operation_under_way(store):
    """Closing the store while an operation waits for its batch: the operation is answered
    (done or refused), never left hanging."""
    pending = asyncio.create_task(store.claim(SCOPE, "m-1", owner="a", lease_s=30, retention_s=60))
    await asyncio.sleep(0)
    await store.aclose()
    async with asyncio.timeout(5):
        outcome = await asyncio.gather(pending, return_exceptions=True)
    assert outcome[0] == Claim("claimed") or isinstance(outcome[0], DedupUnavailableError)


async def test_cancelled_aclose_still_lets_the_batch_under_way_answer(store):
    """A shutdown that cancels aclose() does not cancel the batch: its callers get answers."""
    pending = asyncio.create_task(store.claim(SCOPE, "m-1", owner="a", lease_s=30, retention_s=60))
    await asyncio.sleep(0)
    closing = asyncio.create_task(store.aclose())
    await asyncio.sleep(0)
    closing.cancel()
    async with asyncio.timeout(5):
        outcome = await asyncio.gather(pending, return_exceptions=True)
    await asyncio.gather(closing, return_exceptions=True)
    assert outcome[0] == Claim("claimed") or isinstance(outcome[0], DedupUnavailableError)
