"""``/healthz`` (alive), ``/readyz`` (able to accept), ``/metrics`` (Prometheus)."""

from __future__ import annotations

import orjson
from aiohttp import web

from gateway.http.state import GATEWAY


async def healthz(_request: web.Request) -> web.Response:
    """The process is alive and serving HTTP."""
    return web.Response(body=b'{"status":"alive"}', content_type="application/json")


async def readyz(request: web.Request) -> web.Response:
    """200 when the gateway can accept messages; 503 naming every check that fails."""
    checks = await request.app[GATEWAY].readiness()
    ready = all(problem is None for problem in checks.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {name: problem or "ok" for name, problem in checks.items()},
    }
    return web.Response(
        body=orjson.dumps(body),
        status=200 if ready else 503,
        content_type="application/json",
        headers=None if ready else {"Retry-After": str(request.app[GATEWAY].settings.retry_after)},
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition, with the broker's queue depths read afresh."""
    gateway = request.app[GATEWAY]
    await gateway.refresh_queue_depths()
    gateway_metrics = gateway.metrics
    response = web.Response(body=gateway_metrics.render())
    response.headers["Content-Type"] = gateway_metrics.content_type
    return response
