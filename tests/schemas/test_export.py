"""Export of the records' JSON Schemas."""

import json
from pathlib import Path
from typing import Any

import pytest

from schemas import REGISTRY, CrimeReport, export_json_schemas

EXPECTED_NAMES = [
    "case_event.v1.schema.json",
    "court_decision.v1.schema.json",
    "crime_report.v1.schema.json",
    "inspection.v1.schema.json",
    "organization.v1.schema.json",
    "person.v1.schema.json",
]


@pytest.fixture
def exported(tmp_path: Path) -> list[Path]:
    """Export the schemas into a directory that does not exist yet."""
    return export_json_schemas(tmp_path / "out" / "schemas")


def load(path: Path) -> Any:
    """Read one exported schema file."""
    return json.loads(path.read_text(encoding="utf-8"))


def test_export_writes_one_file_per_record(exported: list[Path], tmp_path: Path) -> None:
    """Six files, named {name}.v{version}.schema.json, in the created directory."""
    directory = tmp_path / "out" / "schemas"
    assert EXPECTED_NAMES == sorted(path.name for path in directory.iterdir())


def test_export_returns_sorted_paths(exported: list[Path], tmp_path: Path) -> None:
    """The returned paths are the written files, sorted."""
    assert [tmp_path / "out" / "schemas" / name for name in EXPECTED_NAMES] == exported


def test_exported_schema_identifies_itself(exported: list[Path]) -> None:
    """Each file declares the 2020-12 dialect, a URN $id and the model title."""
    expected = [
        (
            "https://json-schema.org/draft/2020-12/schema",
            f"urn:e-integratsiya:schema:{schema_id}",
            REGISTRY[schema_id].__name__,
        )
        for schema_id in REGISTRY
    ]
    actual = [(s["$schema"], s["$id"], s["title"]) for s in map(load, exported)]
    assert expected == actual


def test_exported_properties_are_the_model_fields(exported: list[Path]) -> None:
    """Each schema's properties are its model's fields."""
    expected = [sorted(model.model_fields) for model in REGISTRY.values()]
    assert expected == [sorted(load(path)["properties"]) for path in exported]


def test_crime_report_severity_lists_enum_values(exported: list[Path]) -> None:
    """crime_report's severity refers to an enum of the four severity classes."""
    schema = load(exported[EXPECTED_NAMES.index("crime_report.v1.schema.json")])
    ref = schema["properties"]["severity"]["$ref"]
    enum = schema["$defs"][ref.rsplit("/", 1)[1]]["enum"]
    assert ["minor", "less_grave", "grave", "especially_grave"] == enum


def test_exported_pinfl_has_its_pattern(exported: list[Path]) -> None:
    """person's pinfl carries the 14-digit pattern."""
    schema = load(exported[EXPECTED_NAMES.index("person.v1.schema.json")])
    assert "^[0-9]{14}$" == schema["properties"]["pinfl"]["pattern"]


def test_exported_file_is_sorted_indented_with_newline(exported: list[Path]) -> None:
    """Files are sorted-key JSON indented by 2 with a trailing newline."""
    text = exported[0].read_text(encoding="utf-8")
    assert json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n" == text


def test_export_is_deterministic(exported: list[Path], tmp_path: Path) -> None:
    """Exporting again gives the same bytes."""
    again = export_json_schemas(tmp_path / "again")
    assert [p.read_bytes() for p in exported] == [p.read_bytes() for p in again]


def test_exported_schema_requires_what_the_model_requires(exported: list[Path]) -> None:
    """crime_report's required list matches the model's required fields."""
    schema = load(exported[EXPECTED_NAMES.index("crime_report.v1.schema.json")])
    expected = sorted(name for name, f in CrimeReport.model_fields.items() if f.is_required())
    assert expected == sorted(schema["required"])
