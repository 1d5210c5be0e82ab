"""CSV files: a header line of column names, then one record per row.

The header's names are the native field names the feed's adapter maps (a dotted name,
``inspector.pinfl``, nests like a JSON object's field). A record is the dict of its non-empty
cells: an empty cell is an absent field, so the canonical schema says whether it was required.
Quoting is RFC 4180's (``"a ""quoted"" value"``, line breaks inside quotes); the delimiter is
the feed's. Line numbers count physical lines from 1 (the header's), so a record whose quoted
field spans lines starts where its first line is.

Refused as a whole file (FileFormatError, with line and column): no header; a header cell
empty, repeated, or not a field the adapter knows; a quote never closed or followed by
something other than the delimiter; a field over the csv module's limit (128 KiB); bytes not
in the encoding. A row with another number of cells than the header is a bad record; a blank
line is no record.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator
from typing import IO, Any

from adapters.base import FieldProblem
from adapters.files.base import FileFormatError, FileRecord, decoded_lines

_QUOTE = '"'


class CsvReader:
    """Reads CSV records in ``encoding`` split by ``delimiter``; with ``columns``, a header
    naming anything else is refused."""

    def __init__(
        self,
        *,
        encoding: str = "utf-8",
        delimiter: str = ",",
        columns: Collection[str] | None = None,
    ) -> None:
        self._encoding = encoding
        self._delimiter = delimiter
        self._columns = None if columns is None else frozenset(columns)

    def records(self, stream: IO[bytes]) -> Iterator[FileRecord]:
        """Every record of ``stream``, header excluded, in order."""
        recent: list[tuple[int, str]] = []  # the lines of the row being read, for errors

        def lines() -> Iterator[str]:
            for number, text in decoded_lines(stream, self._encoding):
                recent.append((number, text))
                yield text

        reader = csv.reader(lines(), delimiter=self._delimiter, quotechar=_QUOTE, strict=True)
        header = self._header(self._next_row(reader, recent), recent)
        paths = [tuple(name.split(".")) for name in header]
        flat = all(len(path) == 1 for path in paths)
        width = len(header)
        index = 0
        while True:
            recent.clear()
            row = self._next_row(reader, recent)
            if row is None:
                return
            if not row:
                continue  # a blank line
            line = recent[0][0]
            if len(row) != width:
                problem = FieldProblem(
                    "", f"expected {width} fields as in the header, found {len(row)}"
                )
                yield FileRecord(index, line, {}, (problem,))
            elif flat:
                yield FileRecord(index, line, {k: v for k, v in zip(header, row, strict=True) if v})
            else:
                yield FileRecord(index, line, _nested(paths, row))
            index += 1

    def _next_row(self, reader: Any, recent: list[tuple[int, str]]) -> list[str] | None:
        try:
            row: list[str] = next(reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise self._syntax_error(exc, recent) from None
        return row

    def _header(self, row: list[str] | None, recent: list[tuple[int, str]]) -> list[str]:
        if row is None:
            raise FileFormatError(1, None, "the file is empty: expected a header line")
        line, text = recent[0] if recent else (1, "")
        starts = field_starts(text, self._delimiter)
        header = [name.strip() for name in row]
        seen: set[str] = set()
        for position, name in enumerate(header):
            column = starts[position] if position < len(starts) else None
            if not name:
                raise FileFormatError(line, column, f"column {position + 1} has no name")
            if name in seen:
                raise FileFormatError(line, column, f"column {name!r} is named twice")
            if self._columns is not None and name not in self._columns:
                known = ", ".join(sorted(self._columns))
                raise FileFormatError(
                    line, column, f"unknown column {name!r}; the feed's columns are: {known}"
                )
            seen.add(name)
        return header

    def _syntax_error(self, exc: csv.Error, recent: list[tuple[int, str]]) -> FileFormatError:
        """Where the row being read went wrong, found by scanning its lines again."""
        line = recent[-1][0] if recent else 1
        if "field larger than field limit" in str(exc):
            limit = csv.field_size_limit()
            return FileFormatError(line, None, f"a field longer than {limit} characters")
        found = locate_quote_error(recent, self._delimiter)
        if found is not None:
            return FileFormatError(*found)
        return FileFormatError(line, None, str(exc))


def _nested(paths: list[tuple[str, ...]], row: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for path, value in zip(paths, row, strict=True):
        if not value:
            continue
        node = record
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return record


def field_starts(text: str, delimiter: str) -> list[int]:
    """The 1-based character column where each field of a one-line row starts."""
    starts, quoted = [1], False
    for offset, char in enumerate(text):
        if char == _QUOTE:
            quoted = not quoted
        elif char == delimiter and not quoted:
            starts.append(offset + 2)
    return starts


def locate_quote_error(lines: list[tuple[int, str]], delimiter: str) -> tuple[int, int, str] | None:
    """``(line, column, reason)`` of the first quoting fault in the lines of one row: a
    closing quote followed by something other than the delimiter or the end of the line, or a
    quote opened and never closed; None when the quoting is sound."""
    state = "start"  # start of a field | plain | quoted | quote (a quote inside quotes)
    opened = (0, 0)
    for number, text in lines:
        for offset, char in enumerate(text):
            if state == "start":
                if char == _QUOTE:
                    state, opened = "quoted", (number, offset + 1)
                elif char not in (delimiter, "\r", "\n"):
                    state = "plain"
            elif state == "plain":
                if char == delimiter or char in "\r\n":
                    state = "start"
            elif state == "quoted":
                if char == _QUOTE:
                    state = "quote"
            elif char == _QUOTE:  # a doubled quote: one quote in the value
                state = "quoted"
            elif char == delimiter or char in "\r\n":
                state = "start"
            else:
                return (
                    number,
                    offset + 1,
                    f"{char!r} after a closing quote; expected the delimiter "
                    f"{delimiter!r} or the end of the line",
                )
    if state == "quoted":
        return (*opened, "a quoted field opened here is never closed")
    return None
