"""One file of a file feed, from the inbox to archive/ or failed/.

    take       a journal is created in processing/ (O_EXCL), then the file is renamed into
               processing/ (its done marker after it)
    open       without following links, without blocking: anything but a regular file is
               refused (a link or a FIFO swapped in after the scan)
    check      pass 1, streamed: every record read, mapped and validated; bad records go to
               the journal; the SHA-256 of the whole file is taken on the way. A file that
               cannot be read at all → failed/ with ``line``, ``column``, ``reason``; a file
               with bad records on a ``reject_file`` feed → failed/, nothing published
    publish    pass 2, streamed: the good records in batches of ``batch``, enveloped and
               routed as a REST push's are (claim the dedup key, publish, settle), each batch
               in one AMQP transaction with its marker in the file's ledger queue (see
               ledger.py), up to IN_FLIGHT_BATCHES batches at once. A record's message id is
               uuid5 of (dedup scope, file SHA-256, index) and its dedup key
               ``<sha256>:<index>`` in the feed's scope: the same whenever the file is read.
               A batch RabbitMQ does not take is published again after a pause (1 s,
               doubling, at most 30 s), never dropped; the file stays in processing/
    archive    once every record is settled: the ledger queue deleted, the receipt beside
               the file, atomically, then the file

Crash safety. Each batch's range is journaled before its keys are claimed, and as settled
(in index order) once its transaction is committed and its keys recorded done in the
idempotency store. A gateway that restarts (or another taking the feed over) resumes a file
found in processing/: it skips the settled prefix, releases the claims the dead process left
on its unsettled ranges, reads the file's ledger, and goes on. A record that a committed
transaction holds (its marker is in the ledger) is settled without being published again; a
record whose key is already done is not published again (and counts as accepted, unless the
journal says it was a duplicate of another file). A transaction is all or nothing, so every
record is in its destinations' queues exactly once, whenever the process died. (RabbitMQ's
transactions are atomic across queues for a publisher that dies; a RabbitMQ node failing in
the middle of a commit is outside this.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import stat
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final, Protocol

import orjson
import structlog

from adapters.base import FieldProblem, MappingError
from adapters.files import FileFormatError, FileRecord, reader_for
from gateway.audit import AuditEntry, AuditWriter
from gateway.broker import Broker
from gateway.config import Settings
from gateway.errors import AuditUnavailableError, BrokerUnavailableError
from gateway.filedrop.journal import SUFFIX, Journal, JournalState, read_entries
from gateway.filedrop.ledger import FileLedger
from gateway.filedrop.paths import (
    FeedDirectories,
    free_name,
    fsync_directory,
    kind_of,
    safe_target_name,
    unsafe_name,
    write_atomically,
)
from gateway.filedrop.receipts import (
    FileFacts,
    Totals,
    error_chunks,
    first_rejected,
    receipt_chunks,
    record_message_id,
    totals,
)
from gateway.ingest import (
    Claims,
    IngestDeduplicator,
    IngestPipeline,
    IngestRequest,
    PreparedMessage,
    PublishOutcome,
    RecordReceipt,
    answer_copies,
    scope_of,
)
from gateway.metrics import Metrics
from gateway.routing import FeedSpec, RoutingTable

log = structlog.get_logger("gateway.filedrop")

IN_FLIGHT_BATCHES: Final = 4
"""Batches of one file being published at once (their confirms awaited together)."""
RECEIPT: Final = ".receipt.json"
ERROR: Final = ".error.json"
MARKER: Final = ".done"
SPOOL: Final = ".spool"
_READ_BUFFER: Final = 1024 * 1024
_YIELD_EVERY: Final = 256  # records read between two turns given to the event loop
_RETRY_FIRST_S: Final = 1.0
_RETRY_LONGEST_S: Final = 30.0


class IngestHost(Protocol):
    """What a file feed needs of the gateway: the table in force, the pipeline, the dedup."""

    @property
    def table(self) -> RoutingTable: ...

    @property
    def pipeline(self) -> IngestPipeline: ...

    @property
    def dedup(self) -> IngestDeduplicator | None: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def broker(self) -> Broker: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def audit(self) -> AuditWriter | None: ...


class _Stopped(Exception):
    """The gateway is stopping: the file stays in processing/ and is resumed later."""


class _HashingFile(io.FileIO):
    """The file's bytes, hashed (SHA-256) and counted as they are read."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd, "rb", closefd=False)
        self.digest = hashlib.sha256()
        self.size = 0

    def readinto(self, buffer: Any) -> int | None:
        count = super().readinto(buffer)
        if count:
            self.digest.update(memoryview(buffer)[:count])
            self.size += count
        return count


@dataclass
class _Job:
    """A file in processing/ and what this run knows of it."""

    path: Path
    journal: Journal
    state: JournalState
    feed: FeedSpec
    table: RoutingTable
    facts: FileFacts
    resumed: bool
    started: float = field(default_factory=time.monotonic)

    @property
    def owner(self) -> str:
        owner: str = self.state.taken["owner"]
        return owner

    @property
    def name(self) -> str:
        name: str = self.state.taken["name"]
        return name


class FileProcessor:
    """Takes, resumes and finishes the files of one feed (one at a time)."""

    def __init__(
        self,
        host: IngestHost,
        feed_name: str,
        directories: FeedDirectories,
        *,
        in_flight: int = IN_FLIGHT_BATCHES,
    ) -> None:
        self._host = host
        self._feed_name = feed_name
        self._dirs = directories
        self._in_flight = in_flight
        self.stopping = asyncio.Event()

    def feed(self) -> tuple[RoutingTable, FeedSpec] | None:
        """The table in force and this feed in it, while its files are to be taken (a file
        feed, enabled, its system allowed to push to it, and the audit log able to record
        them, as for HTTP exchanges); else None: files wait in the inbox."""
        table = self._host.table
        feed = table.open_file_feed(self._feed_name)
        if feed is None:
            return None
        audit = self._host.audit
        if audit is not None and audit.problem is not None and self._host.settings.audit_required:
            return None
        return table, feed

    async def take(self, name: str) -> None:
        """Take ``name`` from the inbox (its read lock said it is complete) and process it."""
        current = self.feed()
        if current is None:
            return
        table, feed = current
        job = await asyncio.to_thread(self._take, name, table, feed)
        if job is not None:
            log.info("file.taken", **self._fields(job))
            await self._run(job)

    def _take(self, name: str, table: RoutingTable, feed: FeedSpec) -> _Job | None:
        """The journal first (O_EXCL), then the file, then its marker, into processing/."""
        assert feed.file is not None
        processing = self._dirs.processing
        as_name = free_name(processing, name, (SUFFIX, MARKER))
        taken = {
            "name": name,
            "as": as_name,
            "owner": uuid.uuid4().hex,
            "correlation_id": str(uuid.uuid4()),
            "at": _now(),
            "marker": feed.file.read_lock.done_marker,
        }
        journal = Journal.create(processing / (as_name + SUFFIX), taken)
        try:
            os.rename(self._dirs.inbox / name, processing / as_name)
        except FileNotFoundError:  # gone meanwhile
            journal.close()
            journal.path.unlink()
            return None
        if taken["marker"]:
            with contextlib.suppress(FileNotFoundError):
                os.rename(self._dirs.inbox / (name + MARKER), processing / (as_name + MARKER))
        return self._job(processing / as_name, journal, JournalState(taken=taken), table, feed)

    async def resume(self, journal_path: Path) -> None:
        """Go on with the file whose journal is ``journal_path`` (a gateway died, or stopped,
        while it was in processing/); a journal whose file is gone is removed."""
        current = self.feed()
        if current is None:
            return
        table, feed = current
        job = await asyncio.to_thread(self._reopen, journal_path, table, feed)
        if job is None:
            return
        log.info("file.resumed", settled=job.state.settled, **self._fields(job))
        if job.state.finishing is not None:
            await self._finish(job, job.state.finishing)
            return
        await self._release_leftovers(job)
        await self._run(job)

    def _reopen(self, journal_path: Path, table: RoutingTable, feed: FeedSpec) -> _Job | None:
        path = journal_path.with_name(journal_path.name[: -len(SUFFIX)])
        try:
            state: JournalState | None = JournalState.read(journal_path)
        except ValueError:
            state = None
        if state is None or not os.path.lexists(path):
            # the take never completed (the file is still in the inbox), or the file was
            # moved on and only removing its spool and journal was left to do
            _spool_path(path).unlink(missing_ok=True)
            journal_path.unlink()
            return None
        taken = state.taken
        marker = path.with_name(path.name + MARKER)
        if taken["marker"] and not os.path.lexists(marker):
            with contextlib.suppress(FileNotFoundError):
                os.rename(self._dirs.inbox / (taken["name"] + MARKER), marker)
        if state.checked is not None and not _spool_intact(path, state.checked):
            # the spool is gone or cut short (removed by hand?): the check pass runs again
            log.error("file.spool_lost", feed=self._feed_name, processing_as=path.name)
            state.checked = None
        if state.checked is None:  # the check pass did not finish: it starts over
            write_atomically(journal_path, _without_check(journal_path))
            state = JournalState.read(journal_path)
        journal = Journal.reopen(journal_path)
        return self._job(path, journal, state, table, feed, resumed=True)

    async def refuse(self, name: str, reason: str) -> None:
        """Move the inbox entry ``name`` (not a file that may be taken) to failed/, with an
        error file saying why."""
        current = self.feed()
        if current is None:
            return
        _, feed = current
        assert feed.file is not None
        facts = FileFacts(
            _displayable(name),
            self._feed_name,
            feed.file.system,
            feed.file.format,
            feed.file.encoding,
            str(uuid.uuid4()),
            _now(),
        )
        as_name = await asyncio.to_thread(self._refuse, name, facts, reason)
        self._host.metrics.files.labels(self._feed_name, "failed").inc()
        log.warning(
            "file.failed",
            feed=self._feed_name,
            system=facts.system,
            file=facts.file,
            failed_as=as_name,
            reason=reason,
        )

    def _refuse(self, name: str, facts: FileFacts, reason: str) -> str:
        """The entry to failed/ (under a safe name if its own is not), then its error file."""
        target = name if unsafe_name(name) is None else safe_target_name(name)
        as_name = free_name(self._dirs.failed, target, (ERROR,))
        os.rename(self._dirs.inbox / name, self._dirs.failed / as_name)
        error = {"line": None, "column": None, "reason": reason}
        chunks = error_chunks(facts, as_name, _now(), error, None)
        write_atomically(self._dirs.failed / (as_name + ERROR), chunks)
        return as_name

    # Below: one run over a file in processing/.

    def _job(
        self,
        path: Path,
        journal: Journal,
        state: JournalState,
        table: RoutingTable,
        feed: FeedSpec,
        *,
        resumed: bool = False,
    ) -> _Job:
        assert feed.file is not None
        checked = state.checked or {}
        facts = FileFacts(
            _displayable(state.taken["name"]),
            self._feed_name,
            feed.file.system,
            feed.file.format,
            feed.file.encoding,
            state.taken["correlation_id"],
            state.taken["at"],
            checked.get("sha256"),
            checked.get("bytes"),
        )
        return _Job(path, journal, state, feed, table, facts, resumed)

    async def _run(self, job: _Job) -> None:
        try:
            fd = _open_regular(job.path)
        except _NotRegularError as exc:
            await self._fail(job, {"line": None, "column": None, "reason": str(exc)})
            return
        try:
            await self._check_and_publish(job, fd)
        except _Stopped:
            log.info("file.interrupted", **self._fields(job))
        except _SpoolLostError as exc:  # resumed later, from a new check pass
            log.error("file.spool_lost", error=str(exc), **self._fields(job))
            _spool_path(job.path).unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
            job.journal.close()

    async def _check_and_publish(self, job: _Job, fd: int) -> None:
        assert job.feed.file is not None
        checked = job.state.checked
        if checked is None:
            try:
                checked = await self._check(job, fd)
            except _BadFileError as exc:
                job.facts = replace(job.facts, sha256=exc.sha256, bytes=exc.size)
                await self._fail(job, exc.error.as_dict())
                return
            job.journal.append({"checked": checked})
            job.state.checked = checked
            job.facts = replace(job.facts, sha256=checked["sha256"], bytes=checked["bytes"])
        if checked["rejected"] and job.feed.file.on_bad_record == "reject_file":
            first = first_rejected(job.journal.path) or {}
            self._host.metrics.records.labels(self._feed_name, "rejected").inc(checked["records"])
            await self._fail(
                job,
                {
                    "line": first.get("line"),
                    "column": None,
                    "reason": f"{checked['rejected']} of {checked['records']} records are "
                    "invalid; nothing was published (on_bad_record: reject_file)",
                    "records": checked["records"],
                },
            )
            return
        await self._publish(job, checked)
        await self._archive(job)

    async def _check(self, job: _Job, fd: int) -> dict[str, Any]:
        """Pass 1: read every record, map and validate it; journal the bad ones, spool the
        good ones' canonical JSON (fsynced before the journal says the pass is over)."""
        assert job.feed.file is not None
        reader = reader_for(job.feed.file, self._host.pipeline.adapter_of(job.feed).native_shape())
        os.lseek(fd, 0, os.SEEK_SET)
        source = _HashingFile(fd)
        stream = io.BufferedReader(source, _READ_BUFFER)
        records = rejected = 0
        with _spool_path(job.path).open("wb", buffering=_READ_BUFFER) as spool:
            try:
                for record in reader.records(stream):
                    records += 1
                    body, problems = self._canonical(job.feed, record)
                    if body is None:
                        rejected += 1
                        job.journal.append({"rejected": _rejected(record, problems)})
                    else:
                        spool.write(b"%d\t%d\t%b\n" % (record.index, record.line, body))
                    if records % _YIELD_EVERY == 0:
                        await asyncio.sleep(0)
                        if self.stopping.is_set():
                            raise _Stopped
            except FileFormatError as exc:
                _drain(stream)
                raise _BadFileError(exc, source.digest.hexdigest(), source.size) from exc
            _drain(stream)
            spool.flush()
            os.fsync(spool.fileno())
            spooled = spool.tell()
        return {
            "sha256": source.digest.hexdigest(),
            "bytes": source.size,
            "records": records,
            "rejected": rejected,
            "spool_bytes": spooled,
        }

    def _canonical(
        self, feed: FeedSpec, record: FileRecord
    ) -> tuple[bytes | None, tuple[FieldProblem, ...]]:
        """The record's canonical JSON, or None and its problems."""
        if record.problems:
            return None, record.problems
        try:
            payload = self._host.pipeline.canonical(feed, record.native)
        except MappingError as exc:
            return None, exc.problems
        return orjson.dumps(payload), ()

    async def _publish(self, job: _Job, checked: dict[str, Any]) -> None:
        """Pass 2: publish the spooled records not yet settled, in batches, some at once."""
        ledger = self._ledger(checked["sha256"])
        try:
            ledgered = await ledger.published()
            if ledgered:
                log.info("file.ledger_read", ledgered=len(ledgered), **self._fields(job))
            await self._publish_with(job, checked, ledger, ledgered)
        finally:
            await ledger.aclose()

    def _ledger(self, sha256: str) -> FileLedger:
        return FileLedger(
            self._host.broker,
            self._feed_name,
            sha256,
            channels=self._in_flight,
            commit_timeout=self._host.settings.publish_timeout,
        )

    async def _publish_with(
        self, job: _Job, checked: dict[str, Any], ledger: FileLedger, ledgered: set[int]
    ) -> None:
        publisher = _Publisher(self, job, checked["sha256"], ledger, ledgered)
        expected = checked["records"] - checked["rejected"]
        seen = 0
        try:
            with _spool_path(job.path).open("rb", buffering=_READ_BUFFER) as spool:
                for raw in spool:
                    if self.stopping.is_set():
                        break
                    seen += 1
                    index, line, body = raw.rstrip(b"\n").split(b"\t", 2)
                    if int(index) < job.state.settled:
                        continue
                    await publisher.add(int(index), int(line), body)
                else:
                    if seen != expected:  # the spool was cut short (by hand?): checked again
                        raise _SpoolLostError(f"the spool holds {seen} of {expected} records")
                    publisher.read_all = True
                    await publisher.flush()
            await publisher.finished()  # a graceful stop lets the batches in flight end
        except BaseException:
            await publisher.abandon()
            raise
        if not publisher.complete:
            raise _Stopped

    async def _release_leftovers(self, job: _Job) -> None:
        """Release the claims a dead run left on the ranges it had not settled."""
        dedup = self._host.dedup
        if dedup is None or job.state.checked is None or not job.state.pending:
            return
        sha = job.state.checked["sha256"]
        keys = {i: f"{sha}:{i}" for s, e in job.state.pending.items() for i in range(s, e)}
        claims = Claims(owner=job.owner, publish=[], scope=scope_of(self._feed_name, job.feed))
        claims.keys = keys
        await dedup.release(self._feed_name, claims)

    async def _archive(self, job: _Job) -> None:
        name = free_name(self._dirs.archive, job.name, (RECEIPT, MARKER))
        finishing = {"to": "archive", "as": name, "at": _now()}
        job.journal.append({"finishing": finishing})
        await self._finish(job, finishing)

    async def _fail(self, job: _Job, error: dict[str, Any]) -> None:
        name = free_name(self._dirs.failed, job.name, (ERROR, MARKER))
        finishing = {"to": "failed", "as": name, "at": _now(), "error": error}
        job.journal.append({"finishing": finishing})
        await self._finish(job, finishing)

    async def _finish(self, job: _Job, finishing: dict[str, Any]) -> None:
        """Write the receipt or error file, then move the file (and its marker) beside it,
        then drop the journal; each step is safe to do again after a crash."""
        to_archive = finishing["to"] == "archive"
        directory = self._dirs.archive if to_archive else self._dirs.failed
        name: str = finishing["as"]
        scope = scope_of(self._feed_name, job.feed)
        chunks: Iterator[bytes]
        if to_archive:
            chunks = receipt_chunks(job.facts, name, finishing["at"], scope, job.journal.path)
        else:
            error = finishing["error"]
            chunks = error_chunks(job.facts, name, finishing["at"], error, job.journal.path)
        suffix = RECEIPT if to_archive else ERROR
        if to_archive and job.facts.sha256 is not None:
            # its markers are of no more use once the file is settled (journaled as finishing)
            await self._ledger(job.facts.sha256).delete()
        counts = await asyncio.to_thread(totals, job.journal.path)
        await self._audit(job, finishing, counts)
        await asyncio.to_thread(self._move_on, job, directory, name, suffix, chunks)
        outcome = "accepted" if to_archive else "failed"
        self._host.metrics.files.labels(self._feed_name, outcome).inc()
        fields = self._fields(job)
        fields["duration_ms"] = round((time.monotonic() - job.started) * 1000)
        fields.update(
            records=counts.records,
            accepted=counts.accepted,
            duplicate=counts.duplicate,
            rejected=counts.rejected,
        )
        if to_archive:
            log.info("file.accepted", archived_as=name, **fields)
        else:
            log.warning("file.failed", failed_as=name, **{**finishing["error"], **fields})

    async def _audit(self, job: _Job, finishing: dict[str, Any], counts: Totals) -> None:
        """The file's exchange in the audit log, before the file moves on: a crash in between
        records it again when the file is finished on resume (twice rather than never). If the
        audit log cannot take it, the file waits in processing/ and is finished later (unless
        GATEWAY_AUDIT_REQUIRED=false, which logs the miss and goes on)."""
        audit = self._host.audit
        if audit is None:
            return
        to_archive = finishing["to"] == "archive"
        error = None if to_archive else finishing["error"]
        if not to_archive:
            outcome = "error"
        elif counts.rejected:
            outcome = "partial"
        elif counts.records and counts.duplicate == counts.records:
            outcome = "duplicate"
        else:
            outcome = "ok"
        entry = AuditEntry(
            time=time.time() - (time.monotonic() - job.started),
            kind="file",
            client=job.facts.system,
            feed=self._feed_name,
            schema=job.feed.schema_id,
            path=f"{finishing['to']}/{finishing['as']}",
            record_count=counts.records,
            outcome=outcome,
            error_code=None if error is None else "client.bad_file",
            bytes_in=job.facts.bytes or 0,
            latency_ms=round((time.monotonic() - job.started) * 1000, 3),
            correlation_id=job.facts.correlation_id,
            request_sha256=job.facts.sha256,
            extra={
                "file": job.facts.file,
                "accepted": counts.accepted,
                "duplicate": counts.duplicate,
                "rejected": counts.rejected,
                **({} if error is None else {"reason": error.get("reason")}),
            },
        )
        try:
            await audit.append(entry)
        except AuditUnavailableError as exc:
            if self._host.settings.audit_required:
                raise
            log.error("audit.not_recorded", error=exc.message, **self._fields(job))

    def _move_on(
        self, job: _Job, directory: Path, name: str, suffix: str, chunks: Iterator[bytes]
    ) -> None:
        """Receipt or error file, marker, file, in that order; then the journal goes."""
        write_atomically(directory / (name + suffix), chunks)
        marker = job.path.with_name(job.path.name + MARKER)
        with contextlib.suppress(FileNotFoundError):
            os.rename(marker, directory / (name + MARKER))
        os.rename(job.path, directory / name)
        fsync_directory(directory)
        _spool_path(job.path).unlink(missing_ok=True)
        job.journal.close()
        job.journal.path.unlink()

    def _fields(self, job: _Job) -> dict[str, Any]:
        return {
            "feed": self._feed_name,
            "system": job.facts.system,
            "file": job.facts.file,
            "processing_as": job.path.name,
            "sha256": job.facts.sha256,
            "bytes": job.facts.bytes,
            "correlation_id": job.facts.correlation_id,
            "resumed": job.resumed,
        }


class _Publisher:
    """Pass 2's batches: formed in index order, published up to ``in_flight`` at once, each
    retried until every record of it is settled; settled in index order in the journal."""

    def __init__(
        self,
        processor: FileProcessor,
        job: _Job,
        sha256: str,
        ledger: FileLedger,
        ledgered: set[int],
    ) -> None:
        assert job.feed.file is not None
        self._processor = processor
        self._ledger = ledger
        self._ledgered = ledgered  # records a previous run's committed transactions hold
        self._host = processor._host
        self._job = job
        self._sha256 = sha256
        self._scope = scope_of(processor._feed_name, job.feed)
        self._batch_size = job.feed.file.batch
        self._request = IngestRequest(
            feed=processor._feed_name,
            client=job.feed.file.system,
            correlation_id=job.facts.correlation_id,
            records=(),
        )
        self._headers = {"file": job.facts.file, "file_sha256": sha256}
        state = job.state
        self._start = state.settled  # where the batch being formed begins
        self._next_settle = state.settled
        self._batch: list[tuple[PreparedMessage, int]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._done: dict[int, dict[str, Any]] = {}  # start → its settled entry, out of order
        self._received_at = datetime.now(UTC)
        self.read_all = False

    async def add(self, index: int, line: int, body: bytes) -> None:
        """Add a good record (its canonical JSON) to the batch being formed; publish the
        batch once it is full."""
        headers = {**self._headers, "record_index": str(index), "record_line": str(line)}
        message = self._host.pipeline.envelope(
            self._job.table,
            self._job.feed,
            self._request,
            index,
            orjson.loads(body),
            record_message_id(self._scope, self._sha256, index),
            self._received_at,
            dedup_key=f"{self._sha256}:{index}",
            headers=headers,
            body=body,
        )
        self._batch.append((message, line))
        if len(self._batch) >= self._batch_size:
            await self.flush()

    async def flush(self) -> None:
        """Publish the batch being formed (waiting for room among the batches in flight)."""
        if not self._batch:
            return
        while len(self._tasks) >= self._processor._in_flight:
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                self._tasks.discard(task)
                task.result()  # a failure of ours ends the run; the file stays in processing
        batch, self._batch = self._batch, []
        start, end = self._start, batch[-1][0].index + 1
        self._start = end
        self._received_at = datetime.now(UTC)
        self._tasks.add(asyncio.create_task(self._publish(batch, start, end)))

    async def finished(self) -> None:
        """Wait for every batch in flight; raise the first failure of ours."""
        while self._tasks:
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                self._tasks.discard(task)
                task.result()

    async def abandon(self) -> None:
        """Stopping (or failing): let the batches in flight end (their claims are released
        or settled), then stop."""
        for task in self._tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _publish(
        self, batch: list[tuple[PreparedMessage, int]], start: int, end: int
    ) -> None:
        journal, job = self._job.journal, self._job
        lines = {message.index: line for message, line in batch}
        by_index = {message.index: message for message, _ in batch}
        resumed = [(s, e) for s, e in job.state.pending.items() if s < end and e > start]
        accepted = 0
        duplicates: list[list[int]] = []
        routes: Counter[str] = Counter()
        remaining = [message for message, _ in batch]
        pause = _RETRY_FIRST_S

        async def on_claimed(claims: Claims) -> None:
            found = [r.index for r in claims.answered if r.status == "duplicate"]
            if found:
                journal.append({"duplicates": [start, found]})

        attempt = 0
        while True:
            attempt += 1
            journal.append({"pending": [start, end]})
            outcome = await self._attempt(remaining, f"{start}-{end}:{attempt}", on_claimed)
            failed: set[int] = set()
            counts: Counter[str] = Counter()
            for receipt in outcome.receipts:
                index = receipt.index
                if receipt.status == "duplicate" and _ours(index, resumed, job.state.foreign):
                    # accepted by this file before the gateway stopped: settled, not repeated
                    receipt.status, receipt.routes = "accepted", by_index[index].destinations
                if receipt.status == "accepted":
                    accepted += 1
                    routes.update(receipt.routes)
                elif receipt.status == "duplicate":
                    duplicates.append([index, lines[index]])
                else:
                    failed.add(index)
                counts[receipt.status] += 1
            for status, count in counts.items():
                self._host.metrics.records.labels(self._processor._feed_name, status).inc(count)
            if not failed:
                break
            if self._processor.stopping.is_set():
                return  # unsettled: the records not confirmed are published when resumed
            log.warning(
                "file.publish_retry",
                feed=self._processor._feed_name,
                file=job.facts.file,
                records=len(failed),
                error=outcome.failure.message if outcome.failure else None,
                retry_in_s=pause,
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._processor.stopping.wait()
            pause = min(pause * 2, _RETRY_LONGEST_S)
            remaining = [m for m in remaining if m.index in failed]
        self._settle(start, end, accepted, duplicates, routes)

    async def _attempt(
        self,
        messages: list[PreparedMessage],
        marker_id: str,
        on_claimed: Any,
    ) -> PublishOutcome:
        """Claim the records' keys, publish those claimed in one transaction with their
        ledger marker (not those a previous run's transactions hold: they are settled as
        they are), settle the keys; every record's receipt. LedgerUndecidedError (and any
        failure of ours) releases the claims and ends the run."""
        feed_name, feed, dedup = self._processor._feed_name, self._job.feed, self._host.dedup
        if dedup is None or feed.dedup is None:
            dedup = None
            claims = Claims(owner=self._job.owner, publish=list(messages))
        else:
            claims = await dedup.claim(feed_name, feed, messages, owner=self._job.owner)
        try:
            await on_claimed(claims)
            fresh = [m for m in claims.publish if m.index not in self._ledgered]
            failure: BrokerUnavailableError | None = None
            try:
                await self._ledger.publish(fresh, marker_id)
            except BrokerUnavailableError as exc:
                failure = exc
        except BaseException:
            if dedup is not None:
                await asyncio.shield(dedup.release(feed_name, claims))
            raise
        outcome = PublishOutcome(receipts=[], failure=failure)
        for message in claims.publish:
            message_id = message.envelope.message_id
            if failure is None or message.index in self._ledgered:
                outcome.accepted.append(message_id)
                receipt = RecordReceipt(message.index, message_id, "accepted", message.destinations)
            else:
                receipt = RecordReceipt(message.index, message_id, "failed", (), failure.message)
            outcome.receipts.append(receipt)
        if dedup is not None:
            # shielded: a run cancelled now (a shutdown) must still record what was accepted
            await asyncio.shield(dedup.settle(feed_name, feed, claims, outcome))
        outcome.receipts.extend(claims.answered)
        outcome.receipts.extend(answer_copies(claims, outcome.receipts))
        if outcome.failure is None:
            outcome.failure = claims.conflict
        return outcome

    @property
    def complete(self) -> bool:
        """True once the whole file was read and every batch of it is settled."""
        return self.read_all and not self._batch and self._next_settle == self._start

    def _settle(
        self, start: int, end: int, accepted: int, duplicates: list[list[int]], routes: Counter[str]
    ) -> None:
        self._done[start] = {
            "settled": [start, end],
            "accepted": accepted,
            "duplicates": duplicates,
            "routes": dict(routes),
        }
        while self._next_settle in self._done:
            entry = self._done.pop(self._next_settle)
            self._job.journal.append(entry)
            self._next_settle = entry["settled"][1]


def _ours(index: int, resumed: list[tuple[int, int]], foreign: set[int]) -> bool:
    """True when a record found already accepted was accepted by this file, before a resume:
    it lies in a range the dead run had claimed, and was no duplicate of another file then."""
    return index not in foreign and any(s <= index < e for s, e in resumed)


class _SpoolLostError(Exception):
    """The spool of a checked file is shorter than the check pass wrote it."""


class _NotRegularError(Exception):
    """What is in processing/ is not a regular file (the message says what it is)."""


class _BadFileError(Exception):
    """The check pass found the file unreadable; with what was hashed of it."""

    def __init__(self, error: FileFormatError, sha256: str, size: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.sha256 = sha256
        self.size = size


def _open_regular(path: Path) -> int:
    """A read-only descriptor of ``path``, opened without following a link or blocking on a
    FIFO; _NotRegularError for anything but a regular file."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path):
            target = os.readlink(path)
            raise _NotRegularError(
                f"a symbolic link (to {target!r}); only regular files are taken"
            ) from exc
        raise _NotRegularError(f"cannot be opened: {exc.strerror}") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _NotRegularError(f"{kind_of(mode)}, not a regular file")
    return fd


def _spool_path(path: Path) -> Path:
    """Where the check pass keeps a file's good records, canonical: ``<name>.spool``."""
    return path.with_name(path.name + SPOOL)


def _spool_intact(path: Path, checked: dict[str, Any]) -> bool:
    try:
        return _spool_path(path).stat().st_size == checked.get("spool_bytes")
    except FileNotFoundError:
        return False


def _without_check(journal: Path) -> list[bytes]:
    """The journal's lines but what the check pass wrote (it is about to run again)."""
    return [
        orjson.dumps(entry) + b"\n"
        for entry in read_entries(journal)
        if "rejected" not in entry and "checked" not in entry
    ]


def _rejected(record: FileRecord, problems: tuple[FieldProblem, ...]) -> dict[str, Any]:
    return {
        "index": record.index,
        "line": record.line,
        "problems": [p.as_dict() for p in problems],
    }


def _drain(stream: IO[bytes]) -> None:
    while stream.read(_READ_BUFFER):
        pass


def _displayable(name: str) -> str:
    """``name`` as text that JSON can carry (bytes that are not UTF-8 shown as U+FFFD)."""
    return name.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def _now() -> str:
    return datetime.now(UTC).isoformat()
