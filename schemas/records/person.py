"""Natural person as known to the population register."""

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas.base import Address, CanonicalRecord
from schemas.fields import PastDate, PersonName, Pinfl


class Gender(StrEnum):
    """A person's gender as recorded in identity documents."""

    MALE = "male"
    FEMALE = "female"


class Person(CanonicalRecord):
    """A natural person identified by PINFL."""

    schema_id: ClassVar[str] = "person/1"

    pinfl: Pinfl
    last_name: PersonName
    first_name: PersonName
    patronymic: PersonName | None = None
    birth_date: PastDate
    gender: Gender
    citizenship: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "UZB"
    passport: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[0-9]{7}$")] | None = None
    address: Address | None = None
    deceased_on: PastDate | None = None

    @field_validator("deceased_on")
    @classmethod
    def _deceased_not_before_birth(cls, value: date | None, info: ValidationInfo) -> date | None:
        """Refuse a date of death before the date of birth."""
        birth_date = info.data.get("birth_date")
        if value is not None and birth_date is not None and value < birth_date:
            raise PydanticCustomError(
                "deceased_before_birth",
                "deceased_on ({deceased_on}) must not be before birth_date ({birth_date})",
                {"deceased_on": value.isoformat(), "birth_date": birth_date.isoformat()},
            )
        return value
