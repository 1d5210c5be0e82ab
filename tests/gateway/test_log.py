"""Personal data never reaches the log in clear: one processor redacts every event."""

import io
import sys

import orjson
import structlog

from gateway.log import MASK, Redactor, configure_logging

REDACT = Redactor(b"test-key")


def test_pinfl_anywhere_in_text_becomes_a_keyed_hash():
    """A 14-digit number inside any string is replaced by pinfl:<hash>."""
    event = REDACT(None, "info", {"event": "lookup", "note": "subject 31205850123456 asked"})
    assert f"subject {REDACT.pinfl_hash('31205850123456')} asked" == event["note"]


def test_equal_pinfls_hash_alike_and_the_key_matters():
    """The same PINFL gives the same hash under one key, another under another key."""
    other = Redactor(b"other-key")
    assert REDACT.pinfl_hash("31205850123456") == REDACT.pinfl_hash("31205850123456")
    assert REDACT.pinfl_hash("31205850123456") != other.pinfl_hash("31205850123456")


def test_names_are_masked_in_nested_values():
    """Name fields are masked wherever they are nested, in canonical or native spelling."""
    event = REDACT(
        None,
        "info",
        {"event": "x", "record": {"applicant": {"last_name": "Karimova", "familiya": "K"}}},
    )
    assert {"last_name": MASK, "familiya": MASK} == event["record"]["applicant"]


def test_longer_digit_runs_are_not_taken_for_pinfls():
    """A 16-digit card-like number is not a PINFL and is left alone."""
    event = REDACT(None, "info", {"event": "x", "n": "1234567890123456"})
    assert "1234567890123456" == event["n"]


def test_configured_logger_writes_redacted_json_lines(monkeypatch):
    """The configured pipeline renders one JSON object per line, already redacted."""
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer))
    try:
        configure_logging("info", "json", "k")
        structlog.get_logger("t").info("access", user_id="31205850123456", client="x")
        line = orjson.loads(buffer.getvalue().splitlines()[-1])
    finally:
        structlog.reset_defaults()
    assert ("access", "info", "x") == (line["event"], line["level"], line["client"])
    assert line["user_id"].startswith("pinfl:")
    assert "timestamp" in line


def test_libraries_log_records_become_redacted_json_lines(monkeypatch):
    """A library's own warning (stdlib logging) is written as a JSON line like the gateway's,
    redacted the same way; its debug chatter is not written."""
    import logging

    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, write_through=True)
    monkeypatch.setattr(sys, "stdout", stream)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("info", "json", "k")
        library = logging.getLogger("aiormq.connection")
        library.debug("frame 31205850123456")
        library.warning("unhandled message about %s", "31205850123456")
        lines = [orjson.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        root.handlers, root.level = saved
        structlog.reset_defaults()
    [line] = lines
    assert ("warning", "aiormq.connection") == (line["level"], line["logger"])
    assert "31205850123456" not in line["event"]
    assert line["event"].startswith("unhandled message about pinfl:")
