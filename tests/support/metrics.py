"""Reading the gateway's Prometheus metrics in tests."""

from typing import Any


def sample(gateway: Any, name: str, **labels: str) -> float:
    """The current value of metric sample ``name`` with ``labels`` (0 when never set)."""
    value = gateway.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else float(value)
