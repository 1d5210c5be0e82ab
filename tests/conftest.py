"""Fixtures shared by every tier: the real RabbitMQ, a unique namespace, a running gateway."""

import itertools
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel

from adapters import ADAPTERS
from adapters.providers import PROVIDERS
from gateway.broker import topology_for
from gateway.config import Settings
from gateway.routing import RoutingTable, compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.amqp import delete_topology
from tests.support.delivery import delivery_routing
from tests.support.gateway import serve
from tests.support.process import GatewayProcess
from tests.support.receiver import FakeReceiver
from tests.support.redis_keys import REDIS_URL, delete_keys

AMQP_URL = os.environ.get("GATEWAY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
RUN_ID = uuid.uuid4().hex[:8]
_sequence = itertools.count()


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The real RabbitMQ; the whole run stops with one clear line when it is unreachable."""
    parsed = urlparse(AMQP_URL)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5672
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        pytest.exit(
            f"RabbitMQ is not reachable at {host}:{port} ({exc}); "
            "start it with: rabbitmq-server -detached",
            returncode=3,
        )
    return AMQP_URL


@pytest.fixture
def namespace() -> str:
    """A namespace for exchanges and queues that no other test or run uses."""
    return f"test.{RUN_ID}.{next(_sequence)}"


@pytest.fixture
def settings(amqp_url: str, namespace: str, tmp_path: Path) -> Settings:
    """Gateway settings pointing at the real RabbitMQ, in this test's namespace, with an
    idempotency store of this test's own (an SQLite file; a Redis prefix if switched)."""
    return Settings(
        amqp_url=amqp_url,
        namespace=namespace,
        publish_timeout=5,
        retry_after=3,
        dedup_sqlite_path=str(tmp_path / "dedup.sqlite3"),
        redis_url=REDIS_URL,
        redis_prefix=f"test:{namespace}",
        drop_root=str(tmp_path / "drop"),  # never the workstation's var/drop
        audit_url=f"sqlite:///{tmp_path / 'audit.sqlite3'}",  # never the workstation's var/
        admin_key="",  # not the workstation's (make exports one); tests that need it set it
    )


@pytest.fixture
async def amqp_channel(amqp_url: str) -> AsyncIterator[AbstractChannel]:
    """A channel of the test's own, to read what the gateway published."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        yield await connection.channel()


@pytest.fixture
async def start_gateway(amqp_url: str) -> AsyncIterator[Callable[..., Any]]:
    """Start gateways with ``await start_gateway(settings, table=None)``; all are closed and
    their queues and exchanges (those they started with and those they ended with) deleted
    after the test."""
    started = []

    async def start(
        settings: Settings, table: Any = None, *, wait_ready: bool = True, **options: Any
    ) -> Any:
        gateway, client = await serve(settings, table, wait_ready=wait_ready, **options)
        started.append((gateway, client, gateway.broker.topology))
        return gateway, client

    yield start
    for gateway, client, first in reversed(started):
        await client.close()
        # a reload may have added queues, or dropped some from the table (not the broker)
        await delete_topology(amqp_url, gateway.broker.topology)
        await delete_topology(amqp_url, first)
        if "redis" in (gateway.settings.dedup_backend, gateway.settings.rate_limit_backend):
            await delete_keys(gateway.settings.redis_prefix)


@pytest.fixture
async def gateway_client(start_gateway: Any, settings: Settings) -> Any:
    """(gateway, HTTP client) for the repository's routing.yaml."""
    return await start_gateway(settings)


@pytest.fixture
async def run_gateway(
    amqp_url: str, namespace: str, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """Start `gateway run` processes with ``await run_gateway(routing_yaml_text, **env)``, in
    this test's namespace, with an SQLite store of the test's own (unless ``env`` says
    otherwise); all are killed and their queues, exchanges and Redis keys deleted afterwards."""
    started: list[tuple[GatewayProcess, RoutingTable]] = []

    async def start(routing: str, **env: str) -> GatewayProcess:
        path = tmp_path / f"routing-{len(started)}.yaml"
        path.write_text(routing, encoding="utf-8")
        table = compile_routing_table(
            routing,
            str(path),
            schemas=REGISTRY,
            adapters=ADAPTERS,
            providers=PROVIDERS,
            env=keys.ENV,
        )
        process = GatewayProcess(
            path,
            tmp_path / f"gateway-{len(started)}.log",
            {
                "GATEWAY_AMQP_URL": amqp_url,
                "GATEWAY_NAMESPACE": namespace,
                "GATEWAY_DEDUP_SQLITE_PATH": str(tmp_path / "dedup.sqlite3"),
                "GATEWAY_REDIS_URL": REDIS_URL,
                "GATEWAY_REDIS_PREFIX": f"test:{namespace}",
                "GATEWAY_DROP_ROOT": str(tmp_path / "drop"),
                "GATEWAY_AUDIT_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}",
                **env,
            },
        )
        started.append((process, table))
        await process.start()
        return process

    yield start
    for process, _ in started:
        await process.kill()
    for _, table in started:
        await delete_topology(amqp_url, topology_for(table, namespace))
    if started:
        await delete_keys(f"test:{namespace}")


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
