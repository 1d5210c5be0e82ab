"""Schema registry and schema id parsing."""

from collections.abc import Mapping
from typing import ClassVar

import pytest

from schemas import (
    REGISTRY,
    CanonicalRecord,
    CaseEvent,
    CrimeReport,
    Person,
    SchemaRegistry,
    UnknownSchemaError,
    parse_schema_id,
)

ALL_IDS = [
    "case_event/1",
    "court_decision/1",
    "crime_report/1",
    "inspection/1",
    "organization/1",
    "person/1",
]


def test_registry_holds_the_six_records_sorted() -> None:
    """REGISTRY lists the six record ids in sorted order."""
    assert ALL_IDS == REGISTRY.ids()


def test_registry_iterates_over_sorted_ids() -> None:
    """Iterating the registry yields the ids in sorted order."""
    assert ALL_IDS == list(REGISTRY)


def test_get_returns_the_model() -> None:
    """get() returns the model registered under the id."""
    assert CrimeReport is REGISTRY.get("crime_report/1")


def test_getitem_returns_the_model() -> None:
    """Indexing returns the model registered under the id."""
    assert Person is REGISTRY["person/1"]


def test_get_unknown_raises_unknown_schema_error() -> None:
    """get() of an unknown id raises UnknownSchemaError."""
    with pytest.raises(UnknownSchemaError):
        REGISTRY.get("crime_report/2")


def test_unknown_schema_error_is_a_key_error() -> None:
    """UnknownSchemaError is a KeyError, so mapping code handles it."""
    with pytest.raises(KeyError):
        REGISTRY["crime_report/2"]


def test_unknown_schema_error_lists_known_ids() -> None:
    """The message names the unknown id and lists the known ones."""
    with pytest.raises(UnknownSchemaError) as caught:
        REGISTRY.get("crime_report/2")
    expected = "unknown schema 'crime_report/2'; known schemas: " + ", ".join(ALL_IDS)
    assert expected == str(caught.value)


def test_get_with_default_returns_default() -> None:
    """get() with a default returns it for an unknown id, like Mapping.get."""
    assert None is REGISTRY.get("crime_report/2", None)


def test_contains_known_and_unknown() -> None:
    """Membership tells known ids from unknown ones and non-strings."""
    not_a_string: object = 1
    assert (True, False, False) == (
        "case_event/1" in REGISTRY,
        "case_event/2" in REGISTRY,
        not_a_string in REGISTRY,
    )


def test_registry_is_a_read_only_mapping() -> None:
    """The registry is a Mapping without item assignment."""
    assert (True, False) == (
        isinstance(REGISTRY, Mapping),
        hasattr(REGISTRY, "__setitem__"),
    )


def test_duplicate_schema_id_is_refused() -> None:
    """Registering two models under one id is refused."""

    class OtherCaseEvent(CaseEvent):
        """A second model claiming case_event/1."""

    with pytest.raises(ValueError, match="registered twice"):
        SchemaRegistry([CaseEvent, OtherCaseEvent])


def test_malformed_model_schema_id_is_refused() -> None:
    """A model whose schema_id is malformed cannot be registered."""

    class Bad(CanonicalRecord):
        """A record with a malformed id."""

        schema_id: ClassVar[str] = "Bad"

    with pytest.raises(ValueError, match="invalid schema id 'Bad'"):
        SchemaRegistry([Bad])


def test_model_without_schema_id_is_refused() -> None:
    """A model without schema_id cannot be registered."""
    with pytest.raises(TypeError, match="has no schema_id"):
        SchemaRegistry([CanonicalRecord])


def test_parse_schema_id_splits_name_and_version() -> None:
    """parse_schema_id returns the name and the integer version."""
    assert ("court_decision", 12) == parse_schema_id("court_decision/12")


@pytest.mark.parametrize(
    "value",
    [
        "crime_report",
        "crime_report/",
        "crime_report/0",
        "crime_report/01",
        "Crime/1",
        "a/1/2",
        "/1",
        " a/1",
    ],
)
def test_parse_schema_id_refuses_malformed_ids(value: str) -> None:
    """Ids not of the form name/positive-version are refused with a clear message."""
    with pytest.raises(ValueError, match="expected <name>/<version>"):
        parse_schema_id(value)
