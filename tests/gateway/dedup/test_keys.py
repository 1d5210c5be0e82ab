"""dedup_key: what a message is deduplicated by, for feeds and destinations alike."""

import hashlib

import pytest

from gateway.dedup import dedup_key

PAYLOAD = {"report_number": "IIV-1", "applicant": {"pinfl": "31205850123456"}, "count": 3}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("message_id", "m-1"),
        ("payload.report_number", "IIV-1"),
        ("payload.applicant.pinfl", "31205850123456"),
        ("payload.count", "3"),
        ("payload.applicant", '{"pinfl":"31205850123456"}'),
    ],
)
def test_key_is_the_named_value(spec, expected):
    """The message id, or the payload's value at the dotted path (non-strings as JSON)."""
    assert expected == dedup_key(spec, "m-1", PAYLOAD)


@pytest.mark.parametrize("spec", ["payload.incident_date", "payload.report_number.part"])
def test_empty_field_falls_back_to_the_message_id(spec):
    """An absent or null field: the message is its own key."""
    assert "m-1" == dedup_key(spec, "m-1", PAYLOAD)


def test_nothing_to_go_by_is_none():
    """No field and no message id: no key."""
    assert dedup_key("payload.incident_date", None, PAYLOAD) is None


def test_overlong_key_is_hashed():
    """A value longer than the store takes is keyed by its SHA-256."""
    long = "x" * 600
    assert "sha256:" + hashlib.sha256(long.encode()).hexdigest() == dedup_key(
        "payload.note", "m-1", {"note": long}
    )
