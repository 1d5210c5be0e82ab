"""The seam between the gateway and a ministry's native format.

An inbound adapter turns one native record (parsed JSON) into a canonical dict, which the
gateway then validates against the feed's canonical schema. When validation fails, the adapter
names the native field behind a canonical one, so the ministry is told about *its* field.
Routing, retries, dedup and logging never live in an adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

NativeType = Literal["string", "integer", "number", "boolean"]
"""The JSON type of a native leaf field."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with one field of a native record."""

    field: str
    message: str
    canonical: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The JSON form used in error bodies."""
        out = {"field": self.field, "message": self.message}
        if self.canonical is not None and self.canonical != self.field:
            out["canonical_field"] = self.canonical
        return out


class MappingError(ValueError):
    """A native record cannot be mapped; ``problems`` names every field at fault."""

    def __init__(
        self, problems: Sequence[FieldProblem], partial: dict[str, Any] | None = None
    ) -> None:
        self.problems = tuple(problems)
        #: what could be mapped, so the canonical schema can still report on the rest
        self.partial = partial
        super().__init__("; ".join(f"{p.field or '<record>'}: {p.message}" for p in problems))


@dataclass(frozen=True, slots=True)
class NativeField:
    """One field of a native record, as a sender writes it: a leaf of a JSON type, or a nested
    object of ``fields``. Data only: the SOAP channel turns it into a WSDL and reads XML by it."""

    name: str
    type: NativeType = "string"
    fields: tuple[NativeField, ...] | None = None  # a nested object's fields (``type`` unused)
    repeated: bool = False  # a JSON array of such values
    required: bool = False

    @property
    def nested(self) -> bool:
        """True for a nested object."""
        return self.fields is not None


NativeShape = tuple[NativeField, ...]
"""The fields of a native record, in the order a sender is expected to write them."""


class InboundAdapter(Protocol):
    """Turns a ministry's native record into the canonical form of one schema."""

    @property
    def name(self) -> str: ...

    @property
    def schema_id(self) -> str: ...

    def to_canonical(self, native: Any) -> dict[str, Any]:
        """Map one native record; raise MappingError naming the native fields at fault."""
        ...

    def native_field(self, canonical_path: Sequence[str | int]) -> str:
        """The native field behind a canonical field path (for error messages)."""
        ...

    def native_shape(self) -> NativeShape:
        """The native record's fields: names, JSON types, nesting, repetition, required ones."""
        ...


def format_path(path: Sequence[str | int]) -> str:
    """``("applicant", "pinfl")`` → ``applicant.pinfl``; ``("articles", 0)`` → ``articles[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
