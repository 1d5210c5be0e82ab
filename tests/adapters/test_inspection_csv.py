"""The Register of Inspections' CSV adapter: Russian column names to inspection/1."""

import io

import pytest

from adapters import ADAPTERS, MappingError
from adapters.files import CsvReader
from gateway.ingest import canonicalize
from schemas import REGISTRY
from tests.support.records import FIXTURES

ADAPTER = ADAPTERS["registry.inspection_csv"]
MODEL = REGISTRY["inspection/1"]


def sample_rows():
    """The native records of the shipped sample file."""
    data = (FIXTURES / "files" / "inspections.csv").read_bytes()
    return [r.native for r in CsvReader(encoding="cp1251", delimiter=";").records(io.BytesIO(data))]


def problems(native):
    """The problems canonicalize reports for ``native``, as (field, canonical field) pairs."""
    with pytest.raises(MappingError) as caught:
        canonicalize(ADAPTER, MODEL, native)
    return [(p.field, p.canonical) for p in caught.value.problems]


def test_every_row_of_the_sample_is_a_valid_inspection():
    """The six rows of tests/fixtures/files/inspections.csv map to inspection/1."""
    records = [canonicalize(ADAPTER, MODEL, row) for row in sample_rows()]
    assert ["planned", "planned", "unplanned", "unplanned", "counter", "planned"] == [
        r["kind"] for r in records
    ]


def test_dates_and_the_inspector_are_mapped():
    """DD.MM.YYYY becomes ISO; the inspector's columns become one person."""
    record = canonicalize(ADAPTER, MODEL, sample_rows()[0])
    assert ("2026-01-15", "2026-01-22", "Каримов", 2) == (
        record["start_date"],
        record["end_date"],
        record["inspector"]["last_name"],
        record["violations_found"],
    )


def test_an_unknown_kind_is_reported_under_its_column():
    """A kind the Register does not use is refused under the Russian column name."""
    row = {**sample_rows()[0], "Вид проверки": "секретная"}
    assert [("Вид проверки", "kind")] == problems(row)


def test_an_inspector_without_a_last_name_is_reported_under_its_column():
    """One inspector column given without the last name: the missing column is named."""
    row = {k: v for k, v in sample_rows()[0].items() if k != "Фамилия инспектора"}
    assert [("Фамилия инспектора", "inspector.last_name")] == problems(row)
