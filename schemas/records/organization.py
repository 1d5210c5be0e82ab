"""Legal entity or individual entrepreneur as known to the state register."""

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas.base import Address, CanonicalRecord, PersonRef
from schemas.fields import PastDate, Stir


class LegalForm(StrEnum):
    """Organisational and legal form of a business entity."""

    LLC = "llc"
    JSC = "jsc"
    STATE_ENTERPRISE = "state_enterprise"
    PRIVATE_ENTERPRISE = "private_enterprise"
    FAMILY_ENTERPRISE = "family_enterprise"
    FARM = "farm"
    INDIVIDUAL_ENTREPRENEUR = "individual_entrepreneur"
    NON_COMMERCIAL = "non_commercial"
    OTHER = "other"


class OrganizationStatus(StrEnum):
    """Registration status of an organisation."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    IN_LIQUIDATION = "in_liquidation"
    LIQUIDATED = "liquidated"


class Organization(CanonicalRecord):
    """A registered organisation identified by STIR."""

    schema_id: ClassVar[str] = "organization/1"

    stir: Stir
    name: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    legal_form: LegalForm
    status: OrganizationStatus
    registered_on: PastDate
    liquidated_on: PastDate | None = Field(default=None, validate_default=True)
    oked: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")] | None = None
    director: PersonRef | None = None
    address: Address | None = None

    @field_validator("liquidated_on")
    @classmethod
    def _liquidation_date(cls, value: date | None, info: ValidationInfo) -> date | None:
        """Require liquidated_on exactly when liquidated, and not before registered_on."""
        status = info.data.get("status")
        if status is OrganizationStatus.LIQUIDATED and value is None:
            raise PydanticCustomError(
                "liquidation_date_missing", "liquidated_on is required when status is liquidated"
            )
        if status is not None and status is not OrganizationStatus.LIQUIDATED and value is not None:
            raise PydanticCustomError(
                "liquidation_date_unexpected",
                "liquidated_on is allowed only when status is liquidated (status is {status})",
                {"status": status.value},
            )
        registered_on = info.data.get("registered_on")
        if value is not None and registered_on is not None and value < registered_on:
            raise PydanticCustomError(
                "liquidated_before_registration",
                "liquidated_on ({liquidated_on}) must not be before registered_on "
                "({registered_on})",
                {"liquidated_on": value.isoformat(), "registered_on": registered_on.isoformat()},
            )
        return value
