"""Court decision in a criminal case."""

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas.base import CanonicalRecord, PersonRef
from schemas.fields import CriminalCodeArticle, DocumentNumber, PastDate


class DecisionType(StrEnum):
    """Procedural form of a court decision."""

    VERDICT = "verdict"
    RULING = "ruling"
    JUDGMENT = "judgment"
    RESOLUTION = "resolution"


class DecisionOutcome(StrEnum):
    """What a court decision decided."""

    CONVICTED = "convicted"
    ACQUITTED = "acquitted"
    DISMISSED = "dismissed"
    RETURNED_FOR_INVESTIGATION = "returned_for_investigation"
    OTHER = "other"


class CourtDecision(CanonicalRecord):
    """A decision of a court in a case."""

    schema_id: ClassVar[str] = "court_decision/1"

    decision_number: DocumentNumber
    case_number: DocumentNumber
    court: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    decision_date: PastDate
    decision_type: DecisionType
    outcome: DecisionOutcome
    defendant: PersonRef | None = None
    criminal_code_articles: list[CriminalCodeArticle] = Field(default_factory=list)
    enters_into_force_on: date | None = None

    @field_validator("enters_into_force_on")
    @classmethod
    def _force_not_before_decision(cls, value: date | None, info: ValidationInfo) -> date | None:
        """Refuse an entry into force before the decision date."""
        decision_date = info.data.get("decision_date")
        if value is not None and decision_date is not None and value < decision_date:
            raise PydanticCustomError(
                "force_before_decision",
                "enters_into_force_on ({enters_into_force_on}) must not be before "
                "decision_date ({decision_date})",
                {
                    "enters_into_force_on": value.isoformat(),
                    "decision_date": decision_date.isoformat(),
                },
            )
        return value
