"""Field types: identifiers, names, clock-bound dates, codes and regions."""

import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from schemas import fields
from schemas.fields import (
    AgencyCode,
    CriminalCodeArticle,
    DocumentNumber,
    PastDate,
    PastDatetime,
    PersonName,
    Pinfl,
    Region,
    Stir,
    ZonedDatetime,
    _validate_person_name,
    check_person_name,
)

PINFL: TypeAdapter[str] = TypeAdapter(Pinfl)
STIR: TypeAdapter[str] = TypeAdapter(Stir)
NAME: TypeAdapter[str] = TypeAdapter(PersonName)
PAST_DATE: TypeAdapter[date] = TypeAdapter(PastDate)
PAST_DATETIME: TypeAdapter[datetime] = TypeAdapter(PastDatetime)
ZONED: TypeAdapter[datetime] = TypeAdapter(ZonedDatetime)
ARTICLE: TypeAdapter[str] = TypeAdapter(CriminalCodeArticle)
AGENCY: TypeAdapter[str] = TypeAdapter(AgencyCode)
DOCUMENT: TypeAdapter[str] = TypeAdapter(DocumentNumber)


def only_error(adapter: TypeAdapter[Any], value: object) -> ErrorDetails:
    """Validate a value expected to fail with exactly one error and return that error."""
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(value)
    errors = caught.value.errors()
    assert 1 == len(errors)
    return errors[0]


def test_pinfl_of_14_digits_is_accepted() -> None:
    """A PINFL of exactly 14 ASCII digits is kept as is."""
    assert "31203860123456" == PINFL.validate_python("31203860123456")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("3120386012345", id="13-digits"),
        pytest.param("312038601234567", id="15-digits"),
        pytest.param("3120386012345A", id="letter"),
        pytest.param("٣١٢٠٣٨٦٠١٢٣٤٥٦", id="arabic-indic-digits"),
        pytest.param("3120386012345\n", id="trailing-newline"),
    ],
)
def test_pinfl_not_of_14_ascii_digits_is_refused(value: str) -> None:
    """Anything but exactly 14 ASCII digits is refused with a PINFL message."""
    error = only_error(PINFL, value)
    assert ("pinfl_format", "PINFL must be exactly 14 digits") == (error["type"], error["msg"])


def test_pinfl_as_integer_is_refused() -> None:
    """A PINFL given as a number is refused (leading zeros would be lost)."""
    assert "string_type" == only_error(PINFL, 31203860123456)["type"]


def test_stir_of_9_digits_is_accepted() -> None:
    """A STIR of exactly 9 ASCII digits is kept as is."""
    assert "301234567" == STIR.validate_python("301234567")


@pytest.mark.parametrize("value", ["30123456", "3012345678", "30123456X", "٣٠١٢٣٤٥٦٧"])
def test_stir_not_of_9_ascii_digits_is_refused(value: str) -> None:
    """Anything but exactly 9 ASCII digits is refused with a STIR message."""
    error = only_error(STIR, value)
    assert ("stir_format", "STIR must be exactly 9 digits") == (error["type"], error["msg"])


@pytest.mark.parametrize(
    "value",
    [
        "Oʻgʻiloy",
        "Gʻulomov",
        "O'g'iloy",
        "Ma’rufjon",
        "Тўхтаев",
        "Ёқубов",
        "Ҳамроқулов",
        "Abdulla-Xoʻja",
        "Римский-Корсаков",
        "Müller",
        "van der Berg",
    ],
)
def test_name_in_one_script_is_accepted(value: str) -> None:
    """Latin or Cyrillic names, Uzbek letters and separators included, are accepted as is."""
    assert value == NAME.validate_python(value)


def test_name_whitespace_is_collapsed() -> None:
    """Leading, trailing and repeated whitespace is stripped and collapsed to one space."""
    assert "Abdulla Qodiriy" == NAME.validate_python("  Abdulla \t  Qodiriy ")


def test_name_is_normalised_to_nfc() -> None:
    """A decomposed Cyrillic letter (у + breve) is composed to ў."""
    assert "Тўхтаев" == NAME.validate_python(unicodedata.normalize("NFD", "Тўхтаев"))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Тoшматов", id="latin-o-in-cyrillic"),
        pytest.param("Tошматов", id="cyrillic-in-latin"),
        pytest.param("Иван Ivanov", id="two-words"),
    ],
)
def test_name_mixing_latin_and_cyrillic_is_refused(value: str) -> None:
    """A name with both Latin and Cyrillic letters is refused (homoglyph guard)."""
    error = only_error(NAME, value)
    assert "person_name_mixed_scripts" == error["type"]
    assert "mixes Latin and Cyrillic letters" in error["msg"]


@pytest.mark.parametrize("value", ["Abdulla2", "Иван3", "Ali٣"])
def test_name_with_digits_is_refused(value: str) -> None:
    """Digits, ASCII or not, are refused in names."""
    error = only_error(NAME, value)
    assert ("person_name_digits", "name must not contain digits") == (error["type"], error["msg"])


@pytest.mark.parametrize(
    "value", ["Ali@Valiyev", "Ali_Valiyev", "Ali.", "Ωmega", "Ａli", "Ali\u20dd"]
)
def test_name_with_other_characters_is_refused(value: str) -> None:
    """Symbols, other scripts, full-width letters and stray combining marks are refused."""
    assert "person_name_character" == only_error(NAME, value)["type"]


def test_name_message_names_the_character() -> None:
    """The refusal names the offending character and its code point."""
    assert "'@' (U+0040)" in only_error(NAME, "Ali@Valiyev")["msg"]


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_name_is_refused(value: str) -> None:
    """An empty or blank name is refused."""
    assert "person_name_empty" == only_error(NAME, value)["type"]


def test_name_of_separators_only_is_refused() -> None:
    """A name without letters is refused."""
    assert "person_name_no_letters" == only_error(NAME, "-'-")["type"]


def test_name_of_100_characters_is_accepted() -> None:
    """A name of exactly 100 characters is accepted."""
    assert 100 == len(NAME.validate_python("A" * 100))


def test_name_over_100_characters_is_refused() -> None:
    """A name longer than 100 characters (after collapsing) is refused."""
    assert "string_too_long" == only_error(NAME, "A" * 101)["type"]


def test_past_date_today_is_accepted(fixed_clock: datetime) -> None:
    """Today (Tashkent) is not in the future."""
    assert fixed_clock.date() == PAST_DATE.validate_python(fixed_clock.date())


def test_past_date_tomorrow_is_refused(fixed_clock: datetime) -> None:
    """Tomorrow is refused, naming today's date."""
    error = only_error(PAST_DATE, fixed_clock.date() + timedelta(days=1))
    assert ("date_in_future", "date must not be after today (2024-06-15, Tashkent time)") == (
        error["type"],
        error["msg"],
    )


def test_past_date_uses_tashkent_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 20:30 UTC it is already the next day in Tashkent (UTC+5), so that day is accepted."""
    monkeypatch.setattr(fields, "now", lambda: datetime(2024, 6, 15, 20, 30, tzinfo=UTC))
    assert date(2024, 6, 16) == PAST_DATE.validate_python("2024-06-16")


def test_today_reads_the_clock_function(fixed_clock: datetime) -> None:
    """fields.today() follows the (patched) fields.now()."""
    assert date(2024, 6, 15) == fields.today()


def test_past_datetime_naive_is_refused() -> None:
    """A datetime without offset is refused with a message asking for one."""
    error = only_error(PAST_DATETIME, "2024-06-15T10:00:00")
    assert "datetime_naive" == error["type"]
    assert "timezone offset" in error["msg"]


def test_past_datetime_one_hour_ahead_is_refused(fixed_clock: datetime) -> None:
    """One hour ahead of now is beyond the 5-minute clock skew."""
    error = only_error(PAST_DATETIME, fixed_clock + timedelta(hours=1))
    assert "datetime_in_future" == error["type"]


def test_past_datetime_one_minute_ahead_is_accepted(fixed_clock: datetime) -> None:
    """One minute ahead of now is within the clock skew."""
    ahead = fixed_clock + timedelta(minutes=1)
    assert ahead == PAST_DATETIME.validate_python(ahead)


def test_past_datetime_compares_across_offsets() -> None:
    """07:04 UTC is 12:04 in Tashkent: within the skew of 12:00 Tashkent."""
    expected = datetime(2024, 6, 15, 7, 4, tzinfo=UTC)
    assert expected == PAST_DATETIME.validate_python("2024-06-15T07:04:00Z")


def test_past_datetime_keeps_the_given_offset() -> None:
    """The offset the sender gave is kept, not converted."""
    parsed = PAST_DATETIME.validate_python("2024-06-15T03:00:00+03:00")
    assert timedelta(hours=3) == parsed.utcoffset()


def test_zoned_datetime_naive_is_refused() -> None:
    """ZonedDatetime refuses naive values but has no future bound."""
    assert "datetime_naive" == only_error(ZONED, datetime(2030, 1, 1))["type"]


@pytest.mark.parametrize("value", ["169", "169-2", "278-1.3", "25.1", "1-2-3"])
def test_criminal_code_article_is_accepted(value: str) -> None:
    """Articles with up to two parts/items are accepted."""
    assert value == ARTICLE.validate_python(value)


@pytest.mark.parametrize("value", ["", "1690", "169-", "169-123", "169-1.2.3", "ст.169", "169a"])
def test_malformed_criminal_code_article_is_refused(value: str) -> None:
    """Malformed article numbers are refused."""
    assert "criminal_code_article_format" == only_error(ARTICLE, value)["type"]


@pytest.mark.parametrize("value", ["mvd", "mvd.tashkent-city", "gp.region-1703", "soliq.a.b"])
def test_agency_code_is_accepted(value: str) -> None:
    """Lowercase dotted agency codes are accepted."""
    assert value == AGENCY.validate_python(value)


@pytest.mark.parametrize("value", ["", "MVD", "1mvd", "mvd..x", "mvd.", "mvd_x", "mvd tash"])
def test_malformed_agency_code_is_refused(value: str) -> None:
    """Agency codes with capitals, leading digits, empty segments or other symbols are refused."""
    assert "agency_code_format" == only_error(AGENCY, value)["type"]


def test_agency_code_over_64_characters_is_refused() -> None:
    """An agency code longer than 64 characters is refused as too long."""
    assert "string_too_long" == only_error(AGENCY, "a" * 65)["type"]


@pytest.mark.parametrize("value", ["1", "1-105/2024", "KUSP.2024_77", "A" * 40])
def test_document_number_is_accepted(value: str) -> None:
    """Document numbers of letters, digits and / . _ - are accepted."""
    assert value == DOCUMENT.validate_python(value)


@pytest.mark.parametrize("value", ["", "/1", "-1", "No 5", "№5", "5#"])
def test_malformed_document_number_is_refused(value: str) -> None:
    """Empty numbers, a leading separator, spaces and other symbols are refused."""
    assert "document_number_format" == only_error(DOCUMENT, value)["type"]


def test_document_number_over_40_characters_is_refused() -> None:
    """A document number longer than 40 characters is refused as too long."""
    assert "string_too_long" == only_error(DOCUMENT, "A" * 41)["type"]


def test_region_has_the_14_soato_codes() -> None:
    """Region lists the 14 regions by SOATO code."""
    expected = {
        "1703", "1706", "1708", "1710", "1712", "1714", "1718",
        "1722", "1724", "1726", "1727", "1730", "1733", "1735",
    }  # fmt: skip
    assert expected == {region.value for region in Region}


def test_region_is_looked_up_by_code() -> None:
    """Tashkent city is 1726 and Tashkent region 1727."""
    assert (Region.TASHKENT_CITY, Region.TASHKENT_REGION) == (Region("1726"), Region("1727"))


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from("AZaz" + "АЯаяЁёЎўҚқҒғҲҳ" + " -'`ʻʼ’" + "09Ω‘_" + "\u0306\u0482"),
        max_size=30,
    )
)
def test_the_common_name_shortcut_decides_as_the_full_check(value: str) -> None:
    """Names of the common letters are accepted without the character-by-character check;
    whatever the shortcut takes, the full check takes too, and gives the same name."""
    try:
        full = ("ok", check_person_name(" ".join(unicodedata.normalize("NFC", value).split())))
    except PydanticCustomError as exc:
        full = ("refused", exc.type)
    try:
        fast = ("ok", _validate_person_name(value))
    except PydanticCustomError as exc:
        fast = ("refused", exc.type)
    assert full == fast
