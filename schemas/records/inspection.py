"""Inspection (audit) of a business entity by a controlling agency."""

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, NonNegativeInt, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas import fields
from schemas.base import CanonicalRecord, PersonRef
from schemas.fields import AgencyCode, DocumentNumber, Stir


class InspectionKind(StrEnum):
    """Why an inspection takes place."""

    PLANNED = "planned"
    UNPLANNED = "unplanned"
    COUNTER = "counter"


class InspectionStatus(StrEnum):
    """Where an inspection stands."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


class Inspection(CanonicalRecord):
    """An inspection of a business entity identified by STIR."""

    schema_id: ClassVar[str] = "inspection/1"

    inspection_number: DocumentNumber
    inspecting_agency: AgencyCode
    subject_stir: Stir
    kind: InspectionKind
    status: InspectionStatus
    legal_basis: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    start_date: date
    end_date: date | None = Field(default=None, validate_default=True)
    violations_found: NonNegativeInt | None = None
    inspector: PersonRef | None = None

    @field_validator("end_date")
    @classmethod
    def _end_date(cls, value: date | None, info: ValidationInfo) -> date | None:
        """Refuse an end before the start; require a past end once completed."""
        start_date = info.data.get("start_date")
        if value is not None and start_date is not None and value < start_date:
            raise PydanticCustomError(
                "end_before_start",
                "end_date ({end_date}) must not be before start_date ({start_date})",
                {"end_date": value.isoformat(), "start_date": start_date.isoformat()},
            )
        if info.data.get("status") is InspectionStatus.COMPLETED:
            if value is None:
                raise PydanticCustomError(
                    "end_date_missing", "end_date is required when status is completed"
                )
            current = fields.today()
            if value > current:
                raise PydanticCustomError(
                    "end_date_in_future",
                    "end_date ({end_date}) must not be after today ({today}, Tashkent time) "
                    "when status is completed",
                    {"end_date": value.isoformat(), "today": current.isoformat()},
                )
        return value
