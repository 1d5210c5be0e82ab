"""The base of every canonical record and the sub-models records share."""

from typing import Annotated, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict, StringConstraints

from schemas.fields import PastDate, PersonName, Pinfl, Region

FROZEN_CONFIG = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class CanonicalRecord(BaseModel):
    """Base of the canonical records: immutable, strict about keys, with a versioned schema id."""

    model_config = FROZEN_CONFIG

    schema_id: ClassVar[str]

    def canonical_json(self) -> bytes:
        """Serialise every field to compact JSON with sorted keys (deterministic bytes)."""
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)


class Address(BaseModel):
    """A postal address: optional region and district, and the address as written."""

    model_config = FROZEN_CONFIG

    region: Region | None = None
    district: Annotated[str, StringConstraints(max_length=100)] | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class PersonRef(BaseModel):
    """A reference to a natural person inside a record (applicant, defendant, director...)."""

    model_config = FROZEN_CONFIG

    pinfl: Pinfl | None = None
    last_name: PersonName
    first_name: PersonName
    patronymic: PersonName | None = None
    birth_date: PastDate | None = None
