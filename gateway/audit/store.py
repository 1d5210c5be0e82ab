"""The audit store's seam: what SQLite and PostgreSQL both offer, and how a URL picks one.

Tables (the same in both):

    audit_records      seq (primary key), hash, text (the canonical record), time_us and
                       the indexed columns of INDEX_FIELDS, copied from the text for queries
    audit_head         one row: the seq and hash of the last record; every append locks it,
                       so appends from any number of gateways form one chain, and a record
                       deleted from the end still leaves a gap
    audit_checkpoints  id, seq, hash, time_us, mac (HMAC-SHA256 of the statement)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from gateway.audit.record import INDEX_FIELDS, Checkpoint, PreparedRecord, Sealed, StoredRecord

#: the columns of audit_records, in the order every SELECT reads them
RECORD_COLUMNS = ("seq", "hash", "text", "time_us", *INDEX_FIELDS)
#: the indexes ``audit query`` filters by, the same on every store (standard SQL)
RECORD_INDEXES = """\
CREATE INDEX IF NOT EXISTS audit_records_time ON audit_records (time_us);
CREATE INDEX IF NOT EXISTS audit_records_client ON audit_records (client, time_us);
CREATE INDEX IF NOT EXISTS audit_records_user ON audit_records (user_id, time_us);
CREATE INDEX IF NOT EXISTS audit_records_issue ON audit_records (issue, time_us);
CREATE INDEX IF NOT EXISTS audit_records_subject ON audit_records (subject, time_us);"""


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which exchanges to find: every given filter must hold (``since`` inclusive,
    ``until`` exclusive, both microseconds since the epoch)."""

    client: str | None = None
    service: str | None = None
    feed: str | None = None
    user_id: str | None = None
    issue: str | None = None
    subject: str | None = None
    kind: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    limit: int | None = None

    def where(self, placeholder: str) -> tuple[str, list[Any]]:
        """The SQL condition and its parameters, with ``placeholder`` for each (``?``, ``%s``)."""
        conditions: list[str] = []
        params: list[Any] = []
        for column in ("client", "service", "feed", "user_id", "issue", "subject", "kind"):
            value = getattr(self, column)
            if value is not None:
                conditions.append(f"{column} = {placeholder}")
                params.append(value)
        if self.since_us is not None:
            conditions.append(f"time_us >= {placeholder}")
            params.append(self.since_us)
        if self.until_us is not None:
            conditions.append(f"time_us < {placeholder}")
            params.append(self.until_us)
        return (" AND ".join(conditions) or "TRUE"), params


class AuditStore(Protocol):
    """An append-only chain of audit records and its checkpoints.

    Every method raises AuditUnavailableError when the store cannot be reached or used.
    """

    @property
    def location(self) -> str:
        """Where the store is, for messages (a file path, a URL without its password)."""
        ...

    async def append(self, records: Sequence[PreparedRecord]) -> list[Sealed]:
        """Seal ``records`` onto the end of the chain in one transaction, durably, in order."""
        ...

    async def add_checkpoint(self, seq: int, record_hash: str, time_us: int, mac: str) -> None:
        """Store a signed checkpoint."""
        ...

    async def head(self) -> Sealed:
        """The last record's seq and hash (0 and 64 zeros for an empty chain)."""
        ...

    async def records(self, after: int, limit: int) -> list[StoredRecord]:
        """Up to ``limit`` records with seq > ``after``, in seq order."""
        ...

    async def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, in the order written."""
        ...

    async def query(self, query: AuditQuery) -> list[StoredRecord]:
        """The records ``query`` matches, in seq order."""
        ...

    async def ping(self) -> None:
        """Raise AuditUnavailableError unless the store answers."""
        ...

    async def aclose(self) -> None:
        """Close; twice is harmless."""
        ...


def open_audit_store(url: str, *, timeout_s: float = 5.0) -> AuditStore:
    """The store ``url`` names: ``sqlite:///relative/path``, ``sqlite:////absolute/path``, or
    ``postgresql://user:password@host:port/database``; ValueError for anything else."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from gateway.audit._sqlite import SqliteAuditStore

        return SqliteAuditStore(sqlite_path(url), timeout_s=timeout_s)
    if scheme in ("postgresql", "postgres"):
        from gateway.audit._postgres import PostgresAuditStore

        return PostgresAuditStore(url, timeout_s=timeout_s)
    raise ValueError(
        f"audit store URL {redact_url(url)!r}: expected sqlite:///path or postgresql://..."
    )


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///`` URL (three slashes: relative, four: absolute)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ValueError(f"audit store URL {url!r}: expected sqlite:///path/to/file")
    return Path(url[len(prefix) :])


def redact_url(url: str) -> str:
    """``url`` without its password, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def stored(row: Sequence[Any]) -> StoredRecord:
    """A row read as RECORD_COLUMNS."""
    seq, record_hash, text, time_us, *index = row
    return StoredRecord(
        int(seq), record_hash, text, int(time_us), dict(zip(INDEX_FIELDS, index, strict=True))
    )
