"""The canonical records, one module each, and their enums."""

from schemas.records.case_event import CaseEvent, CaseEventType
from schemas.records.court_decision import CourtDecision, DecisionOutcome, DecisionType
from schemas.records.crime_report import CrimeReport, CrimeReportStatus, Severity
from schemas.records.inspection import Inspection, InspectionKind, InspectionStatus
from schemas.records.organization import LegalForm, Organization, OrganizationStatus
from schemas.records.person import Gender, Person

RECORDS = (CrimeReport, Person, Organization, Inspection, CourtDecision, CaseEvent)
"""Every canonical record model, in no particular order."""

__all__ = [
    "RECORDS",
    "CaseEvent",
    "CaseEventType",
    "CourtDecision",
    "CrimeReport",
    "CrimeReportStatus",
    "DecisionOutcome",
    "DecisionType",
    "Gender",
    "Inspection",
    "InspectionKind",
    "InspectionStatus",
    "LegalForm",
    "Organization",
    "OrganizationStatus",
    "Person",
    "Severity",
]
