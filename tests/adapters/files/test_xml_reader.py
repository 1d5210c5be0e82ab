"""XML files: record elements read by the adapter's native shape, streamed, hardened."""

import io
import itertools

import pytest

from adapters import ADAPTERS
from adapters.base import FieldProblem, NativeField
from adapters.files import FileFormatError, XmlReader
from adapters.files.xml_reader import CHUNK_BYTES
from gateway.soap import MAX_DEPTH
from tests.gateway.soap import xml_attacks

SHAPE = ADAPTERS["canonical.inspection"].native_shape()
TAGS = (
    NativeField("number"),
    NativeField("count", type="integer"),
    NativeField("tag", repeated=True),
    NativeField("person", fields=(NativeField("name"),)),
)
DOCUMENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<records>
  <record>
    <number>A-1</number>
    <count>3</count>
    <tag>x</tag><tag>y</tag>
    <person><name>Karimov</name></person>
  </record>
  <record>
    <number>A-2</number>
  </record>
</records>
"""


def read(data, shape=TAGS, **options):
    """Every record of ``data`` (bytes) as XmlReader reads it."""
    return list(XmlReader(shape, **options).records(io.BytesIO(data)))


def failure(data, **options):
    """The FileFormatError reading ``data`` raises."""
    with pytest.raises(FileFormatError) as caught:
        read(data, **options)
    return caught.value


def test_record_elements_become_native_records_by_the_shape():
    """Typed by the shape: an integer, a repeated field a list, a nested one a dict."""
    first, second = read(DOCUMENT)
    assert [
        {"number": "A-1", "count": 3, "tag": ["x", "y"], "person": {"name": "Karimov"}},
        {"number": "A-2"},
    ] == [first.native, second.native]


def test_each_record_has_the_line_its_element_starts_on():
    """Line numbers are the record elements' own."""
    assert [(0, 3), (1, 9)] == [(r.index, r.line) for r in read(DOCUMENT)]


def test_records_in_a_namespace_are_read():
    """A document in a namespace of its own is read like one in none."""
    data = b'<rs xmlns="urn:x"><record><number>A-1</number></record></rs>'
    assert [{"number": "A-1"}] == [r.native for r in read(data)]


def test_the_record_element_is_the_feeds():
    """With ``record: inspection`` the records are the <inspection> elements."""
    data = b"<rs><inspection><number>A-1</number></inspection></rs>"
    assert [{"number": "A-1"}] == [r.native for r in read(data, record="inspection")]


def test_another_element_among_the_records_is_a_bad_record():
    """A child of the root that is not a record carries a problem; the next is read."""
    data = b"<rs><note>x</note><record><number>A-1</number></record></rs>"
    records = read(data)
    assert [
        (FieldProblem("", "unexpected element <note>; expected <record>"),),
        (),
    ] == [r.problems for r in records]


def test_a_field_given_twice_is_a_bad_record():
    """A field that takes one value, given twice, cannot be told as JSON."""
    [record] = read(b"<rs><record><number>1</number><number>2</number></record></rs>")
    assert (FieldProblem("number", "given more than once; takes one value"),) == record.problems


def test_the_encoding_the_document_declares_is_used():
    """A Windows-1251 document that says so is read in Windows-1251."""
    data = (
        '<?xml version="1.0" encoding="windows-1251"?>'
        "<rs><record><number>Ж-1</number></record></rs>"
    )
    [record] = read(data.encode("cp1251"))
    assert {"number": "Ж-1"} == record.native


def test_the_feeds_encoding_overrides_the_documents():
    """A cp1251 document without a declaration is read as the feed says."""
    data = "<rs><record><number>Ж-1</number></record></rs>".encode("cp1251")
    [record] = read(data, encoding="cp1251")
    assert {"number": "Ж-1"} == record.native


def test_a_malformed_document_stops_with_libxml2s_line_and_column():
    """Tags that do not match: the file is unreadable from there, said where."""
    error = failure(b"<rs>\n<record><number>1</numbr></record>\n</rs>")
    assert (2, 26) == (error.line, error.column)
    assert error.reason.startswith("not well-formed XML: Opening and ending tag mismatch")


def test_a_document_cut_short_is_malformed():
    """A file that ends inside its root element is refused at its end."""
    error = failure(b"<rs><record><number>1</number></record>")
    assert error.reason.startswith("not well-formed XML: Premature end of data")


def test_an_empty_file_is_refused():
    """No document at all."""
    assert "the file is empty: expected an XML document" == failure(b"").reason


def test_entity_expansion_is_refused_without_expanding():
    """Billion laughs: refused as a DOCTYPE before anything is expanded."""
    error = failure(xml_attacks.billion_laughs())
    assert "document type declaration" in error.reason


def test_an_external_entity_is_refused_and_the_file_never_read(tmp_path):
    """XXE to a local file: refused; its content appears nowhere."""
    secret = tmp_path / "secret.txt"
    secret.write_text(xml_attacks.SECRET)
    error = failure(xml_attacks.xxe(secret.as_uri()))
    assert ("document type declaration" in error.reason, False) == (
        True,
        xml_attacks.SECRET in str(error),
    )


def test_an_external_dtd_is_refused(tmp_path):
    """A document naming an external DTD is refused; the DTD is not loaded."""
    error = failure(xml_attacks.external_dtd((tmp_path / "x.dtd").as_uri()))
    assert "document type declaration" in error.reason


def test_a_utf16_doctype_is_refused():
    """A DOCTYPE hidden from a byte search by UTF-16 is found all the same."""
    error = failure(xml_attacks.in_utf16(xml_attacks.billion_laughs(3)))
    assert "document type declaration" in error.reason


def test_a_doctype_after_the_first_chunk_is_refused_when_the_root_starts():
    """A DOCTYPE pushed past the bytes looked at first is caught from the parsed document."""
    padding = b"<!--" + b"x" * (2 * CHUNK_BYTES) + b"-->"
    data = b'<?xml version="1.0"?>' + padding + b'<!DOCTYPE rs [<!ENTITY e "x">]><rs>&e;</rs>'
    assert "document type declaration" in failure(data).reason


def test_nesting_deeper_than_the_limit_is_refused():
    """Elements nested deeper than MAX_DEPTH end the file."""
    assert (
        f"elements nested deeper than {MAX_DEPTH} levels"
        == failure(xml_attacks.nested(MAX_DEPTH + 1)).reason
    )


def test_a_canonical_inspection_reads_with_its_schemas_shape():
    """The canonical adapter's shape reads nested inspector fields and integers."""
    data = (
        b"<inspections><record><inspection_number>A-1</inspection_number>"
        b"<violations_found>2</violations_found>"
        b"<inspector><last_name>Karimov</last_name></inspector></record></inspections>"
    )
    [record] = read(data, shape=SHAPE)
    assert {
        "inspection_number": "A-1",
        "violations_found": 2,
        "inspector": {"last_name": "Karimov"},
    } == record.native


class _EndlessXml(io.RawIOBase):
    """An XML stream whose root never closes."""

    def __init__(self):
        records = (f"<record><number>{n}</number></record>\n".encode() for n in itertools.count())
        self._chunks = itertools.chain([b"<records>\n"], records)
        self._pending = b""

    def readable(self):
        return True

    def readinto(self, buffer):
        while len(self._pending) < len(buffer):
            self._pending += next(self._chunks)
        size = len(buffer)
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size


def test_records_are_streamed_not_read_whole():
    """The first records of an endless document come out: nothing waits for its end."""
    stream = io.BufferedReader(_EndlessXml())
    first = itertools.islice(XmlReader(TAGS).records(stream), 2)
    assert [{"number": "0"}, {"number": "1"}] == [r.native for r in first]
