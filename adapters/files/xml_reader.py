"""XML files: a root element holding one element per record, streamed.

    <inspections>                                  the root: any name
      <record>                                     one record (the feed's ``record:`` name)
        <inspection_number>…</inspection_number>   the native field names, nested as in
        <inspector><pinfl>…</pinfl></inspector>    the feed's JSON, read by the adapter's
      </record>                                    native shape as a SOAP push's records are
    </inspections>                                 (gateway/soap/feed.py)

Parsed with lxml's pull parser fed 64 KiB at a time; each record element is turned into its
native dict when it ends and then dropped from the tree, so memory holds one record whatever
the file's size. Hardened as the SOAP channel's parser (gateway/soap/hardened_xml.py): no
entity resolution, no DTD, no network, every external resource resolved to nothing, libxml2's
size limits kept, no processing instructions or comments; a document type declaration is
refused, found in the raw bytes and again when the root element starts, before anything of it
could be used; elements nested deeper than MAX_DEPTH are refused.

A child of the root that is not a record element is a bad record; a record whose fields
cannot be told as JSON (a field given twice, text where fields belong) carries those problems.
Anything not well-formed ends the file, with libxml2's line, column and reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any, Final

from lxml import etree

from adapters.base import FieldProblem, NativeShape
from adapters.files.base import FileFormatError, FileRecord
from gateway.soap.feed import read_records
from gateway.soap.hardened_xml import (
    DOCTYPE_FORBIDDEN,
    HARDENED_OPTIONS,
    MAX_DEPTH,
    declares_doctype,
    harden,
)

CHUNK_BYTES: Final = 64 * 1024
_LIBXML_WHERE: Final = re.compile(r", line [0-9]+, column [0-9]+$")


class XmlReader:
    """Reads the ``record`` elements under the root of an XML file as native records of
    ``shape``; ``encoding`` overrides what the document declares (a file said to be UTF-8
    that is cp1251)."""

    def __init__(
        self, shape: NativeShape, *, record: str = "record", encoding: str | None = None
    ) -> None:
        self._shape = shape
        self._record = record
        self._encoding = encoding

    def records(self, stream: IO[bytes]) -> Iterator[FileRecord]:
        """Every record of ``stream``, in order."""
        parser = harden(
            etree.XMLPullParser(
                events=("start", "end"), encoding=self._encoding, **HARDENED_OPTIONS
            )
        )
        depth = 0
        index = 0
        root: Any = None
        first = True
        while True:
            chunk = stream.read(CHUNK_BYTES)
            if first:
                if not chunk.strip():
                    raise FileFormatError(1, None, "the file is empty: expected an XML document")
                if declares_doctype(chunk):
                    raise FileFormatError(1, None, DOCTYPE_FORBIDDEN)
                first = False
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                events = list(parser.read_events())
            except etree.XMLSyntaxError as exc:
                raise _syntax_error(exc) from None
            for event, element in events:
                if event == "start":
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise FileFormatError(
                            element.sourceline or 1,
                            None,
                            f"elements nested deeper than {MAX_DEPTH} levels",
                        )
                    if depth == 1:
                        root = element
                        _refuse_doctype(element)
                    continue
                depth -= 1
                if depth != 1:
                    continue
                yield self._record_of(index, element)
                index += 1
                element.clear(keep_tail=False)
                root.remove(element)
            if not chunk:
                return

    def _record_of(self, index: int, element: Any) -> FileRecord:
        line = element.sourceline or 1
        name = etree.QName(element)
        if name.localname != self._record:
            problem = FieldProblem(
                "", f"unexpected element <{name.text}>; expected <{self._record}>"
            )
            return FileRecord(index, line, {}, (problem,))
        [native], invalid = read_records([element], self._shape, name.namespace)
        problems = tuple(
            FieldProblem(p["field"], p["message"]) for entry in invalid for p in entry["problems"]
        )
        return FileRecord(index, line, native, problems)


def _refuse_doctype(root: Any) -> None:
    docinfo = root.getroottree().docinfo
    if (
        docinfo.doctype
        or docinfo.internalDTD is not None
        or docinfo.externalDTD is not None
        or docinfo.system_url
        or docinfo.public_id
    ):
        raise FileFormatError(root.sourceline or 1, None, DOCTYPE_FORBIDDEN)


def _syntax_error(exc: Any) -> FileFormatError:
    line, column = exc.position
    message = _LIBXML_WHERE.sub("", str(exc.msg or "not well-formed"))
    if message.startswith("Excessive depth"):
        return FileFormatError(line or 1, None, f"elements nested deeper than {MAX_DEPTH} levels")
    if any(entry.domain_name == "IO" for entry in exc.error_log):  # an external resource
        return FileFormatError(line or 1, None, DOCTYPE_FORBIDDEN)
    return FileFormatError(line or 1, column or None, f"not well-formed XML: {message}")
