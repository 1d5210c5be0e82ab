"""JSON Lines files: one native record per line, a bad line a bad record, streamed."""

import io
import itertools

import pytest

from adapters.base import FieldProblem
from adapters.files import MAX_LINE_BYTES, FileFormatError, JsonLinesReader


def read(data, **options):
    """Every record of ``data`` (bytes) as JsonLinesReader reads it."""
    return list(JsonLinesReader(**options).records(io.BytesIO(data)))


def test_each_line_is_a_record_with_its_line_number():
    """Objects come out as parsed, each with its index and line; blank lines are skipped."""
    records = read(b'{"a": 1}\n\n{"a": {"b": [2, 3]}}\n')
    assert [(0, 1, {"a": 1}), (1, 3, {"a": {"b": [2, 3]}})] == [
        (r.index, r.line, r.native) for r in records
    ]


def test_a_utf8_byte_order_mark_is_dropped():
    """A UTF-8 BOM before the first line does not spoil its JSON."""
    [record] = read('\ufeff{"имя": "Анвар"}\n'.encode())
    assert {"имя": "Анвар"} == record.native


def test_lines_in_cp1251_are_decoded():
    """A feed in Windows-1251 reads its lines in that encoding."""
    [record] = read('{"имя": "Анвар"}\r\n'.encode("cp1251"), encoding="cp1251")
    assert {"имя": "Анвар"} == record.native


def test_a_line_that_is_not_json_is_a_bad_record_and_reading_goes_on():
    """The parser's column and reason go with the record; the next line is read."""
    records = read(b'{"a": 1}\n{"a": }\n{"a": 3}\n')
    assert [
        (1, ()),
        (
            2,
            (
                FieldProblem(
                    "", "malformed JSON at column 7: unexpected character, expected a JSON value"
                ),
            ),
        ),
        (3, ()),
    ] == [(r.line, r.problems) for r in records]


def test_bytes_not_in_the_encoding_stop_the_file_with_line_and_column():
    """Windows-1251 bytes in a UTF-8 feed: the whole file is unreadable from there."""
    with pytest.raises(FileFormatError) as caught:
        read('{"a": 1}\n{"a": "ЖЖ"}\n'.encode("cp1251"))
    assert (2, 8) == (caught.value.line, caught.value.column)


def test_a_line_over_the_limit_stops_the_file():
    """A line longer than MAX_LINE_BYTES is no record: the file is refused there."""
    data = b'{"a": 1}\n{"a": "' + b"x" * MAX_LINE_BYTES + b'"}\n'
    with pytest.raises(FileFormatError) as caught:
        read(data)
    assert (2, f"a line longer than {MAX_LINE_BYTES} bytes") == (
        caught.value.line,
        caught.value.reason,
    )


class _EndlessLines(io.RawIOBase):
    """A JSON Lines stream that never ends."""

    def __init__(self):
        self._lines = (f'{{"n": {n}}}\n'.encode() for n in itertools.count())
        self._pending = b""

    def readable(self):
        return True

    def readinto(self, buffer):
        while len(self._pending) < len(buffer):
            self._pending += next(self._lines)
        size = len(buffer)
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size


def test_records_are_streamed_not_read_whole():
    """The first records of an endless file come out: nothing waits for the end."""
    stream = io.BufferedReader(_EndlessLines())
    first = itertools.islice(JsonLinesReader().records(stream), 2)
    assert [{"n": 0}, {"n": 1}] == [r.native for r in first]
