"""Deliver by writing files into a directory a receiving system reads: batches of records as
JSON Lines or XML, each batch one file, never seen half-written.

A batch is closed when it holds ``batch_size`` records, or ``batch_seconds`` after its first
record came, whichever is first. It is written to a hidden temporary name in the same
directory (``.<name>.<random>.tmp``), flushed and fsynced, renamed to its final name
(``<UTC time>-<sequence>-<writer>.jsonl`` or ``.xml``, sortable, unique across writers), and
the directory is fsynced: a reader listing the directory (and skipping hidden names, as it
must) only ever sees complete files.

Acknowledging only what is durable. The delivery worker acks a message when ``deliver()``
returns, so ``deliver()`` returns only once the file holding the record is renamed and
fsynced: every ``deliver()`` of a batch waits on the batch's write and is answered by it,
together. This needs the worker to hand over several messages at once, which it does (each
delivery runs in its own task, up to the destination's ``prefetch``; routing.yaml refuses a
``batch_size`` above ``prefetch``, which could never fill). A failed write fails every
record of the batch as transient (the worker tries again, then the retry ladder): none is
acked. A delivery cancelled (a shutdown's drain timing out) while its batch is still open is
taken out of the batch and goes back to the queue; one cancelled while its batch is being
written may be written and, redelivered, written again in a later file: the one window of a
second copy, marked by its message id.

JSON Lines: one object per record, ``{"message_id", "correlation_id", "schema", "client",
"feed", "received_at", "user_id", "issue", "record": <canonical record>}`` (absent envelope
fields left out). XML: ``<records count="N">`` of ``<record message_id=... schema=...>``
elements holding the canonical fields as elements, as a SOAP feed's records are written
(a list: the element repeated; null: ``xsi:nil="true"``).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import orjson
from lxml import etree

from adapters.outbound.base import Delivery
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.filedrop.paths import write_atomically

FileFormat = Literal["jsonl", "xml"]
_XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
_ENVELOPE: Final = ("client", "feed", "service", "received_at", "user_id", "issue")
_XML_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


@dataclass(eq=False)
class _Entry:
    """One record waiting for its batch to be written."""

    line: bytes | dict[str, Any]  # JSON Lines: the line; XML: the record with its envelope
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass(eq=False)
class _Batch:
    entries: list[_Entry] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class FileDeliverer:
    """Writes each destination's messages into ``directory``, ``batch_size`` at most per file."""

    def __init__(
        self,
        directory: str | Path,
        *,
        format: FileFormat = "jsonl",
        batch_size: int = 100,
        batch_seconds: float = 1.0,
        timeout: float = 30.0,
    ) -> None:
        self._directory = Path(directory)
        self._format = format
        self._batch_size = batch_size
        self._batch_seconds = batch_seconds
        self._timeout = timeout
        self._writer = uuid.uuid4().hex[:8]
        self._sequence = itertools.count(1)
        self._open: _Batch | None = None
        self._writes: set[asyncio.Task[None]] = set()
        self._closed = False

    async def prepare(self) -> None:
        """Nothing to prepare: the directory is created with the first file."""

    async def deliver(self, delivery: Delivery) -> None:
        """Add the message to the open batch; return once the file holding it is durable."""
        if self._closed:
            raise TransientDeliveryError(f"{self._directory}: the deliverer is closed")
        entry = _Entry(self._entry_of(delivery))
        entry.done.add_done_callback(_retrieved)  # its waiter may be gone (cancelled) by then
        batch = self._open
        if batch is None:
            batch = self._open = _Batch()
            loop = asyncio.get_running_loop()
            batch.timer = loop.call_later(self._batch_seconds, self._close, batch)
        batch.entries.append(entry)
        if len(batch.entries) >= self._batch_size:
            self._close(batch)
        try:
            await asyncio.shield(entry.done)
        except asyncio.CancelledError:
            if batch is self._open and entry in batch.entries:
                batch.entries.remove(entry)  # not written: back to the queue, with the ack
            raise

    async def aclose(self) -> None:
        """Write what is still open, wait for the writes under way; calling it twice is
        harmless."""
        self._closed = True
        if self._open is not None:
            self._close(self._open)
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def _close(self, batch: _Batch) -> None:
        """Close ``batch`` (full, or its time is up) and start writing it."""
        if batch is not self._open:
            return
        self._open = None
        if batch.timer is not None:
            batch.timer.cancel()
        if not batch.entries:
            return
        task = asyncio.create_task(self._write(batch.entries))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, entries: list[_Entry]) -> None:
        now = datetime.now(UTC)
        name = f"{now:%Y%m%dT%H%M%S%fZ}-{next(self._sequence):06d}-{self._writer}.{self._format}"
        try:
            async with asyncio.timeout(self._timeout):
                await asyncio.to_thread(self._write_file, name, [e.line for e in entries])
        except (OSError, TimeoutError) as exc:
            reason = str(exc) or f"not written within {self._timeout:g}s"
            error = TransientDeliveryError(f"{self._directory / name}: {reason}")
            for entry in entries:
                if not entry.done.done():
                    entry.done.set_exception(error)
            return
        for entry in entries:
            if not entry.done.done():
                entry.done.set_result(None)

    def _write_file(self, name: str, lines: Sequence[bytes | dict[str, Any]]) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        if self._format == "jsonl":
            chunks = [line for line in lines if isinstance(line, bytes)]
        else:
            chunks = [xml_batch([line for line in lines if isinstance(line, dict)])]
        write_atomically(self._directory / name, chunks)

    def _entry_of(self, delivery: Delivery) -> bytes | dict[str, Any]:
        try:
            record = orjson.loads(delivery.body)
        except orjson.JSONDecodeError as exc:
            raise PermanentDeliveryError(f"the message is not JSON: {exc}") from exc
        if not isinstance(record, dict):
            raise PermanentDeliveryError("the message is not a JSON object")
        envelope: dict[str, Any] = {"message_id": delivery.message_id}
        if delivery.correlation_id:
            envelope["correlation_id"] = delivery.correlation_id
        if delivery.schema_id:
            envelope["schema"] = delivery.schema_id
        for name in _ENVELOPE:
            if name in delivery.envelope:
                envelope[name] = delivery.envelope[name]
        if self._format == "jsonl":
            return orjson.dumps({**envelope, "record": record}) + b"\n"
        bad = _bad_xml_name(record)
        if bad is not None:
            raise PermanentDeliveryError(f"field {bad!r} cannot be an XML element name")
        return {"envelope": envelope, "record": record}


def _retrieved(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()


def xml_batch(entries: Sequence[dict[str, Any]]) -> bytes:
    """``<records count="N">`` holding one ``<record>`` per entry (``envelope`` as its
    attributes, ``record`` as its elements)."""
    root = etree.Element("records", nsmap={"xsi": _XSI})
    root.set("count", str(len(entries)))
    for entry in entries:
        element = etree.SubElement(root, "record")
        for name, value in entry["envelope"].items():
            element.set(name, str(value))
        _fill(element, entry["record"])
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def _fill(element: Any, record: dict[str, Any]) -> None:
    for name, value in record.items():
        for item in value if isinstance(value, list) else [value]:
            child = etree.SubElement(element, name)
            if item is None:
                child.set(f"{{{_XSI}}}nil", "true")
            elif isinstance(item, dict):
                _fill(child, item)
            elif isinstance(item, bool):
                child.text = "true" if item else "false"
            else:
                child.text = str(item)


def _bad_xml_name(record: dict[str, Any]) -> str | None:
    for name, value in record.items():
        if not _XML_NAME.fullmatch(name) or name.lower().startswith("xml"):
            return name
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                bad = _bad_xml_name(item)
                if bad is not None:
                    return bad
    return None
