"""CSV files: header names are the native fields, records streamed with their line numbers."""

import io
import itertools

import pytest

from adapters import ADAPTERS
from adapters.base import FieldProblem
from adapters.files import CsvReader, FileFormatError, leaf_paths
from tests.support.records import FIXTURES

INSPECTIONS = FIXTURES / "files" / "inspections.csv"
COLUMNS = tuple(leaf_paths(ADAPTERS["registry.inspection_csv"].native_shape()))


def read(data, **options):
    """Every record of ``data`` (bytes) as CsvReader reads it."""
    return list(CsvReader(**options).records(io.BytesIO(data)))


def failure(data, **options):
    """The FileFormatError reading ``data`` raises."""
    with pytest.raises(FileFormatError) as caught:
        read(data, **options)
    return caught.value


def test_the_registers_cp1251_sample_is_read_by_its_russian_headers():
    """The Register's sample file (Windows-1251, ``;``) gives its rows under the header's names."""
    records = read(INSPECTIONS.read_bytes(), encoding="cp1251", delimiter=";", columns=COLUMNS)
    first = records[0].native
    assert (6, "2026/TSH/000123", "Каримов") == (
        len(records),
        first["Номер проверки"],
        first["Фамилия инспектора"],
    )


def test_cp1251_bytes_outside_ascii_are_decoded():
    """№ and the Uzbek Ў, single bytes in Windows-1251, come out as those letters."""
    records = read(INSPECTIONS.read_bytes(), encoding="cp1251", delimiter=";")
    assert ("Приказ № 112 от 05.02.2026", "Ўктамович") == (
        records[5].native["Основание"],
        records[5].native["Отчество инспектора"],
    )


def test_utf8_with_a_byte_order_mark_is_read_without_it():
    """A UTF-8 byte order mark is not part of the first column's name."""
    [record] = read("\ufeffномер,имя\r\n1,Анвар\r\n".encode())
    assert {"номер": "1", "имя": "Анвар"} == record.native


def test_a_utf8_byte_order_mark_in_a_cp1251_feed_is_refused():
    """A file that starts with a UTF-8 BOM is not Windows-1251, whatever the feed says."""
    error = failure("\ufeffa;b\r\n1;2\r\n".encode(), encoding="cp1251", delimiter=";")
    assert (1, 1) == (error.line, error.column)


def test_each_record_has_the_line_it_starts_on():
    """Line numbers count physical lines: a quoted field over two lines moves the next one."""
    data = b'a,b\r\n1,"two\r\nlines"\r\n3,4\r\n'
    assert [(0, 2), (1, 4)] == [(r.index, r.line) for r in read(data)]


def test_a_quoted_field_keeps_its_delimiter_and_quotes():
    """RFC 4180 quoting: the delimiter and doubled quotes inside quotes are the value's."""
    [record] = read(b'a;b\r\n"x; ""y""";z\r\n', delimiter=";")
    assert {"a": 'x; "y"', "b": "z"} == record.native


def test_an_empty_cell_is_an_absent_field():
    """Empty cells are left out, so the canonical schema says what is missing."""
    [record] = read(b"a,b,c\r\n1,,3\r\n")
    assert {"a": "1", "c": "3"} == record.native


def test_dotted_headers_nest():
    """``inspector.pinfl`` is the field ``pinfl`` of ``inspector``, as in the feed's JSON."""
    [record] = read(b"n,inspector.pinfl,inspector.last_name\r\n1,31205850123456,Karimov\r\n")
    assert {"n": "1", "inspector": {"pinfl": "31205850123456", "last_name": "Karimov"}} == (
        record.native
    )


def test_blank_lines_are_no_records():
    """Blank lines between and after records are skipped; indices stay dense."""
    records = read(b"a\r\n1\r\n\r\n2\r\n\r\n")
    assert [(0, 2, {"a": "1"}), (1, 4, {"a": "2"})] == [
        (r.index, r.line, r.native) for r in records
    ]


def test_a_row_of_another_width_is_a_bad_record_and_reading_goes_on():
    """A row with more cells than the header carries a problem; the next row is read."""
    records = read(b"a,b\r\n1,2,3\r\n4,5\r\n")
    assert [
        (2, (FieldProblem("", "expected 2 fields as in the header, found 3"),)),
        (3, ()),
    ] == [(r.line, r.problems) for r in records]


def test_a_quote_never_closed_stops_the_file_where_it_opened():
    """An unclosed quote is reported at its line and column."""
    error = failure(b'a,b\r\n1,2\r\n3,"4\r\n5,6\r\n')
    assert (3, 3, "a quoted field opened here is never closed") == (
        error.line,
        error.column,
        error.reason,
    )


def test_text_after_a_closing_quote_stops_the_file_there():
    """``"x"y`` is no CSV field: the character after the closing quote is pointed at."""
    error = failure(b'a;b\r\n"x"y;2\r\n', delimiter=";")
    assert (2, 4) == (error.line, error.column)


def test_bytes_not_in_the_encoding_stop_the_file_with_line_and_column():
    """A Windows-1251 byte in a UTF-8 feed: the line and the character where it is."""
    error = failure("a,b\r\n1,2\r\nОК,Ж\r\n".encode("cp1251"))
    assert (3, 1, "byte 0xce is not valid utf-8 (invalid continuation byte)") == (
        error.line,
        error.column,
        error.reason,
    )


def test_an_empty_file_has_no_header():
    """Nothing at all is refused: a CSV file starts with its header."""
    assert "the file is empty: expected a header line" == failure(b"").reason


def test_a_column_the_adapter_does_not_know_is_refused_at_its_header_cell():
    """A header naming no field of the adapter is refused, pointing at the cell."""
    error = failure(b"a,typo,b\r\n1,2,3\r\n", columns=("a", "b"))
    assert (1, 3, "unknown column 'typo'; the feed's columns are: a, b") == (
        error.line,
        error.column,
        error.reason,
    )


def test_a_column_named_twice_is_refused():
    """Two columns of one name would lose one value: refused."""
    assert "column 'a' is named twice" == failure(b"a,b,a\r\n1,2,3\r\n").reason


def test_a_column_without_a_name_is_refused():
    """An empty header cell names nothing."""
    assert "column 2 has no name" == failure(b"a,,b\r\n1,2,3\r\n").reason


class _EndlessCsv(io.RawIOBase):
    """A CSV stream that never ends: reading it whole would never return."""

    def __init__(self):
        self._rows = (f"{n},x\r\n".encode() for n in itertools.count())
        self._pending = b"a,b\r\n"

    def readable(self):
        return True

    def readinto(self, buffer):
        while len(self._pending) < len(buffer):
            self._pending += next(self._rows)
        size = len(buffer)
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size


def test_records_are_streamed_not_read_whole():
    """The first records of an endless file come out: nothing waits for the end."""
    stream = io.BufferedReader(_EndlessCsv())
    first = list(itertools.islice(CsvReader().records(stream), 3))
    assert [{"a": "0", "b": "x"}, {"a": "1", "b": "x"}, {"a": "2", "b": "x"}] == [
        r.native for r in first
    ]
