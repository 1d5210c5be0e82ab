"""Every provider adapter the gateway ships, by the name routing.yaml's services use for it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from adapters.providers import mvd, soliq
from adapters.providers.base import ProviderAdapter


def _build() -> dict[str, ProviderAdapter]:
    adapters: list[ProviderAdapter] = [mvd.PERSON_LOOKUP, soliq.ORGANIZATION_LOOKUP]
    return {adapter.name: adapter for adapter in adapters}


PROVIDERS: Mapping[str, ProviderAdapter] = MappingProxyType(_build())
