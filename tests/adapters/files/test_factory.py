"""The reader a file feed's ``file:`` block asks for."""

from adapters import ADAPTERS
from adapters.files import CsvReader, JsonLinesReader, XmlReader, leaf_paths, reader_for
from gateway.routing.spec import FileFeedSpec

SHAPE = ADAPTERS["canonical.inspection"].native_shape()


def spec(**values):
    """A file block with ``values``."""
    return FileFeedSpec.model_validate({"system": "agencies.x", **values})


def test_each_format_has_its_reader():
    """csv, jsonl and xml give the reader of that format."""
    assert [CsvReader, JsonLinesReader, XmlReader] == [
        type(reader_for(spec(format=f), SHAPE)) for f in ("csv", "jsonl", "xml")
    ]


def test_leaf_paths_are_dotted():
    """A nested field's leaves are named by their dotted path, as CSV headers write them."""
    paths = list(leaf_paths(SHAPE))
    assert ("inspection_number" in paths, "inspector.pinfl" in paths, "inspector" in paths) == (
        True,
        True,
        False,
    )
