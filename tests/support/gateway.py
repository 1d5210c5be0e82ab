"""A gateway serving the repository's routing.yaml on loopback, with a unique namespace."""

from collections.abc import Mapping
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from adapters import ADAPTERS
from adapters.providers import PROVIDERS
from gateway.config import Settings
from gateway.http import make_app
from gateway.routing import RoutingTable, compile_routing_table
from gateway.runtime import Gateway
from gateway.security import server_ssl_context
from schemas import REGISTRY
from tests.support import keys
from tests.support.records import ROUTING_YAML


def repository_table(env: Mapping[str, str] = keys.ENV) -> RoutingTable:
    """The repository's routing.yaml, compiled with the test keys."""
    return compile_routing_table(
        ROUTING_YAML.read_text(encoding="utf-8"),
        str(ROUTING_YAML),
        schemas=REGISTRY,
        adapters=ADAPTERS,
        providers=PROVIDERS,
        env=env,
    )


async def serve(
    settings: Settings,
    table: RoutingTable | None = None,
    *,
    wait_ready: bool = True,
    **options: Any,
) -> tuple[Gateway, TestClient[Any, Any]]:
    """Start a gateway and an HTTP client for it (the caller closes the client).

    ``options`` go to Gateway (deliverers, store, run_workers, env). With
    ``settings.tls_cert`` the server speaks HTTPS, as ``gateway run`` does.
    """
    options.setdefault("providers", PROVIDERS)
    options.setdefault("env", keys.ENV)  # for reloads
    gateway = Gateway(
        settings, table or repository_table(), adapters=ADAPTERS, schemas=REGISTRY, **options
    )
    server = TestServer(make_app(gateway))
    await server.start_server(ssl=server_ssl_context(settings))
    client: TestClient[Any, Any] = TestClient(server)
    await client.start_server()  # started already: only binds the client to it
    if wait_ready:
        await gateway.broker.wait_ready(15)
        await gateway.wait_workers(15)
    return gateway, client
