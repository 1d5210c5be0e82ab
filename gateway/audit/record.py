"""What one audit record holds, and how it is sealed into the chain.

A record is one exchange (an HTTP request, a SOAP call, a dropped file): the access log's
fields, the SHA-256 of the request and response bodies, and the bodies themselves where the
feed or service says ``log_body: full``. Its **canonical form** is the UTF-8 JSON text

    {"seq":<n>,"prev_hash":"<64 hex>","exchange":{...keys sorted, no spaces...}}

with the three envelope keys in that order; its hash is the SHA-256 of that text. ``seq``
numbers the records 1, 2, 3, ... without gaps; ``prev_hash`` is the hash of record ``seq - 1``
(64 zeros for the first). The store keeps the text as written and the hash beside it, so
verifying never depends on serialising anything again: altering a field breaks the record's
hash, deleting or reordering one breaks ``seq`` and ``prev_hash``.

A **checkpoint** signs (HMAC-SHA256, key from GATEWAY_AUDIT_KEY) the sequence number and hash
of a record, and the time it was taken: whoever rewrites the chain from some record on, with
every hash recomputed, still cannot make the checkpoints after it agree without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

GENESIS_HASH = "0" * 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: the columns a store keeps beside each record's text, so that queries need not parse it
INDEX_FIELDS = (
    "kind",
    "client",
    "feed",
    "service",
    "user_id",
    "issue",
    "subject",
    "correlation_id",
)


@dataclass(slots=True)
class AuditEntry:
    """One exchange, as any channel reports it to :meth:`AuditWriter.append`.

    ``time`` is when the exchange began (seconds since the epoch). Bodies are kept only when
    given (the feed's or service's ``log_body: full``); their SHA-256 always.
    """

    time: float
    kind: str
    client: str | None = None
    feed: str | None = None
    service: str | None = None
    schema: str | None = None
    user_id: str | None = None
    issue: str | None = None
    subject: str | None = None
    method: str | None = None
    path: str | None = None
    message_ids: list[str] = field(default_factory=list)
    duplicate_of: list[str] = field(default_factory=list)
    record_count: int = 0
    outcome: str = "ok"
    status: int | None = None
    error_code: str | None = None
    error_id: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    latency_ms: float | None = None
    correlation_id: str | None = None
    xroad_client: str | None = None
    xroad_service: str | None = None
    xroad_protocol_version: str | None = None
    request_sha256: str | None = None
    response_sha256: str | None = None
    request_body: bytes | None = None
    response_body: bytes | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def exchange(self) -> dict[str, Any]:
        """The ``exchange`` object of the canonical record."""
        out: dict[str, Any] = {
            "time": format_micros(to_micros(self.time)),
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "client": self.client,
            "feed": self.feed,
            "service": self.service,
            "schema": self.schema,
            "user_id": self.user_id,
            "issue": self.issue,
            "subject": self.subject,
            "message_ids": list(self.message_ids),
            "duplicate_of": list(self.duplicate_of),
            "record_count": self.record_count,
            "outcome": self.outcome,
            "status": self.status,
            "error_code": self.error_code,
            "error_id": self.error_id,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "latency_ms": self.latency_ms,
            "correlation_id": self.correlation_id,
            "request_sha256": self.request_sha256,
            "response_sha256": self.response_sha256,
        }
        if self.xroad_client or self.xroad_service or self.xroad_protocol_version:
            out.update(
                xroad_client=self.xroad_client,
                xroad_service=self.xroad_service,
                xroad_protocol_version=self.xroad_protocol_version,
            )
        if self.request_body is not None:
            out.update(_body("request", self.request_body))
        if self.response_body is not None:
            out.update(_body("response", self.response_body))
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    def prepare(self) -> PreparedRecord:
        """The exchange serialised once, with the columns its store indexes."""
        exchange = self.exchange()
        text = orjson.dumps(exchange, option=orjson.OPT_SORT_KEYS)
        return PreparedRecord(text, to_micros(self.time), {k: exchange[k] for k in INDEX_FIELDS})


def _body(which: str, body: bytes) -> dict[str, str]:
    """A body as text when it is UTF-8 (JSON, XML), else base64 under a key that says so."""
    try:
        return {f"{which}_body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {f"{which}_body_base64": base64.b64encode(body).decode("ascii")}


@dataclass(frozen=True, slots=True)
class PreparedRecord:
    """An exchange ready to be sealed: its canonical JSON (keys sorted) and indexed columns."""

    exchange_json: bytes
    time_us: int
    index: dict[str, Any]

    @property
    def size(self) -> int:
        """Bytes it holds in memory while it waits (roughly: its JSON)."""
        return len(self.exchange_json)


@dataclass(frozen=True, slots=True)
class Sealed:
    """Where a record landed in the chain."""

    seq: int
    hash: str


def seal(seq: int, prev_hash: str, exchange_json: bytes) -> tuple[str, str]:
    """The canonical text of record ``seq`` after ``prev_hash``, and its hash."""
    text = b'{"seq":%d,"prev_hash":"%s","exchange":%s}' % (
        seq,
        prev_hash.encode("ascii"),
        exchange_json,
    )
    return text.decode("utf-8"), hashlib.sha256(text).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One row as a store holds it: the sequence number, the hash and the text, and the
    indexed columns (which verify compares with the text)."""

    seq: int
    hash: str
    text: str
    time_us: int
    index: dict[str, Any]

    def record(self) -> dict[str, Any]:
        """The parsed text (``seq``, ``prev_hash``, ``exchange``)."""
        parsed: dict[str, Any] = orjson.loads(self.text)
        return parsed


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: record ``seq`` had hash ``hash`` at ``time_us``."""

    id: int
    seq: int
    hash: str
    time_us: int
    mac: str


def checkpoint_mac(key: bytes, seq: int, record_hash: str, time_us: int) -> str:
    """HMAC-SHA256 of a checkpoint's statement under ``key``."""
    message = f"e-integratsiya audit checkpoint\n{seq}\n{record_hash}\n{time_us}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def format_micros(time_us: int) -> str:
    """Microseconds since the epoch as ISO 8601 UTC: ``2026-01-31T12:00:00.000001Z``."""
    return (_EPOCH + time_us * _MICROSECOND).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_micros(seconds: float) -> int:
    """Seconds since the epoch as whole microseconds (what the stores index)."""
    return round(seconds * 1_000_000)


def parse_time_micros(text: str) -> int:
    """A record's ``time`` (as :func:`format_micros` writes it) as microseconds since the
    epoch; ValueError when it is not in that form."""
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND
