"""The audit record of an HTTP exchange (REST, SOAP, admin), built by the middleware."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

from aiohttp import web

from gateway.audit.record import AuditEntry

if TYPE_CHECKING:
    from gateway.http.access import AccessRecord
    from gateway.routing import RoutingTable


REQUEST_BODY = web.RequestKey("request_body", bytes)
"""The request body as the handler read it (whole, within the size limit), kept for the audit
log's hash and, where ``log_body: full``, the body itself."""


async def exchange_entry(
    request: web.Request, access: AccessRecord, response: web.StreamResponse, table: RoutingTable
) -> AuditEntry:
    """The audit entry of an exchange that ``response`` ends: the access record's fields, the
    SHA-256 of both bodies, and the bodies themselves when the feed or service logs them
    in full.

    The request body is the one the handler read (kept under REQUEST_BODY, chunked or not);
    a handler that stopped before reading it (401, 404, ...) leaves ``request_sha256`` empty.
    """
    request_body = await _request_body(request, access)
    response_body = _response_body(response)
    full = _logs_bodies(table, access)
    latency_ms = access.latency_ms()
    return AuditEntry(
        time=time.time() - latency_ms / 1000,
        kind=access.kind,
        method=access.method,
        path=access.path,
        client=access.client,
        feed=access.feed,
        service=access.service,
        schema=access.schema,
        user_id=access.user_id,
        issue=access.issue,
        subject=access.subject,
        message_ids=access.message_ids,
        duplicate_of=access.duplicate_of,
        record_count=access.record_count,
        outcome=access.outcome,
        status=access.status,
        error_code=access.error_code,
        error_id=access.error_id,
        bytes_in=access.bytes_in,
        bytes_out=access.bytes_out,
        latency_ms=latency_ms,
        correlation_id=access.correlation_id,
        xroad_client=access.xroad_client,
        xroad_service=access.xroad_service,
        xroad_protocol_version=access.xroad_protocol_version,
        request_sha256=access.request_sha256
        or (hashlib.sha256(request_body).hexdigest() if request_body is not None else None),
        response_sha256=access.response_sha256
        or (hashlib.sha256(response_body).hexdigest() if response_body is not None else None),
        request_body=request_body if full else None,
        response_body=response_body if full else None,
    )


async def _request_body(request: web.Request, access: AccessRecord) -> bytes | None:
    """The body the handler read, if it read one whole (a second read returns it again)."""
    if REQUEST_BODY in request:
        return request[REQUEST_BODY]
    if access.bytes_in == 0 or request.content_length is None:
        return None
    body = await request.read()
    return body if len(body) == access.bytes_in else None


def _response_body(response: web.StreamResponse) -> bytes | None:
    if isinstance(response, web.Response) and isinstance(response.body, bytes):
        return response.body
    return None


def _logs_bodies(table: RoutingTable, access: AccessRecord) -> bool:
    if access.service is not None:
        service = table.services.get(access.service)
        return service is not None and service.log_body == "full"
    if access.feed is not None:
        feed = table.feeds.get(access.feed)
        return feed is not None and feed.log_body == "full"
    return False
