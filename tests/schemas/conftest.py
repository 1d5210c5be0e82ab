"""Fixtures for the schema tests: a fixed Tashkent clock and one valid sample per record."""

from datetime import datetime
from typing import Any

import pytest

from schemas import fields

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=fields.TASHKENT)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Freeze the schemas' clock at NOW (2024-06-15 12:00 Tashkent)."""
    monkeypatch.setattr(fields, "now", lambda: NOW)
    return NOW


@pytest.fixture
def person_ref_data() -> dict[str, Any]:
    """A valid PersonRef."""
    return {
        "pinfl": "31203860123456",
        "last_name": "Gʻulomov",
        "first_name": "Abdulla",
        "patronymic": "Qodirovich",
        "birth_date": "1986-03-12",
    }


@pytest.fixture
def address_data() -> dict[str, Any]:
    """A valid Address."""
    return {
        "region": "1726",
        "district": "Yunusobod",
        "text": "Amir Temur koʻchasi, 108",
    }


@pytest.fixture
def crime_report_data(
    person_ref_data: dict[str, Any], address_data: dict[str, Any]
) -> dict[str, Any]:
    """A valid CrimeReport."""
    return {
        "report_number": "KUSP-2024/01234",
        "registered_at": "2024-06-14T09:30:00+05:00",
        "incident_date": "2024-06-13",
        "registering_agency": "mvd.tashkent-city",
        "region": "1726",
        "criminal_code_articles": ["169-2", "278-1.3"],
        "severity": "less_grave",
        "status": "registered",
        "summary": "Theft of a mobile phone at a bus stop.",
        "applicant": person_ref_data,
        "location": address_data,
    }


@pytest.fixture
def person_data(address_data: dict[str, Any]) -> dict[str, Any]:
    """A valid Person."""
    return {
        "pinfl": "41503920654321",
        "last_name": "Тўхтаева",
        "first_name": "Ёқутхон",
        "patronymic": None,
        "birth_date": "1992-03-15",
        "gender": "female",
        "passport": "AA1234567",
        "address": address_data,
    }


@pytest.fixture
def organization_data(person_ref_data: dict[str, Any]) -> dict[str, Any]:
    """A valid Organization."""
    return {
        "stir": "301234567",
        "name": "Toshkent Savdo MChJ",
        "legal_form": "llc",
        "status": "active",
        "registered_on": "2015-02-01",
        "oked": "47190",
        "director": person_ref_data,
    }


@pytest.fixture
def inspection_data() -> dict[str, Any]:
    """A valid Inspection."""
    return {
        "inspection_number": "INS-2024-77",
        "inspecting_agency": "soliq.samarkand",
        "subject_stir": "301234567",
        "kind": "unplanned",
        "status": "completed",
        "legal_basis": "Order No. 12 of the State Tax Committee",
        "start_date": "2024-05-02",
        "end_date": "2024-05-20",
        "violations_found": 3,
    }


@pytest.fixture
def court_decision_data(person_ref_data: dict[str, Any]) -> dict[str, Any]:
    """A valid CourtDecision."""
    return {
        "decision_number": "1-105/2024",
        "case_number": "1-105/2024",
        "court": "Yunusobod tumani jinoyat ishlari boʻyicha sudi",
        "decision_date": "2024-06-10",
        "decision_type": "verdict",
        "outcome": "convicted",
        "defendant": person_ref_data,
        "criminal_code_articles": ["169-2"],
        "enters_into_force_on": "2024-07-01",
    }


@pytest.fixture
def case_event_data(person_ref_data: dict[str, Any]) -> dict[str, Any]:
    """A valid CaseEvent."""
    return {
        "case_number": "2024-0001234",
        "event_type": "suspect_detained",
        "occurred_at": "2024-06-15T11:58:00+05:00",
        "agency": "mvd.tashkent-city",
        "subject": person_ref_data,
        "details": "Detained under art. 221 of the Code of Criminal Procedure.",
    }
