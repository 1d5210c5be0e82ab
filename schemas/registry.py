"""The registry of canonical record models by schema id ("name/version")."""

import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Final, TypeVar, overload

from schemas.base import CanonicalRecord
from schemas.records import RECORDS

_SCHEMA_ID: Final = re.compile(r"([a-z][a-z0-9_]*)/([1-9][0-9]*)", re.ASCII)
_T = TypeVar("_T")
_MISSING: Final = object()


def parse_schema_id(schema_id: str) -> tuple[str, int]:
    """Split a schema id like "crime_report/1" into its name and version."""
    match = _SCHEMA_ID.fullmatch(schema_id)
    if match is None:
        raise ValueError(
            f"invalid schema id {schema_id!r}: expected <name>/<version> with a lower_snake "
            "name and a positive version, e.g. 'crime_report/1'"
        )
    return match[1], int(match[2])


class UnknownSchemaError(KeyError):
    """The schema id is not in the registry."""

    def __init__(self, schema_id: str, known: Iterable[str]) -> None:
        """Remember the unknown id and the known ones."""
        super().__init__(schema_id)
        self.schema_id = schema_id
        self.known = tuple(sorted(known))

    def __str__(self) -> str:
        """Name the unknown id and list the known ones."""
        known = ", ".join(self.known) or "none"
        return f"unknown schema {self.schema_id!r}; known schemas: {known}"


class SchemaRegistry(Mapping[str, type[CanonicalRecord]]):
    """Immutable mapping of schema id to record model; iterates ids in sorted order."""

    __slots__ = ("_models",)

    def __init__(self, models: Iterable[type[CanonicalRecord]]) -> None:
        """Register the models under their ``schema_id``; refuse bad or duplicate ids."""
        by_id: dict[str, type[CanonicalRecord]] = {}
        for model in models:
            schema_id = getattr(model, "schema_id", None)
            if not isinstance(schema_id, str):
                raise TypeError(f"{model.__qualname__} has no schema_id")
            parse_schema_id(schema_id)
            if schema_id in by_id:
                raise ValueError(
                    f"schema id {schema_id!r} registered twice: "
                    f"{by_id[schema_id].__qualname__} and {model.__qualname__}"
                )
            by_id[schema_id] = model
        self._models = MappingProxyType(dict(sorted(by_id.items())))

    def __getitem__(self, schema_id: str) -> type[CanonicalRecord]:
        """Return the model for the id; raise UnknownSchemaError if there is none."""
        try:
            return self._models[schema_id]
        except KeyError:
            raise UnknownSchemaError(schema_id, self._models) from None

    @overload
    def get(self, schema_id: str, /) -> type[CanonicalRecord]: ...
    @overload
    def get(self, schema_id: str, default: _T, /) -> type[CanonicalRecord] | _T: ...
    def get(self, schema_id: str, default: object = _MISSING, /) -> object:
        """Return the model for the id; without a default, raise UnknownSchemaError if unknown."""
        if default is _MISSING:
            return self[schema_id]
        return self._models.get(schema_id, default)

    def __contains__(self, schema_id: object) -> bool:
        """Tell whether the id is registered."""
        return schema_id in self._models

    def __iter__(self) -> Iterator[str]:
        """Iterate over the ids in sorted order."""
        return iter(self._models)

    def __len__(self) -> int:
        """Return the number of registered models."""
        return len(self._models)

    def ids(self) -> list[str]:
        """Return the registered ids, sorted."""
        return list(self._models)

    def __repr__(self) -> str:
        """Show the registered ids."""
        return f"SchemaRegistry({self.ids()!r})"


REGISTRY: Final = SchemaRegistry(RECORDS)
"""The registry of every canonical record this package defines."""
