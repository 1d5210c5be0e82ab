"""The aiohttp application: routes, middleware, and the gateway's lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from gateway.http.admin import add_admin_routes
from gateway.http.feeds import push_feed
from gateway.http.health import healthz, metrics, readyz
from gateway.http.middleware import make_middleware
from gateway.http.openapi import openapi_json
from gateway.http.services import call_service
from gateway.http.soap import soap_post, soap_wsdl
from gateway.http.state import GATEWAY
from gateway.runtime import Gateway

log = structlog.get_logger("gateway")


def make_app(gateway: Gateway) -> web.Application:
    """An application serving ``gateway``; starting it starts the gateway, cleanup closes it."""
    app = make_probe_app(gateway)
    app.router.add_post("/v1/feeds/{feed}", push_feed)
    app.router.add_post("/soap/{name}", soap_post)
    app.router.add_get("/soap/{name}", soap_wsdl)
    app.router.add_post("/v1/services/{service}", call_service)
    app.router.add_get("/openapi.json", openapi_json)  # no key needed, like /healthz
    return app


def make_probe_app(gateway: Gateway) -> web.Application:
    """``/healthz``, ``/readyz``, ``/metrics`` and the admin API alone, with the gateway's
    lifecycle (what ``gateway worker --port`` serves; ``make_app`` adds the API to it)."""
    app = web.Application(
        middlewares=[make_middleware(gateway.metrics)],
        client_max_size=gateway.settings.max_body_bytes,
    )
    app[GATEWAY] = gateway
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    add_admin_routes(app)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await gateway.start()
        yield
        await gateway.aclose()

    async def stopping(_app: web.Application) -> None:
        # The server has stopped listening; in-flight requests finish next, then cleanup
        # closes the gateway. Workers stop taking messages now, finishing those in hand.
        log.info("gateway.stopping")
        await gateway.stop_consuming()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(stopping)
    return app
