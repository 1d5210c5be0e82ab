"""The shape of routing.yaml: frozen pydantic models that refuse unknown keys.

These models check each value on its own (types, names, patterns, environment references).
Rules that relate one part of the file to another (a route to a destination that exists, a feed
whose schema and adapter are known) are checked when the table is compiled, in ``table.py``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MIN_API_KEY_LENGTH = 16

SystemId = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$", max_length=64)
]
SystemPattern = Annotated[str, StringConstraints(pattern=r"^[a-z0-9*][a-z0-9.*-]*$", max_length=64)]
FeedName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", max_length=64)]
RouteName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9.-]*$", max_length=100)]
DestinationName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$", max_length=100)
]
QueueName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9._-]*$", max_length=200)]
Scalar = str | int | float | bool


def _env(info: ValidationInfo) -> Mapping[str, str]:
    context = info.context or {}
    env: Mapping[str, str] = context.get("env", os.environ)
    return env


def substitute_env(value: str, env: Mapping[str, str]) -> str:
    """Replace every ``${NAME}`` in ``value`` by that environment variable; a missing one fails."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ValueError(f"environment variable {name} is not set")
        return env[name]

    return _ENV_REF.sub(replace, value)


def _api_key_digest(value: str, info: ValidationInfo) -> str:
    match = _ENV_REF.fullmatch(value.strip())
    if match is None:
        raise ValueError(
            "an API key must come from the environment, written as ${VARIABLE}; "
            "never write a key in clear"
        )
    key = substitute_env(value.strip(), _env(info))
    if len(key) < MIN_API_KEY_LENGTH:
        raise ValueError(
            f"the key in {match.group(1)} is too short "
            f"({len(key)} characters, at least {MIN_API_KEY_LENGTH})"
        )
    return api_key_digest(key)


def api_key_digest(key: str) -> str:
    """The form in which the gateway keeps an API key: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


ApiKeyDigest = Annotated[str, AfterValidator(_api_key_digest)]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class SystemSpec(_Spec):
    """A system that may talk to the gateway (a ministry's system, a prosecutorial system)."""

    title: str = Field(min_length=1, max_length=200)
    api_keys: tuple[ApiKeyDigest, ...] = Field(
        default=(), description="${VARIABLE} references; kept only as SHA-256 digests"
    )


class FeedSpec(_Spec):
    """A one-way inbound flow: who may push, how it is mapped, what it becomes."""

    from_: tuple[SystemPattern, ...] = Field(alias="from", min_length=1)
    channel: Literal["rest"] = "rest"
    adapter: str = Field(min_length=1)
    schema_id: str = Field(alias="schema", pattern=r"^[a-z][a-z0-9_]*/[0-9]+$")
    max_batch: int = Field(default=1000, ge=1, le=10_000)
    description: str = ""


class RouteSpec(_Spec):
    """One rule of the routing table: conditions on a message, and where it then goes."""

    name: RouteName
    description: str = ""
    when: dict[str, Scalar | tuple[Scalar, ...]] = Field(default_factory=dict)
    to: tuple[DestinationName, ...] = Field(min_length=1)

    @field_validator("when")
    @classmethod
    def _known_condition_keys(
        cls, value: dict[str, Scalar | tuple[Scalar, ...]]
    ) -> dict[str, Scalar | tuple[Scalar, ...]]:
        for key, expected in value.items():
            if key not in ("schema", "feed", "client") and not re.fullmatch(
                r"payload(\.[A-Za-z_][A-Za-z0-9_]*)+", key
            ):
                raise ValueError(
                    f"unknown condition {key!r}: use schema, feed, client or payload.<field>"
                )
            if isinstance(expected, tuple) and not expected:
                raise ValueError(f"condition {key!r} lists no values")
        return value


class QueueSpec(_Spec):
    """The RabbitMQ queue behind a destination."""

    name: QueueName | None = None
    type: Literal["classic", "quorum"] = "quorum"


class DestinationSpec(_Spec):
    """A receiving system's inbox: a durable queue with its own dead-letter exchange."""

    description: str = ""
    queue: QueueSpec = Field(default_factory=QueueSpec)


class RoutingSpec(_Spec):
    """The whole of routing.yaml."""

    version: Literal[1]
    systems: dict[SystemId, SystemSpec] = Field(default_factory=dict)
    feeds: dict[FeedName, FeedSpec] = Field(default_factory=dict)
    routes: tuple[RouteSpec, ...] = ()
    destinations: dict[DestinationName, DestinationSpec] = Field(default_factory=dict)
