"""Ministries' native records become canonical; errors name the ministry's own fields."""

import pytest

from adapters import ADAPTERS, MappingError
from gateway.ingest import canonicalize
from schemas import REGISTRY
from tests.support.records import load

MVD = ADAPTERS["mvd.crime_report"]
SOLIQ = ADAPTERS["soliq.organization"]


def problems_of(adapter, native):
    """(native field, message) of every problem canonicalize finds."""
    with pytest.raises(MappingError) as caught:
        canonicalize(adapter, REGISTRY[adapter.schema_id], native)
    return [(p.field, p.message) for p in caught.value.problems]


def test_mvd_report_maps_to_canonical_crime_report():
    """Uzbek field names, DD.MM.YYYY dates and code tables become the canonical record."""
    record = canonicalize(MVD, REGISTRY["crime_report/1"], load("mvd_crime_report"))
    assert {
        "report_number": "IIV-2026-0012345",
        "registered_at": "2026-11-20T10:15:00+05:00",
        "incident_date": "2026-11-19",
        "severity": "grave",
        "status": "registered",
        "criminal_code_articles": ["169-3"],
        "region": "1726",
    }.items() <= record.items()
    assert ("31205850123456", "1985-05-12") == (
        record["applicant"]["pinfl"],
        record["applicant"]["birth_date"],
    )
    assert {"region": "1726", "district": "Yunusobod"}.items() <= record["location"].items()


def test_mvd_unknown_code_names_the_known_codes():
    """An unknown severity code is refused with the codes that exist."""
    native = load("mvd_crime_report") | {"ogirlik_toifasi": "7"}
    assert [("ogirlik_toifasi", "unknown severity class code '7' (known: 1, 2, 3, 4)")] == (
        problems_of(MVD, native)
    )


def test_missing_required_field_is_named_natively():
    """A required canonical field that is absent is reported under the native name."""
    native = load("mvd_crime_report")
    del native["xabar_raqami"]
    assert [("xabar_raqami", "required field is missing")] == problems_of(MVD, native)


def test_canonical_problem_inside_a_nested_object_is_named_natively():
    """A bad PINFL inside the applicant is reported as arizachi.jshshir."""
    native = load("mvd_crime_report")
    native["arizachi"]["jshshir"] = "12345"
    [(field, _)] = problems_of(MVD, native)
    assert "arizachi.jshshir" == field


def test_record_that_is_not_an_object_is_refused():
    """A JSON array element that is a string is refused with its type named."""
    assert [("", "a record must be a JSON object, not a string")] == problems_of(MVD, "x")


def test_soliq_organization_maps_codes_and_splits_the_full_name():
    """Legal-form abbreviations, numeric status and the director's full name are mapped."""
    record = canonicalize(SOLIQ, REGISTRY["organization/1"], load("soliq_organization"))
    assert ("301234567", "llc", "in_liquidation") == (
        record["stir"],
        record["legal_form"],
        record["status"],
    )
    assert ("Karimov", "Anvar", "Aliyevich") == (
        record["director"]["last_name"],
        record["director"]["first_name"],
        record["director"]["patronymic"],
    )


def test_soliq_name_problem_points_at_the_full_name_field():
    """A name problem inside the split full name is reported as director.fio."""
    native = load("soliq_organization")
    native["director"]["fio"] = "KARIMOV ANVAR2"
    [(field, _)] = problems_of(SOLIQ, native)
    assert "director.fio" == field


def test_every_problem_of_a_record_is_reported_at_once():
    """Mapping and schema problems of one record are reported together."""
    found = [field for field, _ in problems_of(MVD, load("mvd_crime_report_invalid"))]
    assert ["hodisa_sanasi", "ogirlik_toifasi", "arizachi.jshshir"] == found


def test_canonical_adapter_passes_records_through():
    """canonical.* adapters validate the record as it is."""
    adapter = ADAPTERS["canonical.court_decision"]
    record = canonicalize(adapter, REGISTRY["court_decision/1"], load("court_decision"))
    assert "verdict" == record["decision_type"]
