"""A gateway whose one destination delivers to a fake receiver, with a short retry ladder."""

import pytest

from adapters import ADAPTERS
from adapters.outbound import deliverer_for
from gateway.routing import compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.receiver import FakeReceiver

ROUTING = """\
version: 1
systems:
  mvd.crime-registry: {{title: Interior, api_keys: ["${{MVD_CRIME_REGISTRY_KEY}}"]}}
feeds:
  crime-reports:
    from: [mvd.crime-registry]
    adapter: mvd.crime_report
    schema: crime_report/1
routes:
  - {{name: all, to: [receiver.inbox]}}
destinations:
  receiver.inbox:
    queue: {{type: {queue_type}}}
    deliver: {{http: {{url: "{url}", timeout: 2s}}}}
    prefetch: 4
    retry: {{delays: [200ms, 200ms], immediate: {{attempts: 2, max_wait: 50ms}}}}
    dedup: {{key: message_id, window: 1d}}
"""


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
        ROUTING.format(url=receiver.url, queue_type="quorum"),
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
