"""Reusable annotated field types for the canonical records, with explicit error messages.

Every check raises :class:`pydantic_core.PydanticCustomError` with a stable error ``type``
(e.g. ``pinfl_format``) and a message that says what is wrong, so adapters can report it as is.
"Today" and "now" are Tashkent time, read through :func:`now` (tests monkeypatch it).
"""

import functools
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Final
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

TASHKENT: Final = ZoneInfo("Asia/Tashkent")
MAX_CLOCK_SKEW: Final = timedelta(minutes=5)

PINFL_PATTERN: Final = r"^[0-9]{14}$"
STIR_PATTERN: Final = r"^[0-9]{9}$"
CRIMINAL_CODE_ARTICLE_PATTERN: Final = r"^[0-9]{1,3}([-.][0-9]{1,2}){0,2}$"
AGENCY_CODE_PATTERN: Final = r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$"
AGENCY_CODE_MAX_LENGTH: Final = 64
DOCUMENT_NUMBER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9/._-]*$"
DOCUMENT_NUMBER_MAX_LENGTH: Final = 40
PERSON_NAME_MAX_LENGTH: Final = 100


def now() -> datetime:
    """Return the current time as an aware datetime in Tashkent."""
    return datetime.now(TASHKENT)


def today() -> date:
    """Return today's date in Tashkent, derived from :func:`now`."""
    return now().astimezone(TASHKENT).date()


def _matching(
    pattern: str, error_type: str, message: str, *, label: str, max_length: int | None = None
) -> Callable[[str], str]:
    """Build a validator that refuses strings over ``max_length`` or not matching ``pattern``."""
    compiled = re.compile(pattern, re.ASCII)

    def validate(value: str) -> str:
        if max_length is not None and len(value) > max_length:
            raise PydanticCustomError(
                "string_too_long",
                "{label} must be at most {max_length} characters",
                {"label": label, "max_length": max_length},
            )
        if compiled.fullmatch(value) is None:
            raise PydanticCustomError(error_type, message)
        return value

    return validate


def _string_schema(
    pattern: str, description: str, *, min_length: int | None = None, max_length: int | None = None
) -> WithJsonSchema:
    """Describe a validated string in JSON Schema (pattern, lengths, description)."""
    schema: dict[str, str | int] = {"type": "string", "pattern": pattern}
    if min_length is not None:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    schema["description"] = description
    return WithJsonSchema(schema)


Pinfl = Annotated[
    str,
    AfterValidator(
        _matching(PINFL_PATTERN, "pinfl_format", "PINFL must be exactly 14 digits", label="PINFL")
    ),
    _string_schema(
        PINFL_PATTERN,
        "Personal identification number (PINFL), 14 digits",
        min_length=14,
        max_length=14,
    ),
]
"""Personal identification number of a natural person: exactly 14 ASCII digits."""

Stir = Annotated[
    str,
    AfterValidator(
        _matching(STIR_PATTERN, "stir_format", "STIR must be exactly 9 digits", label="STIR")
    ),
    _string_schema(
        STIR_PATTERN,
        "Taxpayer identification number (STIR/INN), 9 digits",
        min_length=9,
        max_length=9,
    ),
]
"""Taxpayer identification number: exactly 9 ASCII digits."""

CriminalCodeArticle = Annotated[
    str,
    AfterValidator(
        _matching(
            CRIMINAL_CODE_ARTICLE_PATTERN,
            "criminal_code_article_format",
            "Criminal Code article must look like 169, 169-2 or 278-1.3",
            label="Criminal Code article",
        )
    ),
    _string_schema(
        CRIMINAL_CODE_ARTICLE_PATTERN,
        "Article of the Criminal Code of Uzbekistan, e.g. 169, 169-2, 278-1.3",
    ),
]
"""Article (with optional part and item) of the Criminal Code, e.g. ``278-1.3``."""

AgencyCode = Annotated[
    str,
    AfterValidator(
        _matching(
            AGENCY_CODE_PATTERN,
            "agency_code_format",
            "agency code must be lowercase dot-separated segments of a-z, 0-9 and '-', "
            "starting with a letter, e.g. mvd.tashkent-city",
            label="agency code",
            max_length=AGENCY_CODE_MAX_LENGTH,
        )
    ),
    _string_schema(
        AGENCY_CODE_PATTERN,
        "Code of an agency or system, e.g. mvd.tashkent-city",
        min_length=1,
        max_length=AGENCY_CODE_MAX_LENGTH,
    ),
]
"""Code of an agency or one of its units, e.g. ``mvd.tashkent-city``."""

DocumentNumber = Annotated[
    str,
    AfterValidator(
        _matching(
            DOCUMENT_NUMBER_PATTERN,
            "document_number_format",
            "document number must start with a letter or digit and contain only "
            "letters, digits and / . _ -",
            label="document number",
            max_length=DOCUMENT_NUMBER_MAX_LENGTH,
        )
    ),
    _string_schema(
        DOCUMENT_NUMBER_PATTERN,
        "Number of a report, decision, case or inspection",
        min_length=1,
        max_length=DOCUMENT_NUMBER_MAX_LENGTH,
    ),
]
"""Number of a report, decision, case or inspection: 1..40 of A-Z a-z 0-9 / . _ -."""

_APOSTROPHES: Final = frozenset("'ʻʼ’`")
_NAME_SEPARATORS: Final = frozenset(" -") | _APOSTROPHES


@functools.lru_cache(maxsize=4096)
def _letter_script(char: str) -> str | None:
    """Return "Latin" or "Cyrillic" for a letter of that script, else None."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    if name.startswith("LATIN "):
        return "Latin"
    if name.startswith("CYRILLIC "):
        return "Cyrillic"
    return None


_SEPARATOR_CLASS: Final = "".join(sorted(_NAME_SEPARATORS - {"-"})) + "-"
#: names of the common letters of one script: accepted without looking at each character
_COMMON_NAME: Final = re.compile(
    f"[{_SEPARATOR_CLASS}]*(?:[A-Za-z][A-Za-z{_SEPARATOR_CLASS}]*"
    f"|[А-Яа-яЁёЎўҚқҒғҲҳ][А-Яа-яЁёЎўҚқҒғҲҳ{_SEPARATOR_CLASS}]*)"
)


def _validate_person_name(value: str) -> str:
    """Normalise whitespace (NFC, collapsed) and refuse digits, symbols and mixed scripts."""
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if len(name) <= PERSON_NAME_MAX_LENGTH and _COMMON_NAME.fullmatch(name):
        return name  # letters of one script (Latin or Cyrillic) and separators, at least one
    return check_person_name(name)


def check_person_name(name: str) -> str:
    """``name`` (normalised) checked character by character: the full rule."""
    if not name:
        raise PydanticCustomError("person_name_empty", "name must not be empty")
    if len(name) > PERSON_NAME_MAX_LENGTH:
        raise PydanticCustomError(
            "string_too_long",
            "name must be at most {max_length} characters",
            {"max_length": PERSON_NAME_MAX_LENGTH},
        )
    scripts: set[str] = set()
    for char in name:
        if char in _NAME_SEPARATORS:
            continue
        if unicodedata.category(char) == "Nd" or char.isdigit():
            raise PydanticCustomError("person_name_digits", "name must not contain digits")
        script = _letter_script(char)
        if script is None:
            raise PydanticCustomError(
                "person_name_character",
                "name contains a character that is not allowed: {character}; use Latin or "
                "Cyrillic letters, spaces, hyphens and apostrophes",
                {"character": f"{char!r} (U+{ord(char):04X})"},
            )
        scripts.add(script)
    if not scripts:
        raise PydanticCustomError("person_name_no_letters", "name must contain letters")
    if len(scripts) > 1:
        raise PydanticCustomError(
            "person_name_mixed_scripts",
            "name mixes Latin and Cyrillic letters; write it in one script",
        )
    return name


PersonName = Annotated[
    str,
    AfterValidator(_validate_person_name),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": PERSON_NAME_MAX_LENGTH,
            "description": "Name in Latin or Cyrillic letters (one script), spaces, hyphens "
            "and apostrophes",
        }
    ),
]
"""A person's name: 1..100 chars, letters of one script (Latin or Cyrillic) and separators."""


def _not_after_today(value: date) -> date:
    """Refuse a date after today (Tashkent time)."""
    current = today()
    if value > current:
        raise PydanticCustomError(
            "date_in_future",
            "date must not be after today ({today}, Tashkent time)",
            {"today": current.isoformat()},
        )
    return value


def _require_aware(value: datetime) -> datetime:
    """Refuse a naive datetime."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "datetime_naive",
            "datetime must include a timezone offset, e.g. 2024-05-01T10:00:00+05:00",
        )
    return value


def _not_in_future(value: datetime) -> datetime:
    """Refuse a naive datetime or one more than the allowed clock skew ahead of now."""
    value = _require_aware(value)
    current = now()
    if value > current + MAX_CLOCK_SKEW:
        raise PydanticCustomError(
            "datetime_in_future",
            "datetime must not be more than {minutes} minutes in the future (now is {now})",
            {
                "minutes": int(MAX_CLOCK_SKEW.total_seconds() // 60),
                "now": current.astimezone(TASHKENT).isoformat(timespec="seconds"),
            },
        )
    return value


PastDate = Annotated[date, AfterValidator(_not_after_today)]
"""A date not after today in Tashkent."""

ZonedDatetime = Annotated[datetime, AfterValidator(_require_aware)]
"""A timezone-aware datetime (naive values refused)."""

PastDatetime = Annotated[datetime, AfterValidator(_not_in_future)]
"""A timezone-aware datetime at most 5 minutes (clock skew) after now."""


class Region(StrEnum):
    """Region of Uzbekistan by its SOATO code."""

    KARAKALPAKSTAN = "1735"
    ANDIJAN = "1703"
    BUKHARA = "1706"
    JIZZAKH = "1708"
    KASHKADARYA = "1710"
    NAVOI = "1712"
    NAMANGAN = "1714"
    SAMARKAND = "1718"
    SURKHANDARYA = "1722"
    SYRDARYA = "1724"
    TASHKENT_REGION = "1727"
    FERGANA = "1730"
    KHOREZM = "1733"
    TASHKENT_CITY = "1726"
