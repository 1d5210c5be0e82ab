"""The reader a file feed's ``file:`` block asks for."""

from __future__ import annotations

from collections.abc import Iterator

from adapters.base import NativeShape
from adapters.files.base import RecordReader
from adapters.files.csv_reader import CsvReader
from adapters.files.jsonl_reader import JsonLinesReader
from adapters.files.xml_reader import XmlReader
from gateway.routing.spec import FileFeedSpec


def reader_for(spec: FileFeedSpec, shape: NativeShape) -> RecordReader:
    """The reader of ``spec``'s format, for records of the feed adapter's native ``shape``
    (a CSV header may name only its fields, dotted when nested)."""
    if spec.format == "csv":
        return CsvReader(
            encoding=spec.encoding or "utf-8",
            delimiter=spec.delimiter,
            columns=tuple(leaf_paths(shape)),
        )
    if spec.format == "jsonl":
        return JsonLinesReader(encoding=spec.encoding or "utf-8")
    return XmlReader(shape, record=spec.record, encoding=spec.encoding)


def leaf_paths(shape: NativeShape, prefix: str = "") -> Iterator[str]:
    """The dotted path of every leaf field of ``shape``: ``inspector.pinfl``."""
    for field in shape:
        path = prefix + field.name
        if field.fields is not None:
            yield from leaf_paths(field.fields, path + ".")
        else:
            yield path
