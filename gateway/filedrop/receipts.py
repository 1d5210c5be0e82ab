"""What a sender finds beside its file: ``<name>.receipt.json`` in archive/, or
``<name>.error.json`` in failed/. Both are written from the file's journal, streamed (a file
of a million records has a receipt of tens of megabytes, never held in memory), and put in
place atomically (gateway/filedrop/paths.py ``write_atomically``).

Receipt::

    {"file": "inspections.csv", "archived_as": "inspections.csv", "feed": "inspections",
     "system": "agencies.inspections-drop", "format": "csv", "encoding": "cp1251",
     "sha256": "…", "bytes": 1234, "correlation_id": "…",
     "taken_at": "…", "finished_at": "…",
     "records": 6, "accepted": 5, "duplicate": 0, "rejected": 1,
     "routes": {"inspections-register.inbox": 5, "raqamli-prokuror.supervision": 2},
     "message_ids": ["…", null, …],            one per record, by index; null: rejected
     "duplicates": [{"index", "line", "message_id"}],   accepted before, from an identical file
     "rejected_records": [{"index", "line",
                           "problems": [{"field", "message", "canonical_field"}]}]}

Error file::

    {"file", "failed_as", "feed", "system", "format", "encoding", "sha256", "bytes",
     "correlation_id", "taken_at", "failed_at",
     "line", "column", "reason",                where and why the file was refused
     "records", "rejected_records": [...]}      when it was refused for bad records
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

from gateway.filedrop.journal import read_entries

#: namespace of the message ids of file records: uuid5(it, "<scope>:<sha256>:<index>")
FILE_RECORD_IDS: Final = uuid.UUID("6f1d6a8e-3c0b-5e4a-9d2f-7b1e0c4a9f31")
_IDS_PER_CHUNK: Final = 10_000


def record_message_id(scope: str, sha256: str, index: int) -> str:
    """The message id of record ``index`` of the file with ``sha256`` in dedup ``scope``: the
    same every time the file is read, so a resumed file's records keep their ids."""
    return str(uuid.uuid5(FILE_RECORD_IDS, f"{scope}:{sha256}:{index}"))


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What a receipt or an error file says of the file itself."""

    file: str
    feed: str
    system: str
    format: str
    encoding: str | None
    correlation_id: str
    taken_at: str
    sha256: str | None = None
    bytes: int | None = None

    def head(self) -> dict[str, Any]:
        """The facts as the first keys of the JSON object."""
        return {
            "file": self.file,
            "feed": self.feed,
            "system": self.system,
            "format": self.format,
            "encoding": self.encoding,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "correlation_id": self.correlation_id,
            "taken_at": self.taken_at,
        }


@dataclass
class Totals:
    """The counts of a processed file, from its journal."""

    records: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    routes: dict[str, int] | None = None


def totals(journal: Path) -> Totals:
    """Count what the journal at ``journal`` records."""
    out = Totals(routes={})
    assert out.routes is not None
    for entry in read_entries(journal):
        if "settled" in entry:
            out.accepted += entry["accepted"]
            out.duplicate += len(entry["duplicates"])
            for destination, count in entry["routes"].items():
                out.routes[destination] = out.routes.get(destination, 0) + count
        elif "rejected" in entry:
            out.rejected += 1
        elif "checked" in entry:
            out.records = entry["checked"]["records"]
    return out


def receipt_chunks(
    facts: FileFacts, archived_as: str, finished_at: str, scope: str, journal: Path
) -> Iterator[bytes]:
    """The receipt of a file whose records are all settled, as chunks of JSON."""
    counts = totals(journal)
    assert facts.sha256 is not None
    head = {
        **facts.head(),
        "archived_as": archived_as,
        "finished_at": finished_at,
        "records": counts.records,
        "accepted": counts.accepted,
        "duplicate": counts.duplicate,
        "rejected": counts.rejected,
        "routes": counts.routes,
    }
    yield orjson.dumps(head)[:-1]  # the object left open
    yield b',"message_ids":['
    rejected = rejected_indices(journal)
    next_rejected = next(rejected, None)
    ids: list[str | None] = []
    for index in range(counts.records):
        if index == next_rejected:
            ids.append(None)
            next_rejected = next(rejected, None)
        else:
            ids.append(record_message_id(scope, facts.sha256, index))
        if len(ids) == _IDS_PER_CHUNK:
            yield orjson.dumps(ids)[1:-1] + (b"," if index + 1 < counts.records else b"")
            ids = []
    if ids:
        yield orjson.dumps(ids)[1:-1]
    yield b'],"duplicates":['
    first = True
    for entry in read_entries(journal):
        if "settled" in entry:
            for index, line in entry["duplicates"]:
                item = {
                    "index": index,
                    "line": line,
                    "message_id": record_message_id(scope, facts.sha256, index),
                }
                yield (b"" if first else b",") + orjson.dumps(item)
                first = False
    yield b'],"rejected_records":'
    yield from rejected_list(journal)
    yield b"}\n"


def error_chunks(
    facts: FileFacts,
    failed_as: str,
    failed_at: str,
    error: dict[str, Any],
    journal: Path | None,
) -> Iterator[bytes]:
    """The error file of a refused file: ``error`` (line, column, reason, and ``records`` when
    it was refused for bad records, whose list the journal gives)."""
    head = {**facts.head(), "failed_as": failed_as, "failed_at": failed_at, **error}
    if journal is None or "records" not in error:
        yield orjson.dumps(head) + b"\n"
        return
    yield orjson.dumps(head)[:-1] + b',"rejected_records":'
    yield from rejected_list(journal)
    yield b"}\n"


def rejected_list(journal: Path) -> Iterator[bytes]:
    """The journal's bad records as a JSON array, in chunks."""
    yield b"["
    first = True
    for entry in read_entries(journal):
        if "rejected" in entry:
            yield (b"" if first else b",") + orjson.dumps(entry["rejected"])
            first = False
    yield b"]"


def first_rejected(journal: Path) -> dict[str, Any] | None:
    """The first bad record the journal lists, or None."""
    for entry in read_entries(journal):
        if "rejected" in entry:
            found: dict[str, Any] = entry["rejected"]
            return found
    return None


def rejected_indices(journal: Path) -> Iterator[int]:
    """Indices of the records the check pass rejected, in order."""
    for entry in read_entries(journal):
        if "rejected" in entry:
            yield entry["rejected"]["index"]
