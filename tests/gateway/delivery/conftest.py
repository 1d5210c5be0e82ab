"""A gateway whose one destination delivers to the fake receiver (tests/conftest.py)."""

import pytest

from adapters.outbound import deliverer_for


@pytest.fixture
def delivery_settings(settings):
    """The test's settings (with an SQLite dedup store of its own)."""
    return settings


@pytest.fixture
async def delivering_gateway(start_gateway, delivery_settings, delivery_table):
    """(gateway, client) with the delivery worker running."""
    gateway, client = await start_gateway(
        delivery_settings, delivery_table, deliverers=deliverer_for
    )
    await gateway.wait_workers(15)
    return gateway, client


@pytest.fixture(params=["sqlite", "redis"])
def backend_settings(request, delivery_settings):
    """delivery_settings on each idempotency store backend: SQLite, then the real Redis."""
    return delivery_settings.model_copy(update={"dedup_backend": request.param})
