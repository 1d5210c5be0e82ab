"""What every provider adapter does with an answer: map it, validate it, name what is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from adapters.base import FieldProblem, MappingError
from adapters.mapping import MappingAdapter
from gateway.errors import ProviderAnswerError
from gateway.ingest import canonicalize
from schemas import REGISTRY, Query

Q = TypeVar("Q", bound=Query)


def expect_query(query: Query, kind: type[Q]) -> Q:
    """``query`` as the kind of query the adapter answers (the gateway never sends another)."""
    if not isinstance(query, kind):
        raise TypeError(f"expected a {kind.__name__} query, got {type(query).__name__}")
    return query


def canonical_answer(
    provider: str,
    mapping: MappingAdapter,
    native: Mapping[str, Any],
    *,
    required: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The canonical record (JSON form) of a provider's native answer, or ProviderAnswerError
    naming every native field at fault, with its canonical name beside it.

    ``required`` maps native fields (dotted paths) that the provider's contract requires, even
    where the canonical schema would not notice their absence (a default, an optional parent),
    to their canonical names; a nested one counts only when its parent is present.
    """
    problems = [
        FieldProblem(path, "required field is missing", canonical)
        for path, canonical in (required or {}).items()
        if _missing(native, path)
    ]
    try:
        record = canonicalize(mapping, REGISTRY[mapping.schema_id], dict(native))
    except MappingError as exc:
        reported = {p.field for p in problems}
        problems += [p for p in exc.problems if p.field not in reported]
    if problems:
        described = "; ".join(_describe(p) for p in problems)
        raise ProviderAnswerError(
            f"{provider}'s answer does not map to {mapping.schema_id}: {described}",
            details={"problems": [p.as_dict() for p in problems]},
        )
    return record


def without_nulls(value: Any) -> Any:
    """``value`` with every null member of its objects left out (absent and null are alike)."""
    if isinstance(value, Mapping):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    return value


def _missing(native: Mapping[str, Any], path: str) -> bool:
    node: Any = native
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            return False  # an absent optional parent: its children are not asked for
    return not isinstance(node, Mapping) or node.get(leaf) is None


def _describe(problem: FieldProblem) -> str:
    name = problem.field or "<answer>"
    if problem.canonical and problem.canonical != problem.field:
        name += f" ({problem.canonical})"
    return f"{name}: {problem.message}"
