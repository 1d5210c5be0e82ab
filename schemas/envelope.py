"""The envelope around every message the gateway carries: who, what, when, and a digest."""

from collections.abc import Mapping
from typing import Annotated, Final, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.fields import AgencyCode, ZonedDatetime

MESSAGE_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
SCHEMA_ID_PATTERN: Final = r"^[a-z][a-z0-9_]*/[0-9]+$"

HEADER_NAMES: Final = (
    "client",
    "feed",
    "service",
    "schema",
    "user_id",
    "issue",
    "received_at",
    "payload_sha256",
)
"""The AMQP header names an envelope travels in (ids travel in the AMQP properties)."""

MessageId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=MESSAGE_ID_PATTERN)
]
"""A message or correlation id: 1..128 of letters, digits and . _ : - (letter/digit first)."""


class Envelope(BaseModel):
    """Metadata of one message: ids, sender, feed or service, schema, user, case and digest."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, populate_by_name=True
    )

    message_id: MessageId
    correlation_id: MessageId
    client: AgencyCode
    feed: Annotated[str, StringConstraints(min_length=1)] | None = None
    service: Annotated[str, StringConstraints(min_length=1)] | None = None
    schema_id: Annotated[str, StringConstraints(pattern=SCHEMA_ID_PATTERN)] = Field(
        validation_alias="schema", serialization_alias="schema"
    )
    user_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    issue: Annotated[str, StringConstraints(max_length=128)] | None = None
    received_at: ZonedDatetime
    payload_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

    @model_validator(mode="after")
    def _exactly_one_of_feed_or_service(self) -> Self:
        """Require exactly one of feed and service."""
        if (self.feed is None) == (self.service is None):
            got = "both" if self.feed is not None else "neither"
            raise ValueError(f"exactly one of feed or service must be set, got {got}")
        return self

    def amqp_headers(self) -> dict[str, str]:
        """Return the set fields (all but the ids) as AMQP header strings."""
        values = {
            "client": self.client,
            "feed": self.feed,
            "service": self.service,
            "schema": self.schema_id,
            "user_id": self.user_id,
            "issue": self.issue,
            "received_at": self.received_at.isoformat(),
            "payload_sha256": self.payload_sha256,
        }
        return {name: value for name, value in values.items() if value is not None}

    @classmethod
    def from_amqp(
        cls, message_id: str | None, correlation_id: str | None, headers: Mapping[str, object]
    ) -> Self:
        """Rebuild an envelope from AMQP message/correlation ids and headers (others ignored)."""
        data: dict[str, object] = {"message_id": message_id, "correlation_id": correlation_id}
        data.update({name: headers[name] for name in HEADER_NAMES if name in headers})
        return cls.model_validate(data)
