"""Adapters describe their native record (names, JSON types, nesting), which the WSDL and the
reading of XML rely on."""

from adapters import ADAPTERS
from adapters.base import NativeField


def field(adapter, *path):
    """The NativeField at ``path`` of an adapter's shape."""
    fields = ADAPTERS[adapter].native_shape()
    for name in path:
        found = next(f for f in fields if f.name == name)
        fields = found.fields or ()
    return found


def test_mapping_adapter_nests_dotted_native_fields():
    """arizachi.jshshir of the Interior ministry's mapping is jshshir inside arizachi."""
    applicant = field("mvd.crime_report", "arizachi")
    assert ["jshshir", "familiya", "ismi", "otasining_ismi", "tugilgan_sana"] == [
        f.name for f in applicant.fields
    ]


def test_mapping_adapter_fields_are_strings_unless_said_otherwise():
    """Native fields are strings by default, and none is marked required."""
    assert NativeField("xabar_raqami") == field("mvd.crime_report", "xabar_raqami")


def test_tax_committee_status_is_an_integer():
    """The Tax Committee sends its status code as a JSON number."""
    assert "integer" == field("soliq.organization", "status_code").type


def test_canonical_adapter_follows_the_models_json_schema():
    """A canonical adapter's shape: required fields, arrays, integers, nested objects."""
    assert (True, True, "integer", False, True) == (
        field("canonical.crime_report", "report_number").required,
        field("canonical.crime_report", "criminal_code_articles").repeated,
        field("canonical.inspection", "violations_found").type,
        field("canonical.crime_report", "applicant").required,
        field("canonical.crime_report", "applicant", "last_name").required,
    )
