"""Every request passes here: correlation id, error translation, access log, metrics."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

import orjson
import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

from gateway.audit import AuditWriter
from gateway.audit.http import exchange_entry
from gateway.errors import (
    AuditUnavailableError,
    BadRequestError,
    GatewayError,
    InternalError,
    NotFoundError,
    PayloadTooLargeError,
)
from gateway.http.access import ACCESS, AccessRecord, access_log, new_error_id
from gateway.http.state import GATEWAY
from gateway.metrics import Metrics

log = structlog.get_logger("gateway.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HEADER_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
#: paths that are probed every few seconds and would drown the access log
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
#: paths whose exchanges the audit log does not record (probes, the public API description)
_UNAUDITED_PATHS = _QUIET_PATHS | {"/openapi.json"}


def optional_header(request: web.Request, name: str) -> str | None:
    """A caller-supplied identifier header, checked for shape (400 naming the header)."""
    value = request.headers.get(name)
    if value is None or value == "":
        return None
    if not HEADER_VALUE.fullmatch(value):
        raise BadRequestError(
            f"header {name} must be 1-128 characters of letters, digits and ._:/- "
            "starting with a letter or digit",
            code="client.bad_header",
        )
    return value


def error_response(error: GatewayError, error_id: str) -> web.Response:
    """The contract's error body: ``{"error": {"code", "message", "error_id", ...}}``."""
    body = {"error": {"code": error.code, "message": error.message, "error_id": error_id}}
    body["error"].update(error.details)
    return web.Response(
        body=orjson.dumps(body),
        status=error.status,
        content_type="application/json",
        headers=error.headers,
    )


class ErrorRenderer(Protocol):
    """Renders an error under its error_id: ``error_response`` unless a handler says otherwise."""

    def __call__(self, error: GatewayError, error_id: str) -> web.Response: ...


ERROR_RENDERER = web.RequestKey("error_renderer", ErrorRenderer)
"""Where a handler puts its channel's renderer (SOAP Faults), before anything can fail."""


def _from_http_exception(exc: web.HTTPException) -> GatewayError:
    if isinstance(exc, web.HTTPNotFound):
        return NotFoundError("no such endpoint", code="client.not_found")
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return PayloadTooLargeError("the request body is too large")
    error = GatewayError(exc.reason, code=f"client.http_{exc.status}")
    error.status = exc.status  # type: ignore[misc]
    if isinstance(exc, web.HTTPMethodNotAllowed):
        error.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
    return error


def make_middleware(metrics: Metrics) -> Middleware:
    """The middleware, bound to the gateway's metrics."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            correlation_id = optional_header(request, "X-Correlation-Id") or str(uuid.uuid4())
            bad_correlation = None
        except BadRequestError as exc:
            correlation_id, bad_correlation = str(uuid.uuid4()), exc
        access = AccessRecord(request.method, request.path, correlation_id)
        request[ACCESS] = access
        audit = None if request.path in _UNAUDITED_PATHS else request.app[GATEWAY].audit
        with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
            response: web.StreamResponse
            try:
                if bad_correlation is not None:
                    raise bad_correlation
                if audit is not None and request.app[GATEWAY].settings.audit_required:
                    audit.refuse_if_unavailable()  # before anything is served: never unlogged
                response = await handler(request)
            except GatewayError as exc:
                response = _failed(request, access, exc)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                response = _failed(request, access, _from_http_exception(exc))
            except Exception:
                access.error_id = new_error_id()
                log.exception("http.unhandled", error_id=access.error_id, path=request.path)
                response = _failed(
                    request, access, InternalError("internal error"), access.error_id
                )
            response.headers["X-Correlation-Id"] = correlation_id
            access.status = response.status
            access.bytes_out = response.content_length or 0
            if audit is not None and access.error_code != AuditUnavailableError.default_code:
                response = await _audited(request, access, response, audit)
            if request.path not in _QUIET_PATHS:
                target = access.feed or access.service or ""
                metrics.requests.labels(access.kind, target, str(response.status)).inc()
                if access.error_code is not None:
                    metrics.errors.labels(access.kind, target, access.error_code).inc()
                if target:
                    metrics.request_seconds.labels(target).observe(access.latency_ms() / 1000)
                access_log.info("access", **access.event())
            return response

    return middleware


def _failed(
    request: web.Request, access: AccessRecord, error: GatewayError, error_id: str | None = None
) -> web.Response:
    access.error_id = error_id or new_error_id()
    access.error_code = error.code
    if access.outcome != "partial":  # a batch of which some records were published says so
        access.outcome = "error"
    render: ErrorRenderer = request.get(ERROR_RENDERER, error_response)
    return render(error, access.error_id)


async def _audited(
    request: web.Request, access: AccessRecord, response: web.StreamResponse, audit: AuditWriter
) -> web.StreamResponse:
    """``response`` once the exchange's audit record is durable; if it cannot be written,
    503 ``gateway.audit_unavailable`` instead (or, with GATEWAY_AUDIT_REQUIRED=false,
    ``response`` and an error in the log)."""
    gateway = request.app[GATEWAY]
    try:
        try:
            entry = await exchange_entry(request, access, response, gateway.table)
        except Exception as exc:
            log.exception("audit.entry_failed", path=request.path)
            raise AuditUnavailableError(
                f"the audit record could not be built: {exc!r}",
                retry_after=gateway.settings.retry_after,
            ) from exc
        await audit.append(entry)
    except AuditUnavailableError as exc:
        if not gateway.settings.audit_required:
            log.error("audit.not_recorded", error=exc.message, status=access.status)
            return response
        failed = _failed(request, access, exc)
        failed.headers["X-Correlation-Id"] = access.correlation_id
        access.status = failed.status
        access.bytes_out = failed.content_length or 0
        return failed
    return response
