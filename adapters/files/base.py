"""What every file reader gives: native records with their line numbers, streamed; or one
error that says where the file stopped being readable.

A reader takes a binary stream and yields :class:`FileRecord` one by one, holding at most one
record (and one line) in memory, whatever the file's size. Two kinds of trouble:

    a record that cannot be read as one (a CSV row with the wrong         FileRecord.problems
      number of fields, a JSON line that is not JSON, an unexpected        (the file reads on)
      XML element): the record carries its problems, like a mapping
      error's, and the reader goes on with the next one
    a file that cannot be read at all from some point on (bytes that      FileFormatError
      are not in the encoding, a quote never closed, XML that is not      (line, column, reason)
      well-formed, a DOCTYPE): the reader stops
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Final, Protocol

from adapters.base import FieldProblem

MAX_LINE_BYTES: Final = 4 * 1024 * 1024
"""The longest line a line-oriented file (CSV, JSON Lines) may have: a record, not a dump."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One record of a file: its position, the line it starts on, its native form (what the
    feed's adapter maps), and why it could not be read, if it could not."""

    index: int  # 0-based, among the file's records
    line: int  # 1-based
    native: Any
    problems: tuple[FieldProblem, ...] = ()


class FileFormatError(ValueError):
    """The file cannot be read from ``line`` (and ``column``, when known) on."""

    def __init__(self, line: int, column: int | None, reason: str) -> None:
        self.line = line
        self.column = column
        self.reason = reason
        where = f"line {line}" if column is None else f"line {line}, column {column}"
        super().__init__(f"{where}: {reason}")

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of an error file: ``{line, column, reason}``."""
        return {"line": self.line, "column": self.column, "reason": self.reason}


class RecordReader(Protocol):
    """Reads the records of one file format from a binary stream, one at a time."""

    def records(self, stream: IO[bytes]) -> Iterator[FileRecord]:
        """Every record of ``stream`` in order; raise FileFormatError where it stops being
        readable."""
        ...


def decoded_lines(stream: IO[bytes], encoding: str) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of every line of ``stream``, its line break kept; a UTF-8 byte
    order mark is dropped. FileFormatError for bytes that are not ``encoding`` (with the
    line and the character column), for a line over MAX_LINE_BYTES, and for a UTF-8 byte
    order mark in a file said to be in another encoding."""
    utf8 = encoding.replace("_", "-").lower() in ("utf-8", "utf8")
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise FileFormatError(number, None, f"a line longer than {MAX_LINE_BYTES} bytes")
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            if not utf8:
                raise FileFormatError(
                    1,
                    1,
                    f"the file starts with a UTF-8 byte order mark, but the feed reads {encoding}",
                )
            raw = raw[3:]
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            column = len(raw[: exc.start].decode(encoding, errors="replace")) + 1
            raise FileFormatError(
                number,
                column,
                f"byte 0x{raw[exc.start]:02x} is not valid {encoding} ({exc.reason})",
            ) from None
        yield number, text
