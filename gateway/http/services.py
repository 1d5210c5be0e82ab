"""``POST /v1/services/{service}``: a record request, answered with the canonical record.

Checks in a fixed order, each with its own code: the caller's key or certificate (401), the
service (404 ``client.unknown_service``), the caller's right to it (403), whether it is
enabled (503 ``gateway.disabled``), the rate limits (429 ``client.rate_limited``), what the
service requires
(400 ``client.missing_user_id`` / ``client.missing_issue``), the query (415, 413, 400, 422).
Then the request goes through RabbitMQ to the service's provider worker and its reply comes
back as the answer, or as the provider's error: 404 ``provider.not_found``, 502
``provider.fault`` / ``provider.unavailable`` / ``provider.bad_answer``, 504
``provider.timeout``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from gateway.errors import (
    AccessDeniedError,
    BadRequestError,
    DisabledError,
    GatewayError,
    NotFoundError,
    SchemaViolationError,
    provider_error,
)
from gateway.http.access import ACCESS
from gateway.http.feeds import parse_json, read_body
from gateway.http.middleware import optional_header
from gateway.http.state import GATEWAY
from gateway.ratelimit import admit
from gateway.routing import RoutingTable, ServiceSpec
from gateway.security import authenticate_request
from gateway.services import Reply
from gateway.services import messages as m
from schemas import Query

_HEADERS = {"user_id": "X-User-Id", "issue": "X-Issue"}


async def call_service(request: web.Request) -> web.Response:
    """Answer a record request from the service's provider, through RabbitMQ."""
    gateway = request.app[GATEWAY]
    now = gateway.in_force  # one table for the whole request, whatever a reload does meanwhile
    access = request[ACCESS]
    client, name, service = open_service(request, now.table, request.match_info["service"])
    await admit(gateway.limiter, now.table, client, "service", name)
    access.user_id = optional_header(request, "X-User-Id")
    access.issue = optional_header(request, "X-Issue")
    check_required(name, service, access.user_id, access.issue, _HEADERS)
    body = await read_body(request, gateway.settings.max_body_bytes, ("application/json",))
    access.bytes_in = len(body)
    access.request_sha256 = hashlib.sha256(body).hexdigest()
    answer = await ask(request, now.queries[name], name, service, client, parse_json(body))
    out = orjson.dumps(
        {
            "service": name,
            "answer": orjson.Fragment(answer),
            "correlation_id": access.correlation_id,
        }
    )
    access.response_sha256 = hashlib.sha256(out).hexdigest()
    return web.Response(body=out, content_type="application/json")


def open_service(
    request: web.Request, table: RoutingTable, name: str
) -> tuple[str, str, ServiceSpec]:
    """(client, service name, service) once the caller is known and may call the service
    (401, 404, 403, 503 ``gateway.disabled``, in that order); recorded in the access
    record."""
    access = request[ACCESS]
    if access.kind == "other":  # a WSDL download keeps its own kind
        access.kind = "service"
    client = authenticate_request(request, table)
    access.client = client
    service = table.services.get(name)
    if service is None or request.app[GATEWAY].services is None:
        raise NotFoundError(f"no service named {name!r}", code="client.unknown_service")
    access.service = name
    if not table.may_call(client, service):
        raise AccessDeniedError(f"system {client!r} may not call service {name!r}")
    if not service.enabled:
        raise DisabledError(
            f"service {name!r} is disabled (enabled: false in the routing table)",
            retry_after=request.app[GATEWAY].settings.retry_after,
        )
    return client, name, service


def check_required(
    name: str,
    service: ServiceSpec,
    user_id: str | None,
    issue: str | None,
    given_as: Mapping[str, str],
) -> None:
    """400 ``client.missing_user_id`` / ``client.missing_issue`` when the service requires
    what the caller did not say; ``given_as`` names where it is said (a header)."""
    given = {"user_id": user_id, "issue": issue}
    for field in service.require:
        if given[field] is None:
            raise BadRequestError(
                f"service {name!r} requires {given_as[field]}: "
                + ("who asks" if field == "user_id" else "the case number the request is for"),
                code=f"client.missing_{field}",
            )


async def ask(
    request: web.Request,
    query_model: type[Query],
    name: str,
    service: ServiceSpec,
    client: str,
    data: Any,
) -> bytes:
    """Validate the query ``data`` as ``query_model`` (422), ask the service's provider through
    RabbitMQ, and return the canonical answer's JSON; the provider's error is raised. Fills
    the access record's subject and latencies."""
    gateway = request.app[GATEWAY]
    access = request[ACCESS]
    try:
        query = query_model.model_validate(data)
    except ValidationError as exc:
        raise SchemaViolationError(
            f"the request is invalid for {query_model.query_id}",
            details={"problems": _problems(exc)},
        ) from exc
    access.subject = query.subject()
    headers = {m.CLIENT: client, m.CORRELATION: access.correlation_id}
    if access.user_id is not None:
        headers[m.USER_ID] = access.user_id
    if access.issue is not None:
        headers[m.ISSUE] = access.issue
    assert gateway.services is not None  # open_service refused the request otherwise
    started = time.perf_counter()
    reply = await gateway.services.request(
        name,
        query.model_dump_json().encode(),
        query_id=query_model.query_id,
        timeout=service.timeout,
        headers=headers,
    )
    access.provider_ms = reply.provider_ms
    access.service_ms = round((time.perf_counter() - started) * 1000, 3)
    if reply.answer is None:
        raise _reply_error(reply)
    return reply.answer


def _reply_error(reply: Reply) -> GatewayError:
    code = reply.code or "gateway.internal"
    if code.startswith("provider."):
        return provider_error(code, reply.message)
    error = GatewayError(f"the provider worker refused the request: {reply.message}", code=code)
    error.status = reply.status or 500  # type: ignore[misc]
    return error


def _problems(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(p) for p in error["loc"]) or "<request>",
            "message": "unknown field"
            if error["type"] == "extra_forbidden"
            else "required field is missing"
            if error["type"] == "missing"
            else str(error["msg"]),
        }
        for error in exc.errors(include_url=False, include_input=False)
    ]
