"""``gateway run``: serve HTTP with a routing table."""

from __future__ import annotations

import argparse
import os
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def register(commands: Any) -> None:
    """Add ``run``."""
    from gateway.cli._common import default_routing_file

    parser = commands.add_parser(
        "run",
        help="run the gateway",
        description="Run the gateway. Everything else is read from GATEWAY_* environment "
        "variables (see the README).",
    )
    parser.add_argument(
        "--routing",
        default=default_routing_file(),
        help="routing table (default: $GATEWAY_ROUTING or routing.yaml)",
    )
    parser.add_argument(
        "--host", default=os.environ.get("GATEWAY_HOST", DEFAULT_HOST), help="listen address"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("GATEWAY_PORT", DEFAULT_PORT)),
        help="listen port",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import structlog
    from aiohttp import web

    from adapters import ADAPTERS
    from adapters.outbound import deliverer_for
    from gateway.cli._common import load_table, schema_models
    from gateway.config import Settings
    from gateway.http import make_app
    from gateway.log import configure_logging
    from gateway.runtime import Gateway

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, settings.redaction_key)
    table = load_table(args.routing)
    if table is None:
        return 2
    gateway = Gateway(
        settings, table, adapters=ADAPTERS, schemas=schema_models(), deliverers=deliverer_for
    )
    log = structlog.get_logger("gateway")
    log.info(
        "gateway.starting",
        host=args.host,
        port=args.port,
        routing=table.source,
        routing_sha256=table.sha256,
        namespace=settings.namespace,
    )
    web.run_app(
        make_app(gateway),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        shutdown_timeout=settings.shutdown_timeout,
    )
    log.info("gateway.stopped")
    return 0
