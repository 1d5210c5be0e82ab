"""Procedural event in a criminal case."""

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import StringConstraints

from schemas.base import CanonicalRecord, PersonRef
from schemas.fields import AgencyCode, DocumentNumber, PastDatetime


class CaseEventType(StrEnum):
    """Kind of procedural event in a criminal case."""

    CASE_OPENED = "case_opened"
    SUSPECT_DETAINED = "suspect_detained"
    SUSPECT_RELEASED = "suspect_released"
    CHARGE_BROUGHT = "charge_brought"
    PREVENTIVE_MEASURE_CHOSEN = "preventive_measure_chosen"
    CASE_SUSPENDED = "case_suspended"
    CASE_RESUMED = "case_resumed"
    CASE_SENT_TO_COURT = "case_sent_to_court"
    CASE_CLOSED = "case_closed"


class CaseEvent(CanonicalRecord):
    """An event in a criminal case, reported by the agency that performed it."""

    schema_id: ClassVar[str] = "case_event/1"

    case_number: DocumentNumber
    event_type: CaseEventType
    occurred_at: PastDatetime
    agency: AgencyCode
    subject: PersonRef | None = None
    details: Annotated[str, StringConstraints(max_length=4000)] | None = None
