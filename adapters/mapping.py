"""Declarative field-by-field mappings from a native JSON record to a canonical one."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel

from adapters.base import (
    FieldProblem,
    MappingError,
    NativeField,
    NativeShape,
    NativeType,
    format_path,
)
from schemas import REGISTRY

Converter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Canonical field ``canonical`` takes native field ``native``, through ``convert``.

    ``native_type`` is the JSON type the ministry sends the value as (a number, say), so that
    channels without JSON types (SOAP) describe and read it as such.
    """

    canonical: str
    native: str
    convert: Converter | None = None
    native_type: NativeType = "string"


class MappingAdapter:
    """An inbound adapter defined by a list of FieldMaps.

    Native fields that no FieldMap names are refused (a ministry's typo must not silently drop
    a PINFL); absent native fields are left out, so the canonical schema reports what is missing,
    under the native name.
    """

    def __init__(self, name: str, schema_id: str, fields: Sequence[FieldMap]) -> None:
        self._name = name
        self._schema_id = schema_id
        self._fields = tuple(fields)
        # (native path, canonical path, converter), paths split once here, not per record
        self._plan = tuple(
            (tuple(f.native.split(".")), tuple(f.canonical.split(".")), f.canonical, f)
            for f in fields
        )
        self._native_leaves = {f.native for f in fields}
        self._native_branches = {
            ".".join(f.native.split(".")[:i])
            for f in fields
            for i in range(1, f.native.count(".") + 1)
        }
        # canonical path -> (native path, whether deeper canonical parts are appended to it);
        # a converted field built its canonical sub-structure itself, so it is named alone
        to_native = {f.canonical: (f.native, f.convert is None) for f in fields}
        for f in fields:  # parents map to parents where both sides are nested alike
            c_parts, n_parts = f.canonical.split("."), f.native.split(".")
            while len(c_parts) > 1 and len(n_parts) > 1:
                c_parts, n_parts = c_parts[:-1], n_parts[:-1]
                to_native.setdefault(".".join(c_parts), (".".join(n_parts), True))
        self._to_native = to_native
        self._shape = _shape_of(self._fields)

    @property
    def name(self) -> str:
        """The adapter's name, as routing.yaml refers to it."""
        return self._name

    @property
    def schema_id(self) -> str:
        """The canonical schema this adapter produces."""
        return self._schema_id

    def to_canonical(self, native: Any) -> dict[str, Any]:
        """Map one native record to a canonical dict."""
        if not isinstance(native, dict):
            raise MappingError(
                [FieldProblem("", f"a record must be a JSON object, not {_json_type(native)}")]
            )
        problems = self._unknown_fields(native, "")
        canonical: dict[str, Any] = {}
        for native_path, canonical_path, canonical_name, field in self._plan:
            value: Any = native
            try:
                for part in native_path:
                    value = value[part]
            except (KeyError, TypeError, IndexError):
                continue  # absent: the canonical schema says whether it was required
            if field.convert is not None and value is not None:
                try:
                    value = field.convert(value)
                except (ValueError, TypeError) as exc:
                    problems.append(FieldProblem(field.native, str(exc), canonical_name))
                    continue
            if len(canonical_path) == 1 and not isinstance(value, dict):
                canonical[canonical_path[0]] = value  # what _set does for a top-level value
            else:
                _set(canonical, canonical_path, value)
        if problems:
            raise MappingError(problems, canonical)
        return canonical

    def native_field(self, canonical_path: Sequence[str | int]) -> str:
        """The native name of a canonical field path (longest mapped prefix, rest appended)."""
        parts = list(canonical_path)
        for end in range(len(parts), 0, -1):
            head = [p for p in parts[:end] if isinstance(p, str)]
            if len(head) != end:
                continue
            found = self._to_native.get(".".join(head))
            if found is not None:
                native, append_rest = found
                if not append_rest:
                    return native
                return native + "".join(
                    f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts[end:]
                )
        return format_path(parts)

    def native_shape(self) -> NativeShape:
        """The native fields the FieldMaps name, nested by their dotted paths, in order.

        None is marked required: the canonical schema says what is missing, under the native
        name, with the reason (a SOAP toolkit would only refuse the request).
        """
        return self._shape

    def _unknown_fields(self, native: dict[str, Any], prefix: str) -> list[FieldProblem]:
        problems = []
        for key, value in native.items():
            path = prefix + key if prefix else key
            if path in self._native_leaves:
                continue
            if path in self._native_branches and isinstance(value, dict):
                problems += self._unknown_fields(value, path + ".")
            elif path in self._native_branches and value is None:
                continue
            else:
                problems.append(FieldProblem(path, "unknown field"))
        return problems


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


def _set(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = record
    for part in path[:-1]:
        node = node.setdefault(part, {})
    existing = node.get(path[-1])
    if isinstance(existing, dict) and isinstance(value, dict):
        existing.update(value)  # e.g. a converter's full name beside an already mapped PINFL
    else:
        node[path[-1]] = value


def _shape_of(fields: Sequence[FieldMap]) -> NativeShape:
    """The tree of native fields named by ``fields`` (``arizachi.jshshir`` nests ``jshshir``)."""
    tree: dict[str, Any] = {}  # name -> NativeType of a leaf, or the dict of a nested object
    for f in fields:
        *parents, leaf = f.native.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = f.native_type
    return _fields_of(tree)


def _fields_of(tree: Mapping[str, Any]) -> NativeShape:
    return tuple(
        NativeField(name, fields=_fields_of(node))
        if isinstance(node, dict)
        else NativeField(name, type=node)
        for name, node in tree.items()
    )


_JSON_SCHEMA_TYPES: Mapping[str, NativeType] = {
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
}


@functools.cache
def model_shape(model: type[BaseModel]) -> NativeShape:
    """A pydantic model's fields as a native shape, from its JSON Schema: strings (dates and
    enumerations too), integers, numbers, booleans, arrays and nested objects; required as
    the model requires them."""
    schema = model.model_json_schema()
    return _schema_shape(schema, schema.get("$defs", {}))


def _schema_shape(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> NativeShape:
    """The fields of a JSON Schema object (pydantic's), with ``$ref``s resolved from ``defs``."""
    required = set(schema.get("required", ()))
    return tuple(
        _schema_field(name, prop, defs, name in required)
        for name, prop in schema.get("properties", {}).items()
    )


def _schema_field(
    name: str, prop: Mapping[str, Any], defs: Mapping[str, Any], required: bool
) -> NativeField:
    prop = _resolved(prop, defs)
    if prop.get("type") == "array":
        item = _schema_field(name, prop.get("items", {}), defs, required)
        return replace(item, repeated=True)
    if prop.get("type") == "object" or "properties" in prop:
        return NativeField(name, fields=_schema_shape(prop, defs), required=required)
    # strings of every format (dates, times), enumerations, and anything less simple
    json_type = _JSON_SCHEMA_TYPES.get(str(prop.get("type")), "string")
    return NativeField(name, type=json_type, required=required)


def _resolved(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """``prop`` without ``$ref`` indirections and without the ``null`` of an optional field."""
    while True:
        if "$ref" in prop:
            prop = defs[str(prop["$ref"]).rsplit("/", 1)[-1]]
            continue
        variants = [v for v in prop.get("anyOf", ()) if v.get("type") != "null"]
        if "anyOf" in prop and len(variants) == 1:
            prop = variants[0]
            continue
        return prop


class CanonicalAdapter:
    """For feeds whose senders already speak the canonical schema: records pass as they are."""

    def __init__(self, schema_id: str, model: type[BaseModel] | None = None) -> None:
        self._schema_id = schema_id
        self._name = "canonical." + schema_id.split("/")[0]
        self._model = model
        self._shape: NativeShape | None = None

    @property
    def name(self) -> str:
        """``canonical.<schema name>``."""
        return self._name

    @property
    def schema_id(self) -> str:
        """The canonical schema records are validated against."""
        return self._schema_id

    def to_canonical(self, native: Any) -> dict[str, Any]:
        """The record itself, once it is known to be a JSON object."""
        if not isinstance(native, dict):
            raise MappingError(
                [FieldProblem("", f"a record must be a JSON object, not {_json_type(native)}")]
            )
        return dict(native)

    def native_field(self, canonical_path: Sequence[str | int]) -> str:
        """Native and canonical names are the same."""
        return format_path(canonical_path)

    def native_shape(self) -> NativeShape:
        """The canonical model's fields, from its JSON Schema: strings (dates and enumerations
        too), integers, numbers, booleans, arrays and nested objects; required as the model
        requires them."""
        if self._shape is None:
            self._shape = model_shape(self._model or REGISTRY[self._schema_id])
        return self._shape
