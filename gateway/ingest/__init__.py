"""Ingest: native records → canonical, deduplicated, routed, published with confirms."""

from gateway.ingest.dedup import (
    Claims,
    IngestDeduplicator,
    answer_copies,
    publish_once,
    scope_of,
)
from gateway.ingest.pipeline import (
    IngestPipeline,
    IngestRequest,
    PreparedMessage,
    PublishOutcome,
    RecordReceipt,
    canonicalize,
)

__all__ = [
    "Claims",
    "IngestDeduplicator",
    "IngestPipeline",
    "IngestRequest",
    "PreparedMessage",
    "PublishOutcome",
    "RecordReceipt",
    "answer_copies",
    "canonicalize",
    "publish_once",
    "scope_of",
]
