"""``/soap/{name}``: feeds pushed over SOAP 1.1 or 1.2, and their WSDLs.

    POST /soap/{feed}        the Push operation: authenticate (401), find the feed (404), may the
                             caller push to it (403), is it a SOAP feed, is it enabled (503),
                             the rate limits (429); read the body within the
                             limit (413), parse it hardened, read the envelope and the X-Road
                             headers, the records by the adapter's native shape; then the path
                             every push takes (``accept``): 200 with a receipt per record, once
                             the broker confirmed them
    GET  /soap/{feed}?wsdl   the feed's WSDL (the same checks), addressed to the host the
                             request came to

Errors are SOAP Faults (``gateway.soap.faults``): the handler gives the middleware its fault
renderer before anything can fail, so the one access event and its error_id are the same as
on every other path. A fault echoes the X-Road headers once they were read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from adapters import model_shape
from gateway.errors import (
    BadRequestError,
    GatewayError,
    NotFoundError,
    SchemaViolationError,
    UnsupportedMediaTypeError,
)
from gateway.http.access import ACCESS
from gateway.http.feeds import accept, open_feed, read_body
from gateway.http.middleware import ERROR_RENDERER
from gateway.http.services import ask, check_required, open_service
from gateway.http.state import GATEWAY
from gateway.ingest import IngestRequest
from gateway.ratelimit import admit
from gateway.routing import RoutingTable
from gateway.soap import (
    FAULT_NSMAP,
    SOAP11,
    SOAP12,
    SoapVersion,
    content_type,
    fault_element,
    fault_of,
    feed_endpoint,
    feed_namespace,
    parse_xml,
    push_response,
    read_envelope,
    read_records,
    read_xroad,
    record_elements,
    render_envelope,
    render_wsdl,
    version_for,
)
from gateway.soap.service import (
    answer_element,
    read_query,
    service_endpoint,
    service_namespace,
)
from gateway.soap.xroad import UNDERSTOOD

if TYPE_CHECKING:
    from gateway.runtime import InForce

_XROAD_NAMES = {"user_id": "the X-Road header userId", "issue": "the X-Road header issue"}


class FaultRenderer:
    """Renders the errors of one SOAP request as Faults of its version.

    The HTTP status is the SOAP binding's (see ``SoapFault.http_status``), or, for a WSDL
    download, which is plain HTTP, the error's own (401, 403, 404). Retry-After,
    WWW-Authenticate and Allow stay HTTP headers.
    """

    def __init__(self, version: SoapVersion, *, plain_http: bool = False) -> None:
        self.version = version
        self.echo: Sequence[Any] = ()  # the X-Road header blocks, once read
        self._plain_http = plain_http

    def __call__(self, error: GatewayError, error_id: str) -> web.Response:
        fault = fault_of(error, error_id)
        body = render_envelope(
            self.version, fault_element(fault, self.version), self.echo, FAULT_NSMAP
        )
        return web.Response(
            body=body,
            status=error.status if self._plain_http else fault.http_status(self.version),
            headers={"Content-Type": content_type(self.version), **error.headers},
        )


async def soap_post(request: web.Request) -> web.Response:
    """``POST /soap/{name}``: a feed's Push, or a service's request."""
    version = version_for(request.content_type)
    renderer = FaultRenderer(version or SOAP11)
    request[ERROR_RENDERER] = renderer
    if version is None:
        raise UnsupportedMediaTypeError(
            f"expected Content-Type: {SOAP11.content_type} (SOAP 1.1) or "
            f"{SOAP12.content_type} (SOAP 1.2), got {request.content_type or 'none'}"
        )
    now = request.app[GATEWAY].in_force  # one table for the whole request
    if request.match_info["name"] in now.table.services:
        return await _ask_service(request, now, version, renderer)
    return await _push(request, now.table, version, renderer)


async def _ask_service(
    request: web.Request, now: InForce, version: SoapVersion, renderer: FaultRenderer
) -> web.Response:
    """Answer a record request from the service's provider, as its SOAP operation."""
    gateway = request.app[GATEWAY]
    access = request[ACCESS]
    client, name, service = open_service(request, now.table, request.match_info["name"])
    await admit(gateway.limiter, now.table, client, "service", name)
    body = await read_body(request, gateway.settings.max_body_bytes, (version.content_type,))
    access.bytes_in = len(body)
    access.request_sha256 = hashlib.sha256(body).hexdigest()
    envelope = read_envelope(parse_xml(body), version, understood=UNDERSTOOD)
    headers = read_xroad(envelope.headers)
    renderer.echo = headers.blocks
    access.user_id, access.issue = headers.user_id, headers.issue
    access.xroad_client = headers.client
    access.xroad_service = headers.service
    access.xroad_protocol_version = headers.protocol_version
    check_required(name, service, headers.user_id, headers.issue, _XROAD_NAMES)
    query = now.queries[name]
    namespace = service_namespace(name)
    data = read_query(envelope.body, query.__name__, model_shape(query), namespace)
    answer = orjson.loads(await ask(request, query, name, service, client, data))
    out = render_envelope(
        version,
        answer_element(namespace, query.__name__, access.correlation_id, answer),
        headers.blocks,
    )
    access.response_sha256 = hashlib.sha256(out).hexdigest()
    return web.Response(body=out, headers={"Content-Type": content_type(version)})


async def _push(
    request: web.Request, table: RoutingTable, version: SoapVersion, renderer: FaultRenderer
) -> web.Response:
    """Accept a SOAP push; answer with every record's receipt once the broker confirmed."""
    gateway = request.app[GATEWAY]
    access = request[ACCESS]
    client, name, feed = open_feed(request, table, request.match_info["name"], "soap")
    await admit(gateway.limiter, table, client, "feed", name)

    body = await read_body(request, gateway.settings.max_body_bytes, (version.content_type,))
    access.bytes_in = len(body)
    envelope = read_envelope(parse_xml(body), version, understood=UNDERSTOOD)
    headers = read_xroad(envelope.headers)
    renderer.echo = headers.blocks
    access.user_id, access.issue = headers.user_id, headers.issue
    access.xroad_client = headers.client
    access.xroad_service = headers.service
    access.xroad_protocol_version = headers.protocol_version

    namespace = feed_namespace(name)
    elements = record_elements(envelope.body, namespace)
    if headers.message_id is not None and len(elements) > 1:
        raise BadRequestError(
            "SOAP header id names a single record; in a batch every record gets its own id",
            code="client.bad_header",
        )
    shape = gateway.adapters[feed.adapter].native_shape()
    records, invalid = read_records(elements, shape, namespace)
    if invalid:
        access.record_count = len(records)
        gateway.metrics.records.labels(name, "rejected").inc(len(records))
        what = (
            "the record is"
            if len(records) == 1
            else f"{len(invalid)} of {len(records)} records are"
        )
        raise SchemaViolationError(
            f"{what} not readable as {name}'s native record; nothing was published",
            details={"records": invalid},
        )
    accepted = await accept(
        request,
        table,
        IngestRequest(
            feed=name,
            client=client,
            correlation_id=access.correlation_id,
            records=records,
            user_id=headers.user_id,
            issue=headers.issue,
            message_id=headers.message_id,
        ),
        feed,
        batch=True,
    )
    answer = push_response(namespace, access.correlation_id, accepted.receipts)
    return web.Response(
        body=render_envelope(version, answer, headers.blocks),
        headers={"Content-Type": content_type(version)},
    )


async def soap_wsdl(request: web.Request) -> web.Response:
    """``GET /soap/{name}?wsdl``: the WSDL of a SOAP feed the caller may push to, or of a
    service the caller may call."""
    request[ERROR_RENDERER] = FaultRenderer(SOAP11, plain_http=True)
    request[ACCESS].kind = "wsdl"
    name = request.match_info["name"]
    if not any(key.lower() == "wsdl" for key in request.query):
        raise NotFoundError(
            f"GET serves the WSDL only: GET /soap/{name}?wsdl", code="client.not_found"
        )
    gateway = request.app[GATEWAY]
    now = gateway.in_force
    address = str(request.url.origin().with_path(f"/soap/{name}"))
    if name in now.table.services:
        _, name, service = open_service(request, now.table, name)
        query = now.queries[name]
        endpoint = service_endpoint(
            name,
            query.__name__,
            model_shape(query),
            model_shape(now.answers[name]),
            address=address,
            description=service.description,
        )
    else:
        _, name, feed = open_feed(request, now.table, name, "soap")
        endpoint = feed_endpoint(
            name,
            gateway.adapters[feed.adapter].native_shape(),
            max_batch=feed.max_batch,
            address=address,
            description=feed.description,
        )
    return web.Response(
        body=render_wsdl(endpoint), headers={"Content-Type": "text/xml; charset=utf-8"}
    )
