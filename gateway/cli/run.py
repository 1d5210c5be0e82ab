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
    parser.add_argument(
        "--no-workers",
        action="store_true",
        help="serve HTTP only; delivery and provider workers run elsewhere (gateway worker)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import structlog

    from gateway.cli._common import build_gateway, load_table, serve_http
    from gateway.http import make_app

    table = load_table(args.routing)
    if table is None:
        return 2
    gateway = build_gateway(table, run_workers=not args.no_workers)
    settings = gateway.settings
    log = structlog.get_logger("gateway")
    log.info(
        "gateway.starting",
        host=args.host,
        port=args.port,
        routing=table.source,
        routing_sha256=table.sha256,
        namespace=settings.namespace,
        workers=len(gateway.workers),
    )
    serve_http(make_app(gateway), gateway, args.host, args.port)
    log.info("gateway.stopped")
    return 0
