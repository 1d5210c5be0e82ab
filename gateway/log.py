"""Structured JSON logs, with personal data redacted by one processor.

Every log line is one JSON object on stdout. Personal identifiers never appear in clear:
PINFLs (wherever they occur, under any key or inside any text) become a keyed hash
``pinfl:<12 hex>`` (equal PINFLs give equal hashes, so an operator can still follow one person
through the log without learning the number), and names, birth dates and passport numbers
become ``***``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import orjson
import structlog

_PINFL = re.compile(r"(?<![0-9])[0-9]{14}(?![0-9])")
#: keys whose values are personal data, in canonical and in ministries' native spellings
PERSONAL_KEYS = frozenset(
    {
        "last_name",
        "first_name",
        "patronymic",
        "full_name",
        "birth_date",
        "passport",
        "familiya",
        "ismi",
        "otasining_ismi",
        "tugilgan_sana",
        "fio",
    }
)
MASK = "***"


class Redactor:
    """A structlog processor: mask names, hash PINFLs, in every value of the event."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def pinfl_hash(self, pinfl: str) -> str:
        """The keyed hash that stands for a PINFL in logs."""
        digest = hmac.new(self._key, pinfl.encode("ascii"), hashlib.sha256).hexdigest()
        return f"pinfl:{digest[:12]}"

    def _hash_match(self, match: re.Match[str]) -> str:
        return self.pinfl_hash(match.group(0))

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in list(event_dict.items()):
            event_dict[key] = self._redact(key, value)
        return event_dict

    def _redact(self, key: str, value: Any) -> Any:
        if value is None:
            return None
        if key in PERSONAL_KEYS:
            return MASK
        kind = type(value)
        if kind is str:
            return _PINFL.sub(self._hash_match, value) if _PINFL.search(value) else value
        if kind is int:
            return self.pinfl_hash(str(value)) if _PINFL.fullmatch(str(value)) else value
        if kind is float or kind is bool:
            return value
        if isinstance(value, Mapping):
            return {k: self._redact(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._redact(key, v) for v in value]
        return value


def configure_logging(level: str = "info", fmt: str = "json", redaction_key: str = "") -> Redactor:
    """Configure structlog once for the process: contextvars, timestamp, redaction, JSON."""
    redactor = Redactor(redaction_key.encode("utf-8") if redaction_key else secrets.token_bytes(32))
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        factory: Any = structlog.BytesLoggerFactory(sys.stdout.buffer)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        factory = structlog.PrintLoggerFactory(sys.stdout)
    _route_standard_logging(level, fmt, redactor)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    return redactor


def _route_standard_logging(level: str, fmt: str, redactor: Redactor) -> None:
    """Libraries' own log records (aio-pika, aiohttp, zeep, ...) become the same JSON lines
    on stdout, through the same redaction; below WARNING they are not written at all."""
    renderer: Any = (
        structlog.processors.JSONRenderer(
            serializer=lambda event, **_: orjson.dumps(event, default=str).decode()
        )
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(max(logging.WARNING, logging.getLevelNamesMapping()[level.upper()]))
