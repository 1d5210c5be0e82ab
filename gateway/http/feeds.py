"""``POST /v1/feeds/{feed}``: push one record, or a JSON array of records, in native JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from aiohttp import web

from gateway.audit.http import REQUEST_BODY
from gateway.errors import (
    AccessDeniedError,
    BadRequestError,
    DisabledError,
    MalformedJsonError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from gateway.http.access import ACCESS
from gateway.http.middleware import optional_header
from gateway.http.state import GATEWAY
from gateway.ingest import (
    IngestRequest,
    PreparedMessage,
    PublishOutcome,
    RecordReceipt,
    publish_once,
)
from gateway.ratelimit import admit
from gateway.routing import FeedSpec, RoutingTable
from gateway.security import authenticate_request

if TYPE_CHECKING:
    from gateway.runtime import Gateway


async def push_feed(request: web.Request) -> web.Response:
    """Accept a push; answer 202 with receipts only after the broker confirmed every message."""
    gateway = request.app[GATEWAY]
    table = gateway.table  # one table for the whole request, whatever a reload does meanwhile
    access = request[ACCESS]
    client, name, feed = open_feed(request, table, request.match_info["feed"], "rest")
    await admit(gateway.limiter, table, client, "feed", name)
    access.user_id = optional_header(request, "X-User-Id")
    access.issue = optional_header(request, "X-Issue")
    message_id = optional_header(request, "X-Message-Id")

    body = await read_body(request, gateway.settings.max_body_bytes, ("application/json",))
    access.bytes_in = len(body)
    data = parse_json(body)
    records = data if isinstance(data, list) else [data]
    if isinstance(data, list) and message_id is not None:
        raise BadRequestError(
            "X-Message-Id names a single record; in a batch every record gets its own id",
            code="client.bad_header",
        )
    accepted = await accept(
        request,
        table,
        IngestRequest(
            feed=name,
            client=client,
            correlation_id=access.correlation_id,
            records=records,
            user_id=access.user_id,
            issue=access.issue,
            message_id=message_id,
        ),
        feed,
        batch=isinstance(data, list),
    )
    answer: dict[str, Any]
    if isinstance(data, list):
        answer = {
            "status": accepted.status,
            "count": len(accepted.receipts),
            "records": [r.as_dict() for r in accepted.receipts],
        }
    else:
        answer = {k: v for k, v in accepted.receipts[0].as_dict().items() if k != "index"}
    answer["correlation_id"] = access.correlation_id
    return web.Response(
        body=orjson.dumps(answer), status=accepted.http_status, content_type="application/json"
    )


def open_feed(
    request: web.Request, table: RoutingTable, name: str, channel: str
) -> tuple[str, str, FeedSpec]:
    """(client, feed name, feed) once the caller is known and may push to the feed over
    ``channel`` (401, 404, 403, then 404 ``client.wrong_channel`` naming where the feed is
    pushed, then 503 ``gateway.disabled``); recorded in the access record."""
    access = request[ACCESS]
    if access.kind == "other":  # a WSDL download keeps its own kind
        access.kind = "feed"
    client = authenticate_request(request, table)
    access.client = client
    feed = table.feeds.get(name)
    if feed is None:
        raise NotFoundError(f"no feed named {name!r}", code="client.unknown_feed")
    access.feed, access.schema = name, feed.schema_id
    if not table.may_push(client, feed):
        raise AccessDeniedError(f"system {client!r} may not push to feed {name!r}")
    if feed.channel == "file":
        raise NotFoundError(
            f"feed {name!r} takes files dropped into its directory, not pushes over HTTP",
            code="client.wrong_channel",
            details={"channel": feed.channel},
        )
    if feed.channel != channel:
        where = {
            "rest": f"POST /v1/feeds/{name}",
            "soap": f"POST /soap/{name} (WSDL: GET /soap/{name}?wsdl)",
        }[feed.channel]
        raise NotFoundError(
            f"feed {name!r} is pushed over {feed.channel.upper()}, at {where}; not here",
            code="client.wrong_channel",
            details={"channel": feed.channel},
        )
    if not feed.enabled:
        raise DisabledError(
            f"feed {name!r} is disabled (enabled: false in the routing table)",
            retry_after=request.app[GATEWAY].settings.retry_after,
        )
    return client, name, feed


@dataclass(frozen=True, slots=True)
class Accepted:
    """What a push came to: every record's receipt, in order, and the answer's status."""

    receipts: list[RecordReceipt]
    status: str  # "accepted", or "duplicate" when every record was one
    http_status: int  # 202, or 200 when every record was a duplicate


async def accept(
    request: web.Request,
    table: RoutingTable,
    ingest: IngestRequest,
    feed: FeedSpec,
    *,
    batch: bool,
) -> Accepted:
    """The channel-independent part of a push: check the batch, map, validate, deduplicate,
    route by ``table`` (the one the request opened the feed in), publish; count and log it.
    Raises the error to answer with (a partly published batch's names which records were
    accepted)."""
    gateway = request.app[GATEWAY]
    access = request[ACCESS]
    records = ingest.records
    if batch and not records:
        raise BadRequestError("the batch is empty", code="client.empty_batch")
    if len(records) > feed.max_batch:
        raise PayloadTooLargeError(
            f"a batch may hold at most {feed.max_batch} records, this one holds {len(records)}",
            code="client.batch_too_large",
        )
    access.record_count = len(records)
    prepared = gateway.pipeline.prepare(table, feed, ingest)
    if len(prepared) == 1:  # a batch's lines carry the correlation id its access event has
        structlog.contextvars.bind_contextvars(message_id=prepared[0].envelope.message_id)
    outcome = await _publish_once(gateway, ingest.feed, feed, prepared)
    access.message_ids = outcome.accepted
    receipts = sorted(outcome.receipts, key=lambda r: r.index)
    access.duplicate_of = [r.message_id for r in receipts if r.status == "duplicate"]
    counts = Counter(r.status for r in receipts)
    metrics = gateway.metrics.records
    for status, count in counts.items():
        metrics.labels(ingest.feed, status).inc(count)
    if outcome.failure is not None:
        error = outcome.failure
        error.message = (
            f"{error.message}; {counts['accepted']} of {len(records)} record(s) accepted, "
            f"{counts['duplicate']} duplicate(s), {counts['failed']} not: send those again"
        )
        error.details["records"] = [r.as_dict() for r in receipts]
        access.outcome = "partial" if counts["accepted"] else "error"
        raise error
    all_duplicates = counts["duplicate"] == len(receipts)
    access.outcome = "duplicate" if all_duplicates else "ok"
    if all_duplicates:
        return Accepted(receipts, "duplicate", 200)
    return Accepted(receipts, "accepted", 202)


async def _publish_once(
    gateway: Gateway, name: str, feed: FeedSpec, prepared: list[PreparedMessage]
) -> PublishOutcome:
    """Publish the records not yet accepted; duplicates are answered from the dedup store."""
    return await publish_once(gateway.pipeline, gateway.dedup, name, feed, prepared)


async def read_body(request: web.Request, limit: int, content_types: tuple[str, ...]) -> bytes:
    """The body, once its type and size are acceptable (415, 413)."""
    if request.content_type not in content_types:
        raise UnsupportedMediaTypeError(
            f"expected Content-Type: {' or '.join(content_types)}, "
            f"got {request.content_type or 'none'}"
        )
    if request.charset not in (None, "utf-8", "UTF-8"):
        raise UnsupportedMediaTypeError(f"expected charset utf-8, got {request.charset}")
    too_large = PayloadTooLargeError(f"the body exceeds the limit of {limit} bytes")
    if request.content_length is not None:
        if request.content_length > limit:
            raise too_large
        body = await request.read()  # exactly Content-Length bytes, within client_max_size
    else:
        chunks, size = [], 0
        async for chunk in request.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        body = b"".join(chunks)
    request[REQUEST_BODY] = body
    return body


def parse_json(body: bytes) -> Any:
    """Parse a JSON body; 400 with line, column and position when it is not JSON."""
    if not body.strip():
        raise MalformedJsonError("the body is empty; expected a JSON object or array")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedJsonError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno} (byte {exc.pos}): {exc.msg}",
            details={"line": exc.lineno, "column": exc.colno, "position": exc.pos},
        ) from exc
