"""Every inbound adapter the gateway ships, by the name routing.yaml uses for it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from adapters.base import InboundAdapter
from adapters.mapping import CanonicalAdapter
from adapters.mappings import inspections, mvd, soliq
from schemas import REGISTRY


def _build() -> dict[str, InboundAdapter]:
    adapters: list[InboundAdapter] = [
        mvd.CRIME_REPORT,
        soliq.ORGANIZATION,
        inspections.INSPECTION_CSV,
    ]
    adapters += [CanonicalAdapter(schema_id) for schema_id in REGISTRY.ids()]
    return {adapter.name: adapter for adapter in adapters}


ADAPTERS: Mapping[str, InboundAdapter] = MappingProxyType(_build())
