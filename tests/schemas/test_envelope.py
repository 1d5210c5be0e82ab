"""Envelope: AMQP header round trip and its own rules."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import Envelope

DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.fixture
def envelope_data() -> dict[str, Any]:
    """A valid envelope of a feed message, with the schema under its alias."""
    return {
        "message_id": "01HZX3K9Q7W2B5M8N4R6T0YV1C",
        "correlation_id": "req-2024-06-15:0001",
        "client": "mvd.tashkent-city",
        "feed": "crime-reports",
        "schema": "crime_report/1",
        "user_id": "inspector-42",
        "issue": "2024-0001234",
        "received_at": "2024-06-15T12:00:00.123456+05:00",
        "payload_sha256": DIGEST,
    }


def test_amqp_headers_round_trip(envelope_data: dict[str, Any]) -> None:
    """from_amqp rebuilds the envelope from its ids and amqp_headers()."""
    envelope = Envelope.model_validate(envelope_data)
    rebuilt = Envelope.from_amqp(
        envelope.message_id, envelope.correlation_id, envelope.amqp_headers()
    )
    assert envelope == rebuilt


def test_amqp_headers_hold_set_fields_without_ids(envelope_data: dict[str, Any]) -> None:
    """Headers carry the set fields as strings; ids and unset fields are left out."""
    del envelope_data["user_id"]
    expected = {
        "client": "mvd.tashkent-city",
        "feed": "crime-reports",
        "schema": "crime_report/1",
        "issue": "2024-0001234",
        "received_at": "2024-06-15T12:00:00.123456+05:00",
        "payload_sha256": DIGEST,
    }
    assert expected == Envelope.model_validate(envelope_data).amqp_headers()


def test_service_envelope_round_trips(envelope_data: dict[str, Any]) -> None:
    """An envelope of a service call carries service instead of feed."""
    del envelope_data["feed"]
    envelope = Envelope.model_validate({**envelope_data, "service": "person-lookup"})
    headers = envelope.amqp_headers()
    assert ("person-lookup", False) == (headers["service"], "feed" in headers)
    assert envelope == Envelope.from_amqp(envelope.message_id, envelope.correlation_id, headers)


def test_from_amqp_ignores_foreign_headers(envelope_data: dict[str, Any]) -> None:
    """Headers added by the broker or tracing are ignored."""
    envelope = Envelope.model_validate(envelope_data)
    headers = {**envelope.amqp_headers(), "x-death": [], "traceparent": "00-abc"}
    assert envelope == Envelope.from_amqp(envelope.message_id, envelope.correlation_id, headers)


def test_from_amqp_accepts_bytes_headers(envelope_data: dict[str, Any]) -> None:
    """Header values delivered as UTF-8 bytes are decoded."""
    envelope = Envelope.model_validate(envelope_data)
    headers = {name: value.encode() for name, value in envelope.amqp_headers().items()}
    assert envelope == Envelope.from_amqp(envelope.message_id, envelope.correlation_id, headers)


def test_from_amqp_without_message_id_is_refused(envelope_data: dict[str, Any]) -> None:
    """A message without message_id property is refused at message_id."""
    headers = Envelope.model_validate(envelope_data).amqp_headers()
    with pytest.raises(ValidationError) as caught:
        Envelope.from_amqp(None, "c-1", headers)
    assert [("message_id",)] == [error["loc"] for error in caught.value.errors()]


def test_both_feed_and_service_are_refused(envelope_data: dict[str, Any]) -> None:
    """Setting both feed and service is refused."""
    with pytest.raises(
        ValidationError, match="exactly one of feed or service must be set, got both"
    ):
        Envelope.model_validate({**envelope_data, "service": "person-lookup"})


def test_neither_feed_nor_service_is_refused(envelope_data: dict[str, Any]) -> None:
    """Setting neither feed nor service is refused."""
    del envelope_data["feed"]
    with pytest.raises(
        ValidationError, match="exactly one of feed or service must be set, got neither"
    ):
        Envelope.model_validate(envelope_data)


def test_schema_id_is_populated_by_name(envelope_data: dict[str, Any]) -> None:
    """schema_id may be given by field name as well as by its alias."""
    schema_id = envelope_data.pop("schema")
    data = {**envelope_data, "schema_id": schema_id}
    assert "crime_report/1" == Envelope.model_validate(data).schema_id


def test_dump_by_alias_names_schema(envelope_data: dict[str, Any]) -> None:
    """Dumped by alias, schema_id is called schema."""
    dumped = Envelope.model_validate(envelope_data).model_dump(by_alias=True)
    assert ("crime_report/1", False) == (dumped["schema"], "schema_id" in dumped)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("message_id", ""),
        ("message_id", "-starts-with-dash"),
        ("correlation_id", "has space"),
        ("client", "MVD"),
        ("schema", "CrimeReport"),
        ("schema", "crime_report"),
        ("payload_sha256", DIGEST.upper()),
        ("payload_sha256", DIGEST[:-1]),
        ("user_id", "u" * 129),
        ("issue", "i" * 129),
    ],
)
def test_malformed_field_is_refused(envelope_data: dict[str, Any], field: str, value: str) -> None:
    """Each malformed field is refused at its own location."""
    with pytest.raises(ValidationError) as caught:
        Envelope.model_validate({**envelope_data, field: value})
    assert [(field,)] == [error["loc"] for error in caught.value.errors()]


def test_naive_received_at_is_refused(envelope_data: dict[str, Any]) -> None:
    """received_at must carry an offset."""
    with pytest.raises(ValidationError) as caught:
        Envelope.model_validate({**envelope_data, "received_at": "2024-06-15T12:00:00"})
    assert ["datetime_naive"] == [error["type"] for error in caught.value.errors()]


def test_received_at_keeps_utc_offset(envelope_data: dict[str, Any]) -> None:
    """A UTC receive time keeps its offset through the headers."""
    received = datetime(2024, 6, 15, 7, 0, tzinfo=UTC)
    envelope = Envelope.model_validate({**envelope_data, "received_at": received})
    header = envelope.amqp_headers()["received_at"]
    assert ("2024-06-15T07:00:00+00:00", timedelta(0)) == (
        header,
        datetime.fromisoformat(header).utcoffset(),
    )


def test_extra_key_is_refused(envelope_data: dict[str, Any]) -> None:
    """Unknown envelope keys are refused."""
    with pytest.raises(ValidationError) as caught:
        Envelope.model_validate({**envelope_data, "priority": "high"})
    assert ["extra_forbidden"] == [error["type"] for error in caught.value.errors()]
