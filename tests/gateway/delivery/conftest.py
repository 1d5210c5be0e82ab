"""A gateway whose one destination delivers to a fake receiver, with a short retry ladder."""

import pytest

from adapters import ADAPTERS
from adapters.outbound import deliverer_for
from gateway.routing import compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.delivery import delivery_routing
from tests.support.receiver import FakeReceiver


@pytest.fixture
async def receiver():
    """The fake receiving system."""
    fake = FakeReceiver()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def delivery_table(receiver):
    """A routing table with one delivering destination (quorum work queue)."""
    return compile_routing_table(
        delivery_routing(receiver.url),
        "delivery.yaml",
        schemas=REGISTRY,
        adapters=ADAPTERS,
        env=keys.ENV,
    )


@pytest.fixture
def delivery_settings(settings, tmp_path):
    """Settings with an SQLite dedup store of this test's own."""
    return settings.model_copy(update={"dedup_sqlite_path": str(tmp_path / "dedup.sqlite3")})


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
