"""Canonical records: valid samples, cross-field rules, enums, extra keys, immutability."""

from datetime import date
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from schemas import (
    CanonicalRecord,
    CaseEvent,
    CourtDecision,
    CrimeReport,
    Inspection,
    InspectionStatus,
    Organization,
    Person,
    Region,
    Severity,
)

SAMPLES: list[tuple[type[CanonicalRecord], str]] = [
    (CrimeReport, "crime_report_data"),
    (Person, "person_data"),
    (Organization, "organization_data"),
    (Inspection, "inspection_data"),
    (CourtDecision, "court_decision_data"),
    (CaseEvent, "case_event_data"),
]


def only_error(model: type[CanonicalRecord], data: dict[str, Any]) -> ErrorDetails:
    """Validate data expected to fail with exactly one error and return that error."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    errors = caught.value.errors()
    assert 1 == len(errors), errors
    return errors[0]


@pytest.mark.parametrize(("model", "fixture"), SAMPLES)
def test_valid_sample_is_accepted(
    model: type[CanonicalRecord], fixture: str, request: pytest.FixtureRequest
) -> None:
    """Each record's sample validates and round-trips through its canonical JSON."""
    record = model.model_validate(request.getfixturevalue(fixture))
    assert record == model.model_validate_json(record.canonical_json())


@pytest.mark.parametrize(("model", "fixture"), SAMPLES)
def test_extra_key_is_refused(
    model: type[CanonicalRecord], fixture: str, request: pytest.FixtureRequest
) -> None:
    """Unknown keys are refused at their own location."""
    error = only_error(model, {**request.getfixturevalue(fixture), "unexpected": 1})
    assert (("unexpected",), "extra_forbidden") == (error["loc"], error["type"])


def test_schema_ids_are_versioned() -> None:
    """Each record declares its name/version schema id."""
    expected = [
        "crime_report/1",
        "person/1",
        "organization/1",
        "inspection/1",
        "court_decision/1",
        "case_event/1",
    ]
    assert expected == [model.schema_id for model, _ in SAMPLES]


def test_canonical_json_has_sorted_keys_and_every_field(crime_report_data: dict[str, Any]) -> None:
    """canonical_json lists every field, unset ones as null, with keys sorted."""
    del crime_report_data["location"]
    decoded = orjson.loads(CrimeReport.model_validate(crime_report_data).canonical_json())
    assert (sorted(CrimeReport.model_fields), None) == (list(decoded), decoded["location"])


def test_canonical_json_is_deterministic(crime_report_data: dict[str, Any]) -> None:
    """The same data in another key order gives the same bytes."""
    reordered = dict(reversed(list(crime_report_data.items())))
    expected = CrimeReport.model_validate(crime_report_data).canonical_json()
    assert expected == CrimeReport.model_validate(reordered).canonical_json()


def test_record_is_frozen(crime_report_data: dict[str, Any]) -> None:
    """Assigning to a field of a record is refused."""
    report = CrimeReport.model_validate(crime_report_data)
    with pytest.raises(ValidationError, match="frozen"):
        report.summary = "changed"


def test_strings_are_stripped(crime_report_data: dict[str, Any]) -> None:
    """Surrounding whitespace is stripped from string fields."""
    report = CrimeReport.model_validate({**crime_report_data, "report_number": " KUSP-1 "})
    assert "KUSP-1" == report.report_number


def test_enums_are_parsed_to_members(crime_report_data: dict[str, Any]) -> None:
    """Enum fields hold enum members."""
    report = CrimeReport.model_validate(crime_report_data)
    assert (Severity.LESS_GRAVE, Region.TASHKENT_CITY) == (report.severity, report.region)


def test_unknown_enum_value_is_refused(crime_report_data: dict[str, Any]) -> None:
    """A severity outside the four Criminal Code classes is refused at severity."""
    error = only_error(CrimeReport, {**crime_report_data, "severity": "felony"})
    assert (("severity",), "enum") == (error["loc"], error["type"])


def test_unknown_region_code_is_refused(crime_report_data: dict[str, Any]) -> None:
    """A region code outside the 14 SOATO codes is refused at region."""
    error = only_error(CrimeReport, {**crime_report_data, "region": "1799"})
    assert (("region",), "enum") == (error["loc"], error["type"])


def test_crime_report_needs_an_article(crime_report_data: dict[str, Any]) -> None:
    """An empty list of Criminal Code articles is refused."""
    error = only_error(CrimeReport, {**crime_report_data, "criminal_code_articles": []})
    assert (("criminal_code_articles",), "too_short") == (error["loc"], error["type"])


def test_bad_article_is_located_by_index(crime_report_data: dict[str, Any]) -> None:
    """A malformed article is reported at its index in the list."""
    data = {**crime_report_data, "criminal_code_articles": ["169", "abc"]}
    assert ("criminal_code_articles", 1) == only_error(CrimeReport, data)["loc"]


def test_incident_after_registration_is_refused(crime_report_data: dict[str, Any]) -> None:
    """An incident dated after the registration date is refused at incident_date."""
    data = {**crime_report_data, "incident_date": "2024-06-15"}
    error = only_error(CrimeReport, data)
    assert (("incident_date",), "incident_after_registration") == (error["loc"], error["type"])
    assert "registered_at" in error["msg"]


def test_incident_date_uses_tashkent_date_of_registration(
    crime_report_data: dict[str, Any],
) -> None:
    """Registered 2024-06-14 20:00 UTC is 2024-06-15 in Tashkent, so that incident date holds."""
    data = {
        **crime_report_data,
        "registered_at": "2024-06-14T20:00:00Z",
        "incident_date": "2024-06-15",
    }
    assert date(2024, 6, 15) == CrimeReport.model_validate(data).incident_date


def test_registered_in_future_is_refused(crime_report_data: dict[str, Any]) -> None:
    """A registration time an hour ahead of now is refused at registered_at."""
    data = {**crime_report_data, "registered_at": "2024-06-15T13:00:00+05:00"}
    assert ("registered_at",) == only_error(CrimeReport, data)["loc"]


def test_nested_person_error_is_located(crime_report_data: dict[str, Any]) -> None:
    """A mixed-script applicant name is reported inside applicant."""
    data = {**crime_report_data, "applicant": {"last_name": "Иванov", "first_name": "Ivan"}}
    error = only_error(CrimeReport, data)
    assert (("applicant", "last_name"), "person_name_mixed_scripts") == (
        error["loc"],
        error["type"],
    )


def test_address_refuses_extra_keys(crime_report_data: dict[str, Any]) -> None:
    """Sub-models refuse unknown keys too."""
    data = {**crime_report_data, "location": {"text": "Chilonzor 5", "zip": "100000"}}
    assert ("location", "zip") == only_error(CrimeReport, data)["loc"]


def test_person_citizenship_defaults_to_uzb(person_data: dict[str, Any]) -> None:
    """Citizenship defaults to UZB."""
    assert "UZB" == Person.model_validate(person_data).citizenship


@pytest.mark.parametrize(
    ("field", "value"),
    [("citizenship", "uz"), ("passport", "AA123456"), ("gender", "other"), ("pinfl", "1")],
)
def test_person_malformed_field_is_refused(
    person_data: dict[str, Any], field: str, value: str
) -> None:
    """Malformed citizenship, passport, gender or PINFL is refused at that field."""
    assert (field,) == only_error(Person, {**person_data, field: value})["loc"]


def test_person_birth_date_in_future_is_refused(person_data: dict[str, Any]) -> None:
    """A birth date after today is refused at birth_date."""
    error = only_error(Person, {**person_data, "birth_date": "2024-06-16"})
    assert (("birth_date",), "date_in_future") == (error["loc"], error["type"])


def test_person_deceased_before_birth_is_refused(person_data: dict[str, Any]) -> None:
    """A date of death before the date of birth is refused at deceased_on."""
    error = only_error(Person, {**person_data, "deceased_on": "1990-01-01"})
    assert (("deceased_on",), "deceased_before_birth") == (error["loc"], error["type"])
    assert "birth_date" in error["msg"]


def test_person_deceased_on_is_accepted(person_data: dict[str, Any]) -> None:
    """A date of death after the date of birth is accepted."""
    person = Person.model_validate({**person_data, "deceased_on": "2024-01-01"})
    assert date(2024, 1, 1) == person.deceased_on


def test_liquidated_organization_is_accepted(organization_data: dict[str, Any]) -> None:
    """A liquidated organisation with a liquidation date is accepted."""
    data = {**organization_data, "status": "liquidated", "liquidated_on": "2023-12-31"}
    assert date(2023, 12, 31) == Organization.model_validate(data).liquidated_on


def test_liquidated_without_date_is_refused(organization_data: dict[str, Any]) -> None:
    """A liquidated organisation must give liquidated_on."""
    error = only_error(Organization, {**organization_data, "status": "liquidated"})
    assert (("liquidated_on",), "liquidation_date_missing") == (error["loc"], error["type"])


def test_liquidation_date_of_active_organization_is_refused(
    organization_data: dict[str, Any],
) -> None:
    """liquidated_on is refused while the organisation is not liquidated."""
    error = only_error(Organization, {**organization_data, "liquidated_on": "2023-12-31"})
    assert (("liquidated_on",), "liquidation_date_unexpected") == (error["loc"], error["type"])


def test_liquidated_before_registration_is_refused(organization_data: dict[str, Any]) -> None:
    """A liquidation date before the registration date is refused at liquidated_on."""
    data = {**organization_data, "status": "liquidated", "liquidated_on": "2014-12-31"}
    error = only_error(Organization, data)
    assert (("liquidated_on",), "liquidated_before_registration") == (
        error["loc"],
        error["type"],
    )


def test_malformed_oked_is_refused(organization_data: dict[str, Any]) -> None:
    """An activity code that is not 5 digits is refused at oked."""
    assert ("oked",) == only_error(Organization, {**organization_data, "oked": "4719"})["loc"]


def test_scheduled_inspection_may_start_in_future(inspection_data: dict[str, Any]) -> None:
    """A scheduled inspection may start after today and have no end date."""
    data = {**inspection_data, "status": "scheduled", "start_date": "2024-09-01"}
    del data["end_date"]
    assert InspectionStatus.SCHEDULED == Inspection.model_validate(data).status


def test_inspection_end_before_start_is_refused(inspection_data: dict[str, Any]) -> None:
    """An end date before the start date is refused at end_date."""
    error = only_error(Inspection, {**inspection_data, "end_date": "2024-05-01"})
    assert (("end_date",), "end_before_start") == (error["loc"], error["type"])
    assert "start_date" in error["msg"]


def test_completed_inspection_without_end_is_refused(inspection_data: dict[str, Any]) -> None:
    """A completed inspection must give end_date."""
    del inspection_data["end_date"]
    error = only_error(Inspection, inspection_data)
    assert (("end_date",), "end_date_missing") == (error["loc"], error["type"])


def test_completed_inspection_ending_in_future_is_refused(
    inspection_data: dict[str, Any],
) -> None:
    """A completed inspection cannot end after today."""
    error = only_error(Inspection, {**inspection_data, "end_date": "2024-06-16"})
    assert (("end_date",), "end_date_in_future") == (error["loc"], error["type"])


def test_negative_violations_are_refused(inspection_data: dict[str, Any]) -> None:
    """violations_found is a count: negatives are refused."""
    error = only_error(Inspection, {**inspection_data, "violations_found": -1})
    assert (("violations_found",), "greater_than_equal") == (error["loc"], error["type"])


def test_force_before_decision_is_refused(court_decision_data: dict[str, Any]) -> None:
    """Entry into force before the decision date is refused at enters_into_force_on."""
    data = {**court_decision_data, "enters_into_force_on": "2024-06-09"}
    error = only_error(CourtDecision, data)
    assert (("enters_into_force_on",), "force_before_decision") == (error["loc"], error["type"])
    assert "decision_date" in error["msg"]


def test_court_decision_articles_default_to_empty(court_decision_data: dict[str, Any]) -> None:
    """A decision without articles has an empty list."""
    del court_decision_data["criminal_code_articles"]
    assert [] == CourtDecision.model_validate(court_decision_data).criminal_code_articles


def test_unknown_decision_outcome_is_refused(court_decision_data: dict[str, Any]) -> None:
    """An outcome outside the enum is refused at outcome."""
    error = only_error(CourtDecision, {**court_decision_data, "outcome": "pardoned"})
    assert (("outcome",), "enum") == (error["loc"], error["type"])


def test_case_event_in_future_is_refused(case_event_data: dict[str, Any]) -> None:
    """An event an hour ahead of now is refused at occurred_at."""
    data = {**case_event_data, "occurred_at": "2024-06-15T13:00:00+05:00"}
    error = only_error(CaseEvent, data)
    assert (("occurred_at",), "datetime_in_future") == (error["loc"], error["type"])


def test_case_event_naive_time_is_refused(case_event_data: dict[str, Any]) -> None:
    """An event time without offset is refused at occurred_at."""
    data = {**case_event_data, "occurred_at": "2024-06-15T11:00:00"}
    error = only_error(CaseEvent, data)
    assert (("occurred_at",), "datetime_naive") == (error["loc"], error["type"])


def test_unknown_case_event_type_is_refused(case_event_data: dict[str, Any]) -> None:
    """An event type outside the enum is refused at event_type."""
    error = only_error(CaseEvent, {**case_event_data, "event_type": "case_lost"})
    assert (("event_type",), "enum") == (error["loc"], error["type"])
