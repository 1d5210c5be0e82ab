"""File formats of the file-drop channel: bytes in, native records with their line numbers
out, streamed (one record in memory at a time). Hardening and the gateway's policy (read
locks, receipts, publishing) live in gateway/filedrop/."""

from adapters.files.base import MAX_LINE_BYTES, FileFormatError, FileRecord, RecordReader
from adapters.files.csv_reader import CsvReader
from adapters.files.factory import leaf_paths, reader_for
from adapters.files.jsonl_reader import JsonLinesReader
from adapters.files.xml_reader import XmlReader

__all__ = [
    "MAX_LINE_BYTES",
    "CsvReader",
    "FileFormatError",
    "FileRecord",
    "JsonLinesReader",
    "RecordReader",
    "XmlReader",
    "leaf_paths",
    "reader_for",
]
