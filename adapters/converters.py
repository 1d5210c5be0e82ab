"""Small converters for native values: dates, local times, code tables, full names.

Each takes one native value and returns the canonical one, or raises ValueError with a message
that the ministry can act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

TASHKENT = ZoneInfo("Asia/Tashkent")


_DOTTED_DATE = re.compile(r"([0-9]{2})\.([0-9]{2})\.([0-9]{4})")


def dotted_date(value: Any) -> str:
    """``"19.11.2026"`` (DD.MM.YYYY) → ``"2026-11-19"``."""
    text = _text(value)
    try:
        if _DOTTED_DATE.fullmatch(text) is None:
            raise ValueError
        return date(int(text[6:]), int(text[3:5]), int(text[:2])).isoformat()
    except ValueError:
        raise ValueError(f"expected a date as DD.MM.YYYY, got {text!r}") from None


def iso_date(value: Any) -> str:
    """``"2015-03-01"`` → itself, once known to be a real date."""
    text = _text(value)
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def tashkent_datetime(value: Any) -> str:
    """``"2026-11-20 10:15:00"`` (Tashkent wall clock, no offset) → ISO 8601 with +05:00.

    A value that already carries an offset keeps it.
    """
    text = _text(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a time as YYYY-MM-DD HH:MM:SS, got {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=TASHKENT)
    return parsed.isoformat()


def code_table(table: Mapping[str, str], what: str) -> Callable[[Any], str]:
    """A converter from a ministry's code (string or number) to a canonical enum value."""

    def convert(value: Any) -> str:
        key = str(value).strip()
        if isinstance(value, bool) or key not in table:
            known = ", ".join(sorted(table))
            raise ValueError(f"unknown {what} code {value!r} (known: {known})")
        return table[key]

    return convert


def comma_list(value: Any) -> list[str]:
    """``"169-2, 97"`` → ``["169-2", "97"]``; a JSON array passes through as strings."""
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    items = [item.strip() for item in _text(value).split(",")]
    return [item for item in items if item]


def full_name(value: Any) -> dict[str, str]:
    """``"KARIMOV ANVAR ALIYEVICH"`` → last, first and (if present) patronymic, in title case.

    Uzbek patronymics of two words (``"Aliy oʻgʻli"``) are kept together.
    """
    words = _text(value).split()
    if len(words) < 2:
        raise ValueError(f"expected at least a last and a first name, got {value!r}")
    last, first, *rest = (_title(w) for w in words)
    out = {"last_name": last, "first_name": first}
    if rest:
        out["patronymic"] = " ".join(rest)
    return out


def soato_region(value: Any) -> str:
    """A SOATO code of any depth (``"1726273"``) → its region part (``"1726"``)."""
    text = _text(value)
    if not re.fullmatch(r"17[0-9]{2}[0-9]*", text):
        raise ValueError(f"expected a SOATO code starting with 17, got {text!r}")
    return text[:4]


def _title(word: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return str(value).strip()
