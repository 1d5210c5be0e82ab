"""Converters of native values: each gives the canonical value or a clear ValueError."""

import pytest

from adapters import converters


def test_dotted_date_becomes_iso():
    """DD.MM.YYYY → YYYY-MM-DD."""
    assert "2026-11-19" == converters.dotted_date("19.11.2026")


def test_impossible_dotted_date_is_refused():
    """31 February is not a date."""
    with pytest.raises(ValueError, match=r"DD\.MM\.YYYY"):
        converters.dotted_date("31.02.2026")


def test_naive_time_is_taken_as_tashkent_time():
    """A wall-clock time without offset gets +05:00."""
    assert "2026-11-20T10:15:00+05:00" == converters.tashkent_datetime("2026-11-20 10:15:00")


def test_time_with_offset_keeps_it():
    """An explicit offset is kept."""
    assert "2026-11-20T05:15:00+00:00" == converters.tashkent_datetime("2026-11-20T05:15:00Z")


def test_full_name_keeps_a_two_word_patronymic():
    """Uzbek patronymics like "Aliy oʻgʻli" stay together."""
    assert {"last_name": "Karimov", "first_name": "Anvar", "patronymic": "Aliy Oʻgʻli"} == (
        converters.full_name("KARIMOV ANVAR ALIY OʻGʻLI")
    )


def test_single_word_name_is_refused():
    """A full name needs at least a last and a first name."""
    with pytest.raises(ValueError, match="at least a last and a first name"):
        converters.full_name("KARIMOV")


def test_soato_code_gives_its_region():
    """A district SOATO code gives its region's four digits."""
    assert "1726" == converters.soato_region("1726273")


def test_comma_list_splits_and_trims():
    """ "169-2, 97" → ["169-2", "97"]."""
    assert ["169-2", "97"] == converters.comma_list("169-2, 97")


def test_code_table_refuses_booleans():
    """true is not the code "1"."""
    with pytest.raises(ValueError, match="unknown status code True"):
        converters.code_table({"1": "active"}, "status")(True)
