"""The AMQP properties of a published record, encoded without pamqp's per-value dispatch.

Every record the gateway publishes carries the same set of basic properties (content type and
encoding, persistent delivery, message and correlation id, timestamp, type, app id) and a
headers table of short strings (the envelope). pamqp encodes each value through a table of
encoders, type checks and a sorted copy of the headers: at thousands of records a second it
is a tenth of the gateway's CPU. :class:`RecordProperties` writes the same bytes (AMQP 0-9-1
§4.2.6.1: property flags, then each present property in order; a field table's entries sorted
by name, strings as long strings ``S``) directly, and falls back to pamqp's encoder for
anything outside that shape (a header that is not a string, a key or a short string too long),
so the bytes on the wire never depend on which encoder ran. tests/gateway/broker/
test_properties.py compares both encoders byte for byte.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from datetime import datetime
from typing import Final

import aiormq

_Properties = aiormq.spec.Basic.Properties
_SLOTS: Final = _Properties.__slots__
_FLAGS: Final = _Properties.flags
_SHORT: Final = frozenset(name for name in _SLOTS if _Properties.amqp_type(name) == "shortstr")
_LENGTH: Final = struct.Struct(">I")
_U16: Final = struct.Struct(">H")
_U64: Final = struct.Struct(">Q")
_MAX_KEY: Final = 128  # bytes of a field table key (pamqp truncates longer ones)


class RecordProperties(_Properties):
    """``Basic.Properties`` whose ``marshal()`` is the fast encoder above.

    It declares no ``__slots__`` of its own on purpose: pamqp reads the class's ``__slots__``
    for the property names (``len()``, iteration, its own encoder), so they must stay the
    parent's."""

    def marshal(self) -> bytes:
        """The property flags and the present properties, as pamqp would write them."""
        try:
            return _marshal(self)
        except _Unusual:
            return bytes(super().marshal())


class _Unusual(Exception):
    """A value outside the shape the fast encoder writes: pamqp's encoder takes it."""


def _short(value: object) -> bytes:
    if not isinstance(value, str):
        raise _Unusual
    data = value.encode("utf-8")
    if len(data) > 255:
        raise _Unusual
    return bytes((len(data),)) + data


def _table(headers: object) -> bytes:
    if not isinstance(headers, dict):
        raise _Unusual
    parts = []
    for key, value in sorted(headers.items()):
        if not isinstance(key, str) or not isinstance(value, str):
            raise _Unusual
        name = key.encode("utf-8")
        if len(name) > _MAX_KEY:
            raise _Unusual
        data = value.encode("utf-8")
        parts.append(b"%c%sS%s%s" % (len(name), name, _LENGTH.pack(len(data)), data))
    body = b"".join(parts)
    return _LENGTH.pack(len(body)) + body


def _marshal(properties: _Properties) -> bytes:
    flags = 0
    parts = []
    for name in _SLOTS:
        value = getattr(properties, name)
        if value is None or value == "":
            continue
        flags |= _FLAGS[name]
        if name in _SHORT:
            parts.append(_short(value))
        elif name == "headers":
            parts.append(_table(value) if value else b"\x00\x00\x00\x00")
        elif name in ("delivery_mode", "priority"):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 255:
                raise _Unusual
            parts.append(bytes((value,)))
        elif name == "timestamp":
            if not isinstance(value, datetime) or value.utcoffset() is None:
                raise _Unusual
            parts.append(_U64.pack(int(value.timestamp())))
        else:
            raise _Unusual
    return _U16.pack(flags) + b"".join(parts)


def record_properties(
    *,
    message_id: str,
    correlation_id: str,
    schema_id: str,
    timestamp: datetime,
    headers: Mapping[str, str],
    app_id: str,
) -> RecordProperties:
    """The properties of a canonical record: JSON in UTF-8, persistent, the envelope's ids,
    time and schema, and its fields in ``headers``."""
    return RecordProperties(
        content_type="application/json",
        content_encoding="utf-8",
        headers=dict(headers),
        delivery_mode=2,  # persistent
        message_id=message_id,
        correlation_id=correlation_id,
        timestamp=timestamp,
        message_type=schema_id,
        app_id=app_id,
    )
