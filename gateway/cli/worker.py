"""``gateway worker``: the delivery and provider workers alone, without the HTTP API.

For scaling the workers apart from the API: run ``gateway run --no-workers`` for the API and
as many ``gateway worker`` processes as the receiving systems and ministries need; they share
RabbitMQ (competing consumers) and the idempotency store. ``--port`` serves the probes, the
metrics and the admin API (``/healthz``, ``/readyz``, ``/metrics``, ``/admin/*``) and nothing
else. Like ``run``, it reloads its routing table on SIGHUP and when the file changes.
"""

from __future__ import annotations

import argparse
from typing import Any

from gateway.cli.run import DEFAULT_HOST


def register(commands: Any) -> None:
    """Add ``worker``."""
    from gateway.cli._common import default_routing_file

    parser = commands.add_parser(
        "worker",
        help="run the delivery and provider workers without the HTTP API",
        description="Run every delivery worker (destinations with deliver:) and provider "
        "worker (services) of the routing table until SIGTERM or Ctrl-C, which stops them "
        "gracefully. Everything else is read from GATEWAY_* environment variables.",
    )
    parser.add_argument(
        "--routing",
        default=default_routing_file(),
        help="routing table (default: $GATEWAY_ROUTING or routing.yaml)",
    )
    parser.add_argument(
        "--port", type=int, help="serve /healthz, /readyz, /metrics and /admin/* on this port"
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="listen address of the probes")
    parser.set_defaults(handler=_worker)


def _worker(args: argparse.Namespace) -> int:
    import structlog

    from gateway.cli._common import build_gateway, load_table, serve_http
    from gateway.http import make_probe_app

    table = load_table(args.routing)
    if table is None:
        return 2
    gateway = build_gateway(table, run_workers=True)
    log = structlog.get_logger("gateway")
    log.info(
        "worker.starting",
        routing=table.source,
        routing_sha256=table.sha256,
        namespace=gateway.settings.namespace,
        workers=[w.label for w in gateway.workers],
        probes_port=args.port,
    )
    if args.port is None:
        _run_without_http(gateway)
    else:
        serve_http(make_probe_app(gateway), gateway, args.host, args.port)
    log.info("worker.stopped")
    return 0


def _run_without_http(gateway: Any) -> None:
    import asyncio
    import signal

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await gateway.start()
        gateway.reloader.reload_on_sighup()
        try:
            await stop.wait()
        finally:
            await gateway.stop_consuming()
            await gateway.aclose()

    asyncio.run(serve())
