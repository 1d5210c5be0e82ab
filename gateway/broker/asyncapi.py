"""The broker topology as an AsyncAPI 3.0 document: what each receiving system consumes.

For a routing table and a namespace (``topology_for``), the document has:

- one server, RabbitMQ, from ``GATEWAY_AMQP_URL`` without its user and password;
- the ingress exchange, where the gateway publishes every accepted record with a
  destination's name as routing key (a ``send`` operation);
- per destination a channel for its work queue (address = the queue's name, AMQP queue
  binding, the queue's type and arguments in ``x-queue``) whose messages are the canonical
  records that can reach it: the schemas of the table's feeds, narrowed by the ``schema`` and
  ``feed`` conditions of the routes that lead there; a channel for its dead-letter exchange
  and one for its dead-letter queue (the same records with the failure headers, and a
  ``malformed`` message);
- the ``unrouted`` queue (every feed's schema);
- per service the channel of its request queue (the canonical query) and the reply channel
  (direct reply-to: the canonical answer, or the provider's error);
- ``receive`` operations: the receiving system (or the gateway's delivery worker, for a
  destination that delivers) on each work queue, operators on the dead-letter and unrouted
  queues, the provider worker on each service queue, with its reply.

Every message says its AMQP properties (``x-amqp-properties``) and headers as the gateway
publishes them. Keys of channels, operations and components use ``_`` for ``.`` and ``__``
before a suffix (``etergov_crime-reports__dlq``): AsyncAPI keys are letters, digits, ``_``
and ``-`` only, and routing.yaml's names hold no ``_``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from gateway import __version__
from gateway.broker.topology import ExchangeDecl, QueueDecl, Topology, topology_for
from gateway.routing import UNROUTED, DestinationSpec, RoutingTable

ASYNCAPI_VERSION: Final = "3.0.0"
AMQP_BINDING_VERSION: Final = "0.3.0"
APP_ID: Final = "e-integratsiya"
_REF: Final = "#/components/schemas/{model}"
_SHA256: Final = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_DATETIME: Final = {"type": "string", "format": "date-time"}


def asyncapi_document(
    table: RoutingTable,
    *,
    namespace: str,
    amqp_url: str,
    schemas: Mapping[str, type[BaseModel]],
    queries: Mapping[str, type[BaseModel]],
    answers: Mapping[str, type[BaseModel]],
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``table``'s topology in ``namespace`` on ``amqp_url``.

    ``schemas`` are the canonical models by schema id; ``queries`` and ``answers`` each
    service's query and answer models.
    """
    topology = topology_for(table, namespace)
    vhost = _vhost(amqp_url)
    reaching = schemas_reaching(table)
    feed_schemas = sorted({feed.schema_id for feed in table.feeds.values()})

    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (schemas[s], "serialization") for s in feed_schemas
    ]
    models += [(queries[name], "validation") for name in table.services]
    models += [(answers[name], "serialization") for name in table.services]
    refs, defs = _component_schemas(models)

    messages: dict[str, Any] = {}
    for schema_id in feed_schemas:
        payload = refs[(schemas[schema_id], "serialization")]
        messages[_record_key(schema_id)] = _record_message(schema_id, schemas[schema_id], payload)
        messages[_record_key(schema_id) + "__dead_letter"] = _dead_letter_message(
            schema_id, schemas[schema_id], payload
        )
    if table.destinations:
        messages["malformed__dead_letter"] = _malformed_message()

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    queues = {decl.name: decl for decl in topology.queues}
    exchanges = {decl.name: decl for decl in topology.exchanges}
    records = [_record_key(s) for s in feed_schemas]
    channels["ingress"] = _exchange_channel(
        exchanges[topology.ingress],
        vhost,
        title="Ingress",
        description="Every accepted record, published once per destination with the "
        "destination's name as routing key (persistent, mandatory, with a publisher "
        "confirm before the sender's receipt); a record no route takes goes with key "
        f"`{UNROUTED}`. The destinations' work queues are bound here; so are the retry "
        "ladders' delay queues, through dead-lettering.",
        messages=records,
    )
    operations["publish_ingress"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/ingress"},
        "title": "Publish accepted records",
        "summary": "The gateway publishes each record a feed accepted, once per destination",
        "messages": [{"$ref": f"#/channels/ingress/messages/{key}"} for key in records],
        "bindings": {
            "amqp": {
                "deliveryMode": 2,
                "mandatory": True,
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }
    for name, destination in [*table.destinations.items(), (UNROUTED, None)]:
        work = topology.queue_of(name)
        keys = [_record_key(s) for s in (feed_schemas if destination is None else reaching[name])]
        channel = _key(name)
        channels[channel] = _queue_channel(
            queues[work],
            vhost,
            title=f"{name}: work queue",
            description=_work_description(name, destination, topology, keys),
            messages=keys,
        )
        operations[f"receive_{channel}"] = _receive(
            channel, keys, title=f"Receive {name}", summary=_consumer(destination)
        )
        if destination is None:
            continue
        dlq = topology.dead_letter_queue_of(name)
        dead = [f"{key}__dead_letter" for key in keys] + ["malformed__dead_letter"]
        dlx = queues[dlq].bind_to
        channels[f"{channel}__dlx"] = _exchange_channel(
            exchanges[dlx],
            vhost,
            title=f"{name}: dead-letter exchange",
            description="The work queue's `x-dead-letter-exchange`; the delivery worker "
            "copies a message it gives up on here (confirmed, before acking the original). "
            f"Bound to `{dlq}`.",
            messages=dead,
        )
        channels[f"{channel}__dlq"] = _queue_channel(
            queues[dlq],
            vhost,
            title=f"{name}: dead letters",
            description=f"Messages the receiver refused, that ran out of retries or that "
            f"could not be handled, body byte for byte with the failure headers. Read, "
            f"replay and purge them with `gateway dlq ... {name}`.",
            messages=dead,
        )
        operations[f"receive_{channel}__dlq"] = _receive(
            f"{channel}__dlq",
            dead,
            title=f"Dead letters of {name}",
            summary="Operators inspect, replay or purge them (`gateway dlq`)",
        )

    for name in table.services:
        query, answer = queries[name], answers[name]
        channel = _key(name)
        request_key, answer_key, error_key = (
            f"{channel}__request",
            f"{channel}__answer",
            f"{channel}__error",
        )
        messages[request_key] = _request_message(name, query, refs[(query, "validation")])
        messages[answer_key] = _answer_message(name, answer, refs[(answer, "serialization")])
        messages[error_key] = _error_message(name)
        queue = topology.service_queue_of(name)
        channels[channel] = _queue_channel(
            queues[queue],
            vhost,
            title=f"{name}: requests",
            description=f"Record requests of service {name}, published by the gateway through "
            "the default exchange, transient, expiring with the caller's timeout "
            f"({table.services[name].timeout:g}s); provider workers consume them.",
            messages=[request_key],
        )
        channels[f"{channel}__reply"] = {
            "address": None,
            "title": f"{name}: replies",
            "description": "The request's `reply_to`: RabbitMQ's direct reply-to "
            "(`amq.rabbitmq.reply-to`), a pseudo-queue of the asking gateway's channel.",
            "messages": {key: _message_ref(key) for key in (answer_key, error_key)},
        }
        operations[f"answer_{channel}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "title": f"Answer {name}",
            "summary": "A provider worker takes a request, asks the ministry's service and "
            "replies with the canonical answer or the provider's error",
            "messages": [{"$ref": f"#/channels/{channel}/messages/{request_key}"}],
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
            "reply": {
                "address": {
                    "description": "the request's `reply_to` property",
                    "location": "$message.header#/reply_to",
                },
                "channel": {"$ref": f"#/channels/{channel}__reply"},
                "messages": [
                    {"$ref": f"#/channels/{channel}__reply/messages/{key}"}
                    for key in (answer_key, error_key)
                ],
            },
        }

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "E-Integratsiya: the broker topology",
            "version": __version__,
            "description": _description(topology, namespace),
            "x-routing-sha256": table.sha256,
        },
        "defaultContentType": "application/json",
        "servers": {"rabbitmq": _server(amqp_url, vhost)},
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": defs,
            "messages": dict(sorted(messages.items())),
            "securitySchemes": {
                "rabbitmqUser": {
                    "type": "userPassword",
                    "description": "A RabbitMQ user of the virtual host; a receiving system "
                    "needs read permission on its own queues only.",
                }
            },
        },
    }


def schemas_reaching(table: RoutingTable) -> dict[str, list[str]]:
    """Destination → the schema ids of the records that can reach it, sorted: the schemas of
    the table's feeds, narrowed by each route's ``schema`` and ``feed`` conditions."""
    feeds = {name: feed.schema_id for name, feed in table.feeds.items()}
    reaching: dict[str, set[str]] = {name: set() for name in table.destinations}
    for route in table.routes:
        possible = set(feeds.values())
        for condition in route.conditions:
            if condition.key == "schema":
                possible &= {str(value) for value in condition.expected}
            elif condition.key == "feed":
                possible &= {feeds[str(f)] for f in condition.expected if str(f) in feeds}
        for destination in route.destinations:
            reaching.setdefault(destination, set()).update(possible)
    return {name: sorted(ids) for name, ids in reaching.items()}


def _component_schemas(
    models: list[tuple[type[BaseModel], JsonSchemaMode]],
) -> tuple[dict[tuple[type[BaseModel], JsonSchemaMode], dict[str, Any]], dict[str, Any]]:
    if not models:
        return {}, {}
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema(unique, ref_template=_REF)
    return {key: refs[key] for key in unique}, dict(sorted(top.get("$defs", {}).items()))


def _key(name: str) -> str:
    """An AsyncAPI key for a routing.yaml name: ``etergov.crime-reports`` →
    ``etergov_crime-reports``."""
    return name.replace(".", "_")


def _record_key(schema_id: str) -> str:
    """``crime_report/1`` → ``crime_report_v1``."""
    name, _, number = schema_id.partition("/")
    return f"{name}_v{number}"


def _message_ref(key: str) -> dict[str, str]:
    return {"$ref": f"#/components/messages/{key}"}


def _vhost(amqp_url: str) -> str:
    """The virtual host of an AMQP URL (``/`` when the URL names none)."""
    return unquote(urlsplit(amqp_url).path[1:]) or "/"


def _server(amqp_url: str, vhost: str) -> dict[str, Any]:
    parts = urlsplit(amqp_url)
    tls = parts.scheme == "amqps"
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return {
        "host": f"{host}:{parts.port or (5671 if tls else 5672)}",
        "protocol": "amqps" if tls else "amqp",
        "protocolVersion": "0-9-1",
        "pathname": "/" + quote(vhost, safe=""),
        "title": "RabbitMQ",
        "description": f"GATEWAY_AMQP_URL without its credentials; virtual host `{vhost}`. "
        "Durable queues, persistent messages, publisher confirms.",
        "security": [{"$ref": "#/components/securitySchemes/rabbitmqUser"}],
    }


def _description(topology: Topology, namespace: str) -> str:
    return (
        f"Every queue and exchange of the gateway in namespace `{namespace}`. Feeds publish "
        f"each canonical record to the direct exchange `{topology.ingress}` with a "
        "destination's name as routing key (persistent, mandatory, confirmed); each "
        "destination's work queue is bound with its name. A message is a canonical record as "
        "JSON, its envelope in the AMQP properties and headers (`x-amqp-properties`, "
        "`headers`); `message_id` is unique per record and stays the same on every copy and "
        "every redelivery: a receiving system that consumes a queue itself should "
        "deduplicate by it (RabbitMQ delivers at least once) and ack only what it has "
        "stored. Delay queues of the retry ladders (`<queue>.retry.<n>`) are the gateway's "
        "own and not listed."
    )


def _queue_channel(
    queue: QueueDecl, vhost: str, *, title: str, description: str, messages: Iterable[str]
) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "address": queue.name,
        "title": title,
        "description": description,
        "messages": {key: _message_ref(key) for key in messages},
        "bindings": {
            "amqp": {
                "is": "queue",
                "queue": {
                    "name": queue.name,
                    "durable": True,
                    "exclusive": False,
                    "autoDelete": False,
                    "vhost": vhost,
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
        "x-queue": {
            "type": queue.type,
            "arguments": queue.declare_arguments(),
            **(
                {"boundTo": {"exchange": queue.bind_to, "routingKey": queue.routing_key}}
                if queue.bind_to
                else {}
            ),
        },
    }
    return channel


def _exchange_channel(
    exchange: ExchangeDecl, vhost: str, *, title: str, description: str, messages: Iterable[str]
) -> dict[str, Any]:
    return {
        "address": exchange.name,
        "title": title,
        "description": description,
        "messages": {key: _message_ref(key) for key in messages},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": exchange.name,
                    "type": exchange.type,
                    "durable": True,
                    "autoDelete": False,
                    "vhost": vhost,
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }


def _consumer(destination: DestinationSpec | None) -> str:
    """Who consumes a work queue."""
    if destination is None:
        return "Operators read the records no route took"
    if destination.deliver is None:
        return "The receiving system consumes this queue"
    protocol = "HTTP" if destination.deliver.http is not None else "SOAP"
    return (
        "The gateway's delivery worker consumes this queue and hands each message to the "
        f"receiving system over {protocol}"
    )


def _work_description(
    name: str, destination: DestinationSpec | None, topology: Topology, keys: list[str]
) -> str:
    if destination is None:
        return "Records no route took: accepted, kept here, never dropped."
    text = destination.description or f"The inbox of {name}"
    text = text.rstrip(".") + "."
    if not keys:
        text += " No route of the table leads here."
    retries = topology.retry_queues.get(name, ())
    if retries:
        text += (
            f" The gateway delivers from it, retrying on {len(retries)} delay queue(s), then "
            "dead-lettering."
        )
    return text


def _receive(channel: str, keys: list[str], *, title: str, summary: str) -> dict[str, Any]:
    return {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{channel}"},
        "title": title,
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{channel}/messages/{key}"} for key in keys],
        "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
    }


def _record_headers(schema_id: str | None, *, dead_letter: bool = False) -> dict[str, Any]:
    """The AMQP headers of a record (of ``schema_id``, or of any schema); a dead letter's
    carry the failure headers too, and none is sure to be there."""
    properties: dict[str, Any] = {
        "client": {"type": "string", "description": "the system that pushed the record"},
        "feed": {"type": "string", "description": "the feed it came by"},
        "schema": {"type": "string"} if schema_id is None else {"const": schema_id},
        "received_at": {**_DATETIME, "description": "when the gateway received it (ISO 8601)"},
        "payload_sha256": {**_SHA256, "description": "SHA-256 of exactly the body's bytes"},
        "user_id": {"type": "string", "description": "the person behind the push, if given"},
        "issue": {"type": "string", "description": "the case number, if given"},
        "attempts": {
            "type": "integer",
            "minimum": 0,
            "description": "delivery attempts so far (after a step of the retry ladder)",
        },
        "replayed_at": {**_DATETIME, "description": "set by `gateway dlq replay`"},
        "replays": {"type": "integer", "minimum": 1, "description": "times replayed"},
    }
    if dead_letter:
        properties |= {
            "destination": {"type": "string", "description": "the destination it failed for"},
            "dead_letter_reason": {
                "type": "string",
                "enum": ["rejected", "retries_exhausted", "malformed"],
            },
            "last_error": {"type": "string"},
            "first_failed_at": _DATETIME,
            "last_failed_at": _DATETIME,
        }
    headers: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": True,
    }
    if not dead_letter:
        headers["required"] = ["client", "feed", "schema", "received_at", "payload_sha256"]
    return headers


def _record_properties(schema_id: str) -> dict[str, Any]:
    return {
        "message_id": "unique per record; the same on every copy, retry and replay",
        "correlation_id": "the pushing request's X-Correlation-Id (or the one generated)",
        "content_type": "application/json",
        "content_encoding": "utf-8",
        "delivery_mode": 2,
        "timestamp": "when the gateway received the record",
        "type": schema_id,
        "app_id": APP_ID,
    }


def _record_message(
    schema_id: str, model: type[BaseModel], payload: dict[str, Any]
) -> dict[str, Any]:
    return {
        "name": schema_id,
        "title": model.__name__,
        "summary": (model.__doc__ or schema_id).strip().splitlines()[0],
        "contentType": "application/json",
        "headers": _record_headers(schema_id),
        "payload": payload,
        "bindings": _message_bindings(schema_id),
        "x-amqp-properties": _record_properties(schema_id),
    }


def _dead_letter_message(
    schema_id: str, model: type[BaseModel], payload: dict[str, Any]
) -> dict[str, Any]:
    return {
        "name": f"{schema_id} (dead letter)",
        "title": f"{model.__name__}, dead-lettered",
        "summary": "The original message, body and properties kept, with the failure headers "
        "(a message RabbitMQ dead-lettered itself carries only `x-death`)",
        "contentType": "application/json",
        "headers": _record_headers(schema_id, dead_letter=True),
        "payload": payload,
        "bindings": _message_bindings(schema_id),
        "x-amqp-properties": _record_properties(schema_id),
    }


def _malformed_message() -> dict[str, Any]:
    return {
        "name": "malformed (dead letter)",
        "title": "A message that is not a canonical record",
        "summary": "Dead-lettered as `malformed`: the body byte for byte, whatever it is",
        "headers": _record_headers(None, dead_letter=True),
        "payload": {},
    }


def _message_bindings(message_type: str) -> dict[str, Any]:
    return {
        "amqp": {
            "contentEncoding": "utf-8",
            "messageType": message_type,
            "bindingVersion": AMQP_BINDING_VERSION,
        }
    }


def _query_id(model: type[BaseModel]) -> str:
    return str(getattr(model, "query_id", model.__name__))


def _request_message(name: str, query: type[BaseModel], payload: dict[str, Any]) -> dict[str, Any]:
    query_id = _query_id(query)
    return {
        "name": query_id,
        "title": f"{query.__name__} request",
        "summary": f"A record request of service {name}",
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {
                "service": {"const": name},
                "client": {"type": "string", "description": "the asking system"},
                "user_id": {"type": "string"},
                "issue": {"type": "string"},
                "correlation": {
                    "type": "string",
                    "description": "the caller's X-Correlation-Id",
                },
                "deadline": {
                    "type": "string",
                    "description": "epoch seconds after which the caller has given up",
                },
            },
            "required": ["service", "client", "correlation", "deadline"],
            "additionalProperties": True,
        },
        "payload": payload,
        "bindings": _message_bindings(query_id),
        "x-amqp-properties": {
            "message_id": "a fresh request id",
            "correlation_id": "the same request id: the reply carries it back",
            "reply_to": "amq.rabbitmq.reply-to",
            "expiration": "the caller's timeout, in milliseconds",
            "content_type": "application/json",
            "content_encoding": "utf-8",
            "delivery_mode": 1,
            "timestamp": "when the request was published",
            "type": query_id,
            "app_id": APP_ID,
        },
    }


def _reply_headers(name: str, outcome: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "outcome": {"const": outcome},
        "service": {"const": name},
        "provider_ms": {"type": "number", "description": "the provider call's duration"},
    }
    required = ["outcome", "service"]
    if outcome == "error":
        properties["code"] = {"type": "string", "pattern": r"^(provider|gateway)\.[a-z0-9_]+$"}
        properties["status"] = {
            "type": "integer",
            "description": "the HTTP status the gateway answers the caller with",
        }
        required += ["code", "status"]
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": True,
    }


def _answer_message(name: str, answer: type[BaseModel], payload: dict[str, Any]) -> dict[str, Any]:
    schema_id = str(getattr(answer, "schema_id", answer.__name__))
    return {
        "name": schema_id,
        "title": f"{answer.__name__} answer",
        "summary": f"Service {name}'s canonical answer, validated by the provider worker",
        "contentType": "application/json",
        "headers": _reply_headers(name, "answer"),
        "payload": payload,
        "x-amqp-properties": {
            "correlation_id": "the request's id",
            "content_type": "application/json",
            "delivery_mode": 1,
        },
    }


def _error_message(name: str) -> dict[str, Any]:
    return {
        "name": f"{name} error",
        "title": "The provider's error",
        "summary": "What went wrong on the provider's side, as text; `code` and `status` "
        "say what the caller is answered",
        "contentType": "text/plain",
        "headers": _reply_headers(name, "error"),
        "payload": {"type": "string"},
        "x-amqp-properties": {
            "correlation_id": "the request's id",
            "content_type": "text/plain",
            "delivery_mode": 1,
        },
    }
