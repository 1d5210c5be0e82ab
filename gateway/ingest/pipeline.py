"""The ingest pipeline: native records → canonical → routed → published with confirms.

prepare()   map each native record through the feed's adapter, validate it against the
            canonical schema, wrap it in an envelope, and route it; a batch with any invalid
            record is refused whole (422, every problem of every record), nothing published
publish()   publish every message to every destination concurrently and wait for the
            broker's confirms; a record counts as accepted only when all its copies are
            confirmed, and a partial failure names exactly which records were accepted
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from adapters.base import FieldProblem, InboundAdapter, MappingError, format_path
from gateway.broker import Broker, OutgoingMessage
from gateway.dedup import dedup_key
from gateway.errors import GatewayError, SchemaViolationError
from gateway.metrics import Metrics
from gateway.routing import FeedSpec, MatchContext, RoutingTable
from schemas import Envelope


@dataclass(frozen=True, slots=True)
class IngestRequest:
    """One push to a feed, as the HTTP layer (or another channel) received it."""

    feed: str
    client: str
    correlation_id: str
    records: Sequence[Any]
    user_id: str | None = None
    issue: str | None = None
    message_id: str | None = None  # the caller's, for a single record


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    """A canonical record with its envelope, serialized body and destinations."""

    index: int
    envelope: Envelope
    body: bytes
    destinations: tuple[str, ...]
    headers: Mapping[str, str]
    dedup_key: str | None = None


@dataclass(slots=True)
class RecordReceipt:
    """What became of one record of a request."""

    index: int
    message_id: str
    status: str
    routes: tuple[str, ...]
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form sent to the caller."""
        out: dict[str, Any] = {
            "index": self.index,
            "message_id": self.message_id,
            "status": self.status,
            "routes": list(self.routes),
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class PublishOutcome:
    """Receipts for every record, and the first broker error if any copy failed."""

    receipts: list[RecordReceipt]
    failure: GatewayError | None = None
    accepted: list[str] = field(default_factory=list)


class IngestPipeline:
    """Prepares and publishes the records of one push; stateless between requests."""

    def __init__(
        self,
        broker: Broker,
        adapters: Mapping[str, InboundAdapter],
        schemas: Mapping[str, type[BaseModel]],
        metrics: Metrics,
    ) -> None:
        self._broker = broker
        self._adapters = adapters
        self._schemas = schemas
        self._metrics = metrics

    def prepare(
        self, table: RoutingTable, feed: FeedSpec, request: IngestRequest
    ) -> list[PreparedMessage]:
        """Map, validate, envelope and route every record; raise 422 listing every problem."""
        adapter = self._adapters[feed.adapter]
        model = self._schemas[feed.schema_id]
        received_at = datetime.now(UTC)
        prepared: list[PreparedMessage] = []
        invalid: list[dict[str, Any]] = []
        for index, native in enumerate(request.records):
            try:
                payload = canonicalize(adapter, model, native)
            except MappingError as exc:
                invalid.append({"index": index, "problems": [p.as_dict() for p in exc.problems]})
                continue
            message_id = request.message_id or str(uuid.uuid4())
            key = None if feed.dedup is None else dedup_key(feed.dedup.key, message_id, payload)
            prepared.append(
                self.envelope(
                    table, feed, request, index, payload, message_id, received_at, dedup_key=key
                )
            )
        if invalid:
            count = len(request.records)
            self._metrics.records.labels(request.feed, "rejected").inc(count)
            what = "the record is" if count == 1 else f"{len(invalid)} of {count} records are"
            raise SchemaViolationError(
                f"{what} invalid for {feed.schema_id}; nothing was published",
                details={"records": invalid},
            )
        return prepared

    def adapter_of(self, feed: FeedSpec) -> InboundAdapter:
        """The inbound adapter ``feed`` maps its records with."""
        return self._adapters[feed.adapter]

    def canonical(self, feed: FeedSpec, native: Any) -> dict[str, Any]:
        """One native record of ``feed`` mapped and validated (MappingError naming every
        native field at fault)."""
        return canonicalize(self._adapters[feed.adapter], self._schemas[feed.schema_id], native)

    def envelope(
        self,
        table: RoutingTable,
        feed: FeedSpec,
        request: IngestRequest,
        index: int,
        payload: dict[str, Any],
        message_id: str,
        received_at: datetime,
        *,
        dedup_key: str | None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> PreparedMessage:
        """A canonical record of ``request`` in its envelope, serialized and routed; ``headers``
        are AMQP headers to carry beside the envelope's; ``body`` is ``payload`` serialized,
        when the caller has it already."""
        if body is None:
            body = orjson.dumps(payload)
        envelope = Envelope.model_construct(  # every value below is already checked
            message_id=message_id,
            correlation_id=request.correlation_id,
            client=request.client,
            feed=request.feed,
            schema_id=feed.schema_id,
            user_id=request.user_id,
            issue=request.issue,
            received_at=received_at,
            payload_sha256=hashlib.sha256(body).hexdigest(),
        )
        amqp_headers = envelope.amqp_headers()
        if headers:
            amqp_headers.update(headers)
        ctx = MatchContext(feed.schema_id, request.feed, request.client, payload)
        return PreparedMessage(index, envelope, body, table.route(ctx), amqp_headers, dedup_key)

    async def publish(self, messages: Sequence[PreparedMessage]) -> PublishOutcome:
        """Publish every record's copies; report per record what the broker confirmed.

        Copies go in rounds: the first destination of every record at once, then the second,
        and so on. Within a round message ids are unique, which the broker layer needs to tell
        which publish an unroutable message came back from.
        """
        errors: dict[int, GatewayError] = {}
        rounds = max((len(m.destinations) for m in messages), default=0)
        for k in range(rounds):
            batch = [m for m in messages if len(m.destinations) > k and m.index not in errors]
            started = time.perf_counter()
            results = await self._broker.publish_many(
                [_outgoing(m, m.destinations[k]) for m in batch]
            )
            elapsed = time.perf_counter() - started
            for message, result in zip(batch, results, strict=True):
                if result is None:
                    self._metrics.publish_seconds.observe(elapsed)
                else:
                    errors[message.index] = result
        outcome = PublishOutcome(receipts=[])
        for message in messages:
            error = errors.get(message.index)
            if error is None:
                outcome.accepted.append(message.envelope.message_id)
            elif outcome.failure is None:
                outcome.failure = error
            outcome.receipts.append(
                RecordReceipt(
                    message.index,
                    message.envelope.message_id,
                    "accepted" if error is None else "failed",
                    message.destinations,
                    None if error is None else error.message,
                )
            )
        return outcome


def _outgoing(message: PreparedMessage, destination: str) -> OutgoingMessage:
    envelope = message.envelope
    return OutgoingMessage(
        destination=destination,
        body=message.body,
        message_id=envelope.message_id,
        correlation_id=envelope.correlation_id,
        headers=message.headers,
        schema_id=envelope.schema_id,
        timestamp=envelope.received_at,
    )


def canonicalize(adapter: InboundAdapter, model: type[BaseModel], native: Any) -> dict[str, Any]:
    """The validated canonical record in JSON form, or MappingError naming every native field
    at fault: those the adapter could not map, and those the canonical schema refuses."""
    try:
        mapped, problems = adapter.to_canonical(native), []
    except MappingError as exc:
        if exc.partial is None:
            raise
        mapped, problems = exc.partial, list(exc.problems)
    try:
        record = model.model_validate(mapped)
    except ValidationError as exc:
        reported = {p.field for p in problems}
        for error in exc.errors(include_url=False, include_input=False):
            native_field = adapter.native_field(error["loc"])
            if native_field in reported and error["type"] == "missing":
                continue  # already reported by the adapter, with the reason
            problems.append(FieldProblem(native_field, _message(error), format_path(error["loc"])))
        raise MappingError(problems) from exc
    if problems:
        raise MappingError(problems)
    dumped: dict[str, Any] = record.model_dump(mode="json")
    return dumped


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return str(error["msg"])
