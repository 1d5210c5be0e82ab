"""Canonical record requests: what a prosecutorial system asks a service for.

A query names its subject by identifier; the service answers with a canonical record
(``person/1``, ``organization/1``, ...). Queries are frozen and refuse unknown fields, like
records, so a typo in a request is a 422 naming the field, not a silent empty lookup.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from schemas.fields import Pinfl, Stir


class Query(BaseModel):
    """Base of every canonical request."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    query_id: ClassVar[str]

    def subject(self) -> str:
        """The identifier of whom or what the request is about (for the access log, where a
        PINFL is hashed by the log's redaction)."""
        raise NotImplementedError


class PersonByPinfl(Query):
    """A natural person, by PINFL."""

    query_id: ClassVar[str] = "person_by_pinfl/1"

    pinfl: Pinfl

    def subject(self) -> str:
        """The PINFL asked about."""
        return self.pinfl


class OrganizationByStir(Query):
    """A legal entity, by STIR (taxpayer number)."""

    query_id: ClassVar[str] = "organization_by_stir/1"

    stir: Stir

    def subject(self) -> str:
        """The STIR asked about."""
        return self.stir
