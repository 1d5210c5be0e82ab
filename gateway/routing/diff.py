"""What a new routing table changes: entries added, removed and changed, section by section."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from gateway.routing.spec import RoutingSpec

SECTIONS = ("systems", "groups", "feeds", "routes", "destinations", "services")


def routing_diff(old: RoutingSpec, new: RoutingSpec) -> dict[str, dict[str, list[str]]]:
    """Per section, the names ``added``, ``removed`` and ``changed`` (only what is not empty);
    routes are compared by name and content (their order decides nothing: every route whose
    conditions hold is taken)."""
    diff: dict[str, dict[str, list[str]]] = {}
    for section in SECTIONS:
        before, after = _entries(old, section), _entries(new, section)
        changes = {
            "added": sorted(after.keys() - before.keys()),
            "removed": sorted(before.keys() - after.keys()),
            "changed": sorted(
                name for name in before.keys() & after.keys() if before[name] != after[name]
            ),
        }
        changes = {kind: names for kind, names in changes.items() if names}
        if changes:
            diff[section] = changes
    return diff


def describe(diff: Mapping[str, Mapping[str, list[str]]]) -> str:
    """One line for the log: ``feeds +a -b ~c; routes ~r`` (``nothing changed`` when empty)."""
    marks = {"added": "+", "removed": "-", "changed": "~"}
    parts = []
    for section, changes in diff.items():
        names = [f"{marks[kind]}{name}" for kind, found in changes.items() for name in found]
        parts.append(f"{section} {' '.join(names)}")
    return "; ".join(parts) or "nothing changed"


def _entries(spec: RoutingSpec, section: str) -> dict[str, Any]:
    value = getattr(spec, section)
    if section == "routes":
        return {route.name: route.model_dump() for route in value}
    return {name: _comparable(entry) for name, entry in value.items()}


def _comparable(entry: Any) -> Any:
    return entry.model_dump() if isinstance(entry, BaseModel) else entry
