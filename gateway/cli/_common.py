"""What several subcommands share: loading the routing table with the shipped adapters."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel

from gateway.errors import RoutingConfigError
from gateway.routing import RoutingTable, load_routing_table

if TYPE_CHECKING:
    from aiohttp import web

    from gateway.runtime import Gateway

DEFAULT_ROUTING = "routing.yaml"


def default_routing_file() -> str:
    """``$GATEWAY_ROUTING``, else ``routing.yaml`` in the working directory."""
    return os.environ.get("GATEWAY_ROUTING", DEFAULT_ROUTING)


def schema_models() -> Mapping[str, type[BaseModel]]:
    """Schema id → canonical model, for every schema the gateway ships."""
    from schemas import REGISTRY

    return REGISTRY


def load_table(path: str) -> RoutingTable | None:
    """The compiled table, or None after printing every problem to stderr."""
    from adapters import ADAPTERS
    from adapters.providers import PROVIDERS

    try:
        return load_routing_table(
            path, schemas=schema_models(), adapters=ADAPTERS, providers=PROVIDERS
        )
    except RoutingConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{path}: refused, {len(exc.problems)} problem(s)", file=sys.stderr)
        return None


def build_gateway(table: RoutingTable, *, run_workers: bool) -> Gateway:
    """The gateway for ``table`` with everything the package ships, configured from the
    environment, its logging set up."""
    from adapters import ADAPTERS
    from adapters.outbound import deliverer_for
    from adapters.providers import PROVIDERS
    from gateway.config import Settings
    from gateway.log import configure_logging
    from gateway.runtime import Gateway

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, settings.redaction_key)
    return Gateway(
        settings,
        table,
        adapters=ADAPTERS,
        schemas=schema_models(),
        deliverers=deliverer_for,
        providers=PROVIDERS,
        run_workers=run_workers,
    )


GC_YOUNG_THRESHOLD: Final = 50_000
"""Allocations between two collections of the cyclic garbage collector's young generation
(Python's default is 700: a collection every few requests)."""


def tune_garbage_collector() -> None:
    """Once the gateway has started: move what start-up built (modules, schemas, the routing
    table, the adapters) out of the cyclic collector's sight (``gc.freeze``) and collect the
    young generation every GC_YOUNG_THRESHOLD allocations, the older ones as often relative to
    it as by default. The objects a request or a record makes are freed by reference counting
    when it is done; the collector only looks for cycles, and at Python's default it spent a
    large share of the gateway's CPU under load looking for them among objects that live for
    the whole process."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def serve_http(app: web.Application, gateway: Gateway, host: str, port: int) -> None:
    """Serve ``app`` (over HTTPS when ``GATEWAY_TLS_CERT`` is set) until SIGTERM or Ctrl-C (a
    graceful stop), reloading the routing table on SIGHUP."""
    from aiohttp import web

    from gateway.security import server_ssl_context

    try:
        ssl_context = server_ssl_context(gateway.settings)
    except ValueError as exc:  # names the setting that is wrong
        print(f"gateway: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc

    async def reload_on_sighup(_app: web.Application) -> None:
        gateway.reloader.reload_on_sighup()
        tune_garbage_collector()

    app.on_startup.append(reload_on_sighup)  # after the gateway's own start
    web.run_app(
        app,
        host=host,
        port=port,
        ssl_context=ssl_context,
        access_log=None,
        print=None,
        shutdown_timeout=gateway.settings.shutdown_timeout,
    )
