"""Crime report (statement about a crime) as registered by a law-enforcement agency."""

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas.base import Address, CanonicalRecord, PersonRef
from schemas.fields import (
    TASHKENT,
    AgencyCode,
    CriminalCodeArticle,
    DocumentNumber,
    PastDate,
    PastDatetime,
    Region,
)


class Severity(StrEnum):
    """Class of a crime by gravity (Criminal Code of Uzbekistan, art. 15)."""

    MINOR = "minor"
    LESS_GRAVE = "less_grave"
    GRAVE = "grave"
    ESPECIALLY_GRAVE = "especially_grave"


class CrimeReportStatus(StrEnum):
    """Where a crime report stands."""

    REGISTERED = "registered"
    UNDER_REVIEW = "under_review"
    CASE_OPENED = "case_opened"
    REFUSED = "refused"
    TRANSFERRED = "transferred"
    CLOSED = "closed"


class CrimeReport(CanonicalRecord):
    """A registered report of a crime."""

    schema_id: ClassVar[str] = "crime_report/1"

    report_number: DocumentNumber
    registered_at: PastDatetime
    incident_date: PastDate | None = None
    registering_agency: AgencyCode
    region: Region
    criminal_code_articles: Annotated[list[CriminalCodeArticle], Field(min_length=1)]
    severity: Severity
    status: CrimeReportStatus
    summary: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    applicant: PersonRef | None = None
    location: Address | None = None

    @field_validator("incident_date")
    @classmethod
    def _incident_not_after_registration(
        cls, value: date | None, info: ValidationInfo
    ) -> date | None:
        """Refuse an incident date after the (Tashkent) date of registration."""
        registered_at = info.data.get("registered_at")
        if value is None or registered_at is None:
            return value
        registered_on = registered_at.astimezone(TASHKENT).date()
        if value > registered_on:
            raise PydanticCustomError(
                "incident_after_registration",
                "incident_date ({incident_date}) must not be after the date of registered_at "
                "({registered_on}, Tashkent time)",
                {"incident_date": value.isoformat(), "registered_on": registered_on.isoformat()},
            )
        return value
