"""The audit log: every exchange in an append-only, hash-chained, durable store.

record.py   what a record holds, its canonical form, sealing, checkpoint signatures
store.py    the store's seam and ``open_audit_store(url)``: SQLite or PostgreSQL
writer.py   AuditWriter: bounded backlog, group commit, checkpoints, availability
verify.py   verify_chain(): names every altered, missing or reordered record
http.py     the audit entry of an HTTP exchange (the middleware's)
"""

from __future__ import annotations

from gateway.audit.record import AuditEntry, Checkpoint, PreparedRecord, Sealed, StoredRecord
from gateway.audit.store import AuditQuery, AuditStore, open_audit_store, redact_url
from gateway.audit.verify import Problem, VerifyReport, verify_chain
from gateway.audit.writer import AuditWriter
from gateway.config import Settings
from gateway.metrics import Metrics


def open_audit_writer(settings: Settings, metrics: Metrics | None = None) -> AuditWriter | None:
    """The writer ``settings`` configure (not started), or None when GATEWAY_AUDIT_URL is
    ``none``."""
    if settings.audit_url.strip().lower() in ("", "none"):
        return None
    store = open_audit_store(settings.audit_url, timeout_s=settings.audit_timeout)
    return AuditWriter(
        store,
        metrics=metrics,
        key=settings.audit_key.encode("utf-8") or None,
        max_backlog=settings.audit_max_backlog,
        checkpoint_every=settings.audit_checkpoint_every,
        checkpoint_interval=settings.audit_checkpoint_interval,
        retry_after=settings.retry_after,
    )


__all__ = [
    "AuditEntry",
    "AuditQuery",
    "AuditStore",
    "AuditWriter",
    "Checkpoint",
    "PreparedRecord",
    "Problem",
    "Sealed",
    "StoredRecord",
    "VerifyReport",
    "open_audit_store",
    "open_audit_writer",
    "redact_url",
    "verify_chain",
]
