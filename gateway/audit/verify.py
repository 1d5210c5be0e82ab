"""Walk the chain and its checkpoints; name every record that was altered, removed or moved.

For each record, in seq order:
    - its text must hash to its stored hash                    else: altered
    - the seq inside its text must be its place in the chain   else: reordered
    - no seq may be skipped                                    else: missing
    - its prev_hash must be the previous record's hash         else: the previous record was
                                                                     altered (and rehashed) or
                                                                     replaced
    - the indexed columns must say what its text says          else: altered
Then: the head row must name the last record; every checkpoint's signature must hold (with the
key), and the record it signed must still have the hash it signed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.audit.record import (
    GENESIS_HASH,
    INDEX_FIELDS,
    Checkpoint,
    Sealed,
    StoredRecord,
    checkpoint_mac,
    parse_time_micros,
)
from gateway.audit.store import AuditStore

ProblemKind = Literal["altered", "missing", "reordered", "forged"]
_PAGE = 5000


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: which record (by seq), what kind, and the evidence in words."""

    seq: int
    kind: ProblemKind
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(slots=True)
class VerifyReport:
    """What a walk of the chain found."""

    records: int = 0
    last: Sealed = field(default_factory=lambda: Sealed(0, GENESIS_HASH))
    head: Sealed = field(default_factory=lambda: Sealed(0, GENESIS_HASH))
    checkpoints: int = 0
    signatures_checked: bool = False
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing found."""
        return not self.problems

    @property
    def first(self) -> Problem | None:
        """The problem at the lowest seq (the first record that is not as written)."""
        return min(self.problems, key=lambda p: p.seq) if self.problems else None

    def summary(self) -> str:
        """One line: how much was checked."""
        signed = (
            "signatures checked"
            if self.signatures_checked
            else "signatures NOT checked (GATEWAY_AUDIT_KEY not set)"
        )
        return (
            f"{self.records} record(s), seq 1..{self.last.seq}, head {self.last.hash[:16]}…; "
            f"{self.checkpoints} checkpoint(s), {signed}"
        )


async def verify_chain(store: AuditStore, key: bytes | None = None) -> VerifyReport:
    """Check every record and checkpoint of ``store``; ``key`` checks the signatures."""
    report = VerifyReport(signatures_checked=key is not None)
    checkpoints = await store.checkpoints()
    report.checkpoints = len(checkpoints)
    signed: dict[int, list[Checkpoint]] = defaultdict(list)
    for checkpoint in checkpoints:
        signed[checkpoint.seq].append(checkpoint)
        if key is not None and not hmac.compare_digest(
            checkpoint.mac,
            checkpoint_mac(key, checkpoint.seq, checkpoint.hash, checkpoint.time_us),
        ):
            report.problems.append(
                Problem(
                    checkpoint.seq,
                    "forged",
                    f"checkpoint #{checkpoint.id} (of record {checkpoint.seq}) is forged or "
                    "altered: its signature does not match",
                )
            )
    expected, prev = 1, GENESIS_HASH
    while True:
        page = await store.records(report.last.seq, _PAGE)
        for row in page:
            problem = _check(row, expected, prev)
            if problem is not None:
                report.problems.append(problem)
            content_hash = hashlib.sha256(row.text.encode("utf-8")).hexdigest()
            for checkpoint in signed.pop(row.seq, []):
                if checkpoint.hash != content_hash:
                    report.problems.append(
                        Problem(
                            row.seq,
                            "altered",
                            f"record {row.seq} is not what checkpoint #{checkpoint.id} signed: "
                            "its content hashes differently",
                        )
                    )
            report.records += 1
            report.last = Sealed(row.seq, row.hash)
            expected, prev = row.seq + 1, row.hash
        if len(page) < _PAGE:
            break
    report.head = await store.head()
    _check_end(report, signed)
    return report


def _check(row: StoredRecord, expected: int, prev: str) -> Problem | None:
    """The first thing wrong with ``row``, at place ``expected`` after a record hashed
    ``prev``; None when it is as written."""
    seq = row.seq
    if hashlib.sha256(row.text.encode("utf-8")).hexdigest() != row.hash:
        return Problem(
            seq, "altered", f"record {seq} was altered: its content does not match its hash"
        )
    try:
        record = row.record()
        written_seq, written_prev, exchange = record["seq"], record["prev_hash"], record["exchange"]
    except (ValueError, KeyError, TypeError):
        return Problem(seq, "altered", f"record {seq} was altered: its content is not a record")
    if written_seq != seq:
        return Problem(
            seq,
            "reordered",
            f"record {seq} is out of place: the record stored as {seq} was written as record "
            f"{written_seq}",
        )
    if seq > expected:
        gap = (
            f"record {expected} is" if seq == expected + 1 else f"records {expected}..{seq - 1} are"
        )
        return Problem(expected, "missing", f"{gap} missing: the chain goes on at record {seq}")
    if written_prev != prev:
        before = seq - 1
        return Problem(
            before,
            "altered",
            f"record {before} was altered or replaced: record {seq} was written after a "
            f"record with another hash",
        )
    return _check_columns(row, exchange)


def _check_columns(row: StoredRecord, exchange: Any) -> Problem | None:
    """The indexed columns must say what the record says (queries read them)."""
    if not isinstance(exchange, dict):
        return Problem(row.seq, "altered", f"record {row.seq} was altered: no exchange in it")
    for name in INDEX_FIELDS:
        if row.index.get(name) != exchange.get(name):
            return Problem(
                row.seq,
                "altered",
                f"record {row.seq} was altered: column {name} says {row.index.get(name)!r}, "
                f"the record says {exchange.get(name)!r}",
            )
    try:
        time_us = parse_time_micros(str(exchange.get("time")))
    except ValueError:
        time_us = None
    if time_us != row.time_us:
        return Problem(
            row.seq,
            "altered",
            f"record {row.seq} was altered: column time_us says {row.time_us}, the record says "
            f"{exchange.get('time')!r}",
        )
    return None


def _check_end(report: VerifyReport, unmatched: dict[int, list[Checkpoint]]) -> None:
    """The head must name the last record; a checkpoint must not sign a record that is gone."""
    last, head = report.last, report.head
    if head.seq > last.seq:
        gap = (
            f"record {head.seq} is"
            if head.seq == last.seq + 1
            else (f"records {last.seq + 1}..{head.seq} are")
        )
        report.problems.append(
            Problem(
                last.seq + 1, "missing", f"{gap} missing: the chain's head is record {head.seq}"
            )
        )
    elif head.seq == last.seq and head.hash != last.hash:
        report.problems.append(
            Problem(
                last.seq,
                "altered",
                f"record {last.seq} was altered or replaced: the chain's head records another hash",
            )
        )
    elif head.seq < last.seq:
        report.problems.append(
            Problem(
                head.seq + 1,
                "altered",
                f"record {head.seq + 1} was added behind the writer's back: the chain's head is "
                f"record {head.seq}",
            )
        )
    for seq, checkpoints in sorted(unmatched.items()):
        for checkpoint in checkpoints:
            report.problems.append(
                Problem(
                    seq,
                    "missing",
                    f"record {seq} is missing: checkpoint #{checkpoint.id} signed it",
                )
            )
