"""The ingest deduplicator alone: one deadline per request, copies answered from the first."""

from datetime import UTC, datetime

from gateway.dedup import SqliteIdempotencyStore
from gateway.ingest import IngestDeduplicator, RecordReceipt, answer_copies
from gateway.ingest.dedup import Claims
from gateway.ingest.pipeline import PreparedMessage
from gateway.metrics import Metrics
from gateway.routing.spec import DedupSpec, FeedSpec
from schemas import Envelope

FEED = FeedSpec.model_validate(
    {
        "from": ["mvd.*"],
        "adapter": "mvd.crime_report",
        "schema": "crime_report/1",
        "dedup": DedupSpec(key="payload.report_number"),
    }
)


def prepared(index, key):
    """A prepared record with dedup key ``key``."""
    envelope = Envelope.model_construct(
        message_id=f"new-{index}",
        correlation_id="c",
        client="mvd.crime-registry",
        feed="crime-reports",
        schema_id="crime_report/1",
        received_at=datetime.now(UTC),
        payload_sha256="0" * 64,
    )
    return PreparedMessage(index, envelope, b"{}", ("etergov.crime-reports",), {}, key)


class FakeTime:
    """A monotonic clock that moves only when the deduplicator sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = 0

    def clock(self):
        """Now."""
        return self.now

    async def sleep(self, seconds):
        """Sleep by moving the clock."""
        self.sleeps += 1
        self.now += seconds


async def test_busy_keys_share_one_deadline(tmp_path):
    """Three keys held by another request: each round asks for all three at once, and the
    request gives up after one wait (not one per key), answering each 'failed' with a 409."""
    store = SqliteIdempotencyStore(tmp_path / "dedup.db")
    time = FakeTime()
    dedup = IngestDeduplicator(
        store, Metrics(), wait_s=1.0, publish_timeout=1.0, sleep=time.sleep, clock=time.clock
    )
    try:
        for key in ("k1", "k2", "k3"):
            await store.claim("feed:crime-reports", key, owner="other", lease_s=60, retention_s=60)
        claims = await dedup.claim(
            "crime-reports", FEED, [prepared(0, "k1"), prepared(1, "k2"), prepared(2, "k3")]
        )
    finally:
        await store.aclose()
    assert (20, [], ["failed"] * 3) == (
        time.sleeps,
        claims.publish,
        [r.status for r in claims.answered],
    )
    assert 409 == claims.conflict.status


async def test_copy_of_a_record_answers_like_the_first_copy():
    """The second copy of a key in a batch is a duplicate of what the first became, or fails
    with it."""
    claims = Claims(owner="o", publish=[], copies={1: 0, 3: 2})
    receipts = [
        RecordReceipt(0, "original-id", "duplicate", ()),
        RecordReceipt(2, "new-2", "failed", (), "broker away"),
    ]
    assert [
        RecordReceipt(1, "original-id", "duplicate", ()),
        RecordReceipt(3, "new-2", "failed", (), "broker away"),
    ] == answer_copies(claims, receipts)
