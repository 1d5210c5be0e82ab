"""The fast encoder of a record's AMQP properties writes what pamqp writes, byte for byte."""

from datetime import UTC, datetime, timedelta, timezone

import aiormq
import pytest
from pamqp import frame, header

from gateway.broker.properties import RecordProperties, record_properties

BASE = {
    "message_id": "3f0c6a1e-6a47-4c55-9d7a-4a0f0e1c2b3d",
    "correlation_id": "c-1",
    "schema_id": "crime_report/1",
    "timestamp": datetime(2026, 11, 23, 12, 30, 15, 123456, tzinfo=UTC),
    "headers": {
        "client": "mvd.eijro",
        "feed": "crime-reports",
        "schema": "crime_report/1",
        "received_at": "2026-11-23T12:30:15.123456+00:00",
        "payload_sha256": "ab" * 32,
    },
    "app_id": "e-integratsiya",
}


def pamqp_bytes(properties: aiormq.spec.Basic.Properties) -> bytes:
    """What pamqp's own encoder writes for the same values."""
    plain = aiormq.spec.Basic.Properties(
        **{name: getattr(properties, name) for name in aiormq.spec.Basic.Properties.__slots__}
    )
    return bytes(plain.marshal())


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"headers": {}},
        {"headers": {"issue": "", "user_id": "inspektor.1"}},
        {"headers": {"фамилия": "Каримов", "note": "oʻzbek ‘quote’ ✓"}},
        {"headers": {"big": "x" * 70_000}},
        {"correlation_id": ""},
        {"message_id": "m" * 255},
        {"timestamp": datetime(2026, 1, 1, 5, tzinfo=timezone(timedelta(hours=5)))},
        # outside the fast encoder's shape: pamqp's encoder writes them
        {"headers": {"record_index": 7, "flag": True, "nested": {"a": "b"}}},
        {"headers": {"k" * 200: "long key"}},
        {"message_id": "m" * 300},
        {"timestamp": datetime(2026, 1, 1, 5)},
    ],
)
def test_the_fast_encoder_writes_what_pamqp_writes(change):
    """Every shape a record's properties take (and some they never take) encodes to the same
    bytes as pamqp's encoder; values pamqp refuses are refused alike."""
    properties = record_properties(**{**BASE, **change})
    assert isinstance(properties, RecordProperties)
    try:
        expected = pamqp_bytes(properties)
    except TypeError:
        with pytest.raises(TypeError):
            properties.marshal()
        return
    assert expected == properties.marshal()


def test_the_properties_decode_as_they_were_given():
    """A content header frame with the fast properties (as aiormq builds it) decodes to the
    same values."""
    properties = record_properties(**BASE)
    assert len(properties) == len(aiormq.spec.Basic.Properties())  # pamqp's truthiness
    wire = frame.marshal(header.ContentHeader(0, 42, properties), 1)
    _, _, decoded = frame.unmarshal(wire)
    assert BASE["headers"] == decoded.properties.headers
    assert BASE["message_id"] == decoded.properties.message_id
    assert BASE["schema_id"] == decoded.properties.message_type
    assert 2 == decoded.properties.delivery_mode
    assert int(BASE["timestamp"].timestamp()) == int(decoded.properties.timestamp.timestamp())
