"""File drop: feeds whose systems drop CSV, XML or JSON Lines files into a directory.

``watcher`` (one worker per file feed: the feed's lock, its inbox watched, read locks, path
safety), ``processor`` (one file: check, publish through the ingest pipeline, receipt or
error file, moves, crash recovery), ``journal`` (what a restart resumes from), ``ledger``
(each batch in one AMQP transaction with a marker RabbitMQ keeps), ``receipts``,
``paths`` (directories, safe names, atomic writes), ``readlock``. The formats themselves are
read by adapters/files/.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from gateway.filedrop.paths import FeedDirectories
from gateway.filedrop.processor import IN_FLIGHT_BATCHES, FileProcessor, IngestHost
from gateway.filedrop.receipts import record_message_id
from gateway.filedrop.watcher import FileDropWatcher

if TYPE_CHECKING:
    from gateway.routing import FeedSpec

__all__ = [
    "IN_FLIGHT_BATCHES",
    "FeedDirectories",
    "FileDropWatcher",
    "FileProcessor",
    "IngestHost",
    "file_drop_watchers",
    "record_message_id",
]


def file_drop_watchers(
    host: IngestHost, feeds: Mapping[str, FeedSpec], drop_root: str
) -> list[FileDropWatcher]:
    """A watcher for every ``channel: file`` feed of ``feeds``."""
    return [
        FileDropWatcher(name, host, drop_root)
        for name, feed in feeds.items()
        if feed.channel == "file"
    ]
