"""JSON Lines files: one native record, a JSON object as the feed's REST channel takes it, per
line. Blank lines are no records. A line that is not JSON is a bad record (its column and
the parser's reason given); bytes not in the encoding make the whole file unreadable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import orjson

from adapters.base import FieldProblem
from adapters.files.base import FileRecord, decoded_lines


class JsonLinesReader:
    """Reads JSON Lines in ``encoding`` (UTF-8 by default, a byte order mark allowed)."""

    def __init__(self, *, encoding: str = "utf-8") -> None:
        self._encoding = encoding

    def records(self, stream: IO[bytes]) -> Iterator[FileRecord]:
        """Every record of ``stream``, in order."""
        index = 0
        for line, text in decoded_lines(stream, self._encoding):
            if not text.strip():
                continue
            try:
                native = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                problem = FieldProblem("", f"malformed JSON at column {exc.colno}: {exc.msg}")
                yield FileRecord(index, line, {}, (problem,))
            else:
                yield FileRecord(index, line, native)
            index += 1
