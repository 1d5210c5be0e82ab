"""The admin API: ``POST /admin/reload`` and ``GET /admin/routing``, behind the admin key.

The key is ``GATEWAY_ADMIN_KEY``, sent as ``Authorization: Bearer <key>``; without it set,
the admin API answers 403 to everyone. A system's API key is never an admin key.
"""

from __future__ import annotations

import hashlib
import hmac

import orjson
from aiohttp import web

from gateway.errors import AccessDeniedError, AuthenticationError, RoutingRefusedError
from gateway.http.access import ACCESS
from gateway.http.state import GATEWAY


def _require_admin(request: web.Request) -> None:
    access = request[ACCESS]
    access.kind = "admin"
    expected = request.app[GATEWAY].settings.admin_key
    if not expected:
        raise AccessDeniedError(
            "the admin API is disabled: set GATEWAY_ADMIN_KEY to enable it",
            code="client.admin_disabled",
        )
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthenticationError(
            "no admin key: send Authorization: Bearer <GATEWAY_ADMIN_KEY>",
            code="client.missing_key",
        )
    # compare digests: constant time, whatever the lengths
    sent = hashlib.sha256(key.strip().encode("utf-8")).digest()
    if not hmac.compare_digest(sent, hashlib.sha256(expected.encode("utf-8")).digest()):
        raise AuthenticationError("wrong admin key", code="client.unknown_key")
    access.client = "admin"


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


async def reload_routing(request: web.Request) -> web.Response:
    """Reload routing.yaml now: 200 with what changed, or 422 with the file's problems."""
    _require_admin(request)
    outcome = await request.app[GATEWAY].reloader.reload("POST /admin/reload")
    if outcome.status == "refused":
        raise RoutingRefusedError(
            "the routing file was not put in force; the table in force keeps serving",
            details={"problems": list(outcome.problems), "sha256": outcome.sha256},
        )
    return _json({"status": outcome.status, "sha256": outcome.sha256, "diff": outcome.diff})


async def routing_status(request: web.Request) -> web.Response:
    """The table in force (source, content hash, load time, what it holds) and the last
    refused file's problems."""
    _require_admin(request)
    return _json(request.app[GATEWAY].reloader.status())


def add_admin_routes(app: web.Application) -> None:
    """Register the admin API on ``app``."""
    app.router.add_post("/admin/reload", reload_routing)
    app.router.add_get("/admin/routing", routing_status)
