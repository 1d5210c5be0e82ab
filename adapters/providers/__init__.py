"""Provider adapters: the clients of the ministries' services that answer record requests."""

from adapters.providers.base import ProviderAdapter, ProviderClient
from adapters.providers.registry import PROVIDERS

__all__ = ["PROVIDERS", "ProviderAdapter", "ProviderClient"]
