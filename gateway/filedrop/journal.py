"""The journal of a file being processed: ``processing/<name>.journal``, JSON Lines, appended.

It is what a restarted gateway needs to resume the file where it stopped, and what the
receipt is written from. In the order they are appended:

    {"taken": {...}}                  once, before the file leaves the inbox: its name there,
                                      the run's owner id, correlation id, when, done marker
    {"rejected": {index, line, problems}}   each bad record, as the check pass finds it
    {"checked": {sha256, bytes, records, rejected}}   the check pass is over
    {"pending": [start, end]}         before the records [start, end) are claimed and published
    {"duplicates": [start, [i, ...]]} those found already accepted (from an identical file)
    {"settled": [start, end], "accepted": n, "duplicates": [[i, line], ...], "routes": {...}}
                                      every record of [start, end) confirmed or a duplicate;
                                      appended in index order, so they make one prefix
    {"finishing": {"to": "archive" | "failed", "as": name, "at": ..., "error": {...}}}

A line is written with one ``write(2)`` and not fsynced: it survives the death of the process
(the page cache is the kernel's), like the idempotency store's SQLite commits. A torn last
line (the process died inside the write) is ignored and cut off when the journal is reopened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

SUFFIX = ".journal"


class Journal:
    """Append-only JSON Lines; one per file in processing/."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def create(cls, path: Path, taken: dict[str, Any]) -> Journal:
        """A new journal whose first line is ``{"taken": taken}``; FileExistsError if there
        is one already."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
        journal = cls(path, fd)
        journal.append({"taken": taken})
        return journal

    @classmethod
    def reopen(cls, path: Path) -> Journal:
        """The journal at ``path``, opened to append after its last whole line."""
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        size = os.fstat(fd).st_size
        data = os.pread(fd, min(size, 1 << 20), max(0, size - (1 << 20))) if size else b""
        if data and not data.endswith(b"\n"):
            whole = data.rfind(b"\n") + 1
            os.ftruncate(fd, size - len(data) + whole)
        return cls(path, fd)

    def append(self, entry: dict[str, Any]) -> None:
        """Append one entry as one line, with one write."""
        line = orjson.dumps(entry) + b"\n"
        written = os.write(self._fd, line)
        if written != len(line):  # a full disk, say: the line is torn; say so loudly
            raise OSError(f"journal {self.path}: wrote {written} of {len(line)} bytes")

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every whole entry, from the first."""
        return read_entries(self.path)

    def close(self) -> None:
        """Close it (calling it again does nothing)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read_entries(path: Path) -> Iterator[dict[str, Any]]:
    """Every whole entry of the journal at ``path`` (a torn last line is left out)."""
    with path.open("rb") as lines:
        for line in lines:
            if not line.endswith(b"\n"):
                return
            yield orjson.loads(line)


@dataclass
class JournalState:
    """What a journal says of its file, read once when it is resumed."""

    taken: dict[str, Any]
    checked: dict[str, Any] | None = None
    settled: int = 0  # records [0, settled) are settled
    #: start → end of the ranges claimed beyond ``settled`` (their claims may be left over)
    pending: dict[int, int] = field(default_factory=dict)
    #: indices found to be duplicates of another file's records, beyond ``settled``
    foreign: set[int] = field(default_factory=set)
    finishing: dict[str, Any] | None = None
    rejected: int = 0

    @classmethod
    def read(cls, path: Path) -> JournalState:
        """The state of the journal at ``path``; ValueError when it has no ``taken`` line."""
        entries = read_entries(path)
        first = next(entries, None)
        if first is None or "taken" not in first:
            raise ValueError(f"{path} is not a file-drop journal")
        state = cls(taken=first["taken"])
        for entry in entries:
            if "pending" in entry:
                start, end = entry["pending"]
                if end > state.settled:
                    state.pending[start] = max(end, state.pending.get(start, end))
            elif "duplicates" in entry and "settled" not in entry:
                state.foreign.update(i for i in entry["duplicates"][1] if i >= state.settled)
            elif "settled" in entry:
                state.settled = max(state.settled, entry["settled"][1])
                state.pending = {s: e for s, e in state.pending.items() if e > state.settled}
                state.foreign = {i for i in state.foreign if i >= state.settled}
            elif "rejected" in entry:
                state.rejected += 1
            elif "checked" in entry:
                state.checked = entry["checked"]
            elif "finishing" in entry:
                state.finishing = entry["finishing"]
        return state
