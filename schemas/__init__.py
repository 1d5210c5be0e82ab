"""Canonical, versioned pydantic models of the records E-Integratsiya carries.

Every record is a frozen :class:`CanonicalRecord` with a ``schema_id`` like
``"crime_report/1"``; :data:`REGISTRY` maps ids to models and :class:`Envelope` carries
the metadata of one message.
"""

from schemas.base import Address, CanonicalRecord, PersonRef
from schemas.envelope import Envelope, MessageId
from schemas.export import export_json_schemas
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
)
from schemas.queries import OrganizationByStir, PersonByPinfl, Query
from schemas.records import (
    CaseEvent,
    CaseEventType,
    CourtDecision,
    CrimeReport,
    CrimeReportStatus,
    DecisionOutcome,
    DecisionType,
    Gender,
    Inspection,
    InspectionKind,
    InspectionStatus,
    LegalForm,
    Organization,
    OrganizationStatus,
    Person,
    Severity,
)
from schemas.registry import REGISTRY, SchemaRegistry, UnknownSchemaError, parse_schema_id

__all__ = [
    "REGISTRY",
    "Address",
    "AgencyCode",
    "CanonicalRecord",
    "CaseEvent",
    "CaseEventType",
    "CourtDecision",
    "CrimeReport",
    "CrimeReportStatus",
    "CriminalCodeArticle",
    "DecisionOutcome",
    "DecisionType",
    "DocumentNumber",
    "Envelope",
    "Gender",
    "Inspection",
    "InspectionKind",
    "InspectionStatus",
    "LegalForm",
    "MessageId",
    "Organization",
    "OrganizationByStir",
    "OrganizationStatus",
    "PastDate",
    "PastDatetime",
    "Person",
    "PersonByPinfl",
    "PersonName",
    "PersonRef",
    "Pinfl",
    "Query",
    "Region",
    "SchemaRegistry",
    "Severity",
    "Stir",
    "UnknownSchemaError",
    "ZonedDatetime",
    "export_json_schemas",
    "parse_schema_id",
]
