"""``GET /openapi.json``: the REST API as OpenAPI 3.1, generated from the routing table in force.

One concrete path per REST feed (``/v1/feeds/crime-reports``: its native record, or a batch
of them, as the feed's adapter reads it) and per service (``/v1/services/person.by-pinfl``:
its canonical query in, the canonical record out, wrapped as the handler wraps it), the WSDL
download of every SOAP feed and service (``GET /soap/{name}?wsdl``), the admin API
(``/admin/reload``, ``/admin/routing``, behind the admin key) and the probes. Every status an
endpoint can answer with is listed with its body: the receipts, the answer, and the one error
body with the codes of that status. Schemas are JSON Schema 2020-12 (OpenAPI 3.1's own
dialect); pydantic's ``$defs`` become ``#/components/schemas``.

SOAP operations themselves (``POST /soap/{name}``) are described by their WSDLs, not here.
Reading the document needs no key (like ``/healthz``); it says which feeds and services exist
and what they take, never who may call them.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from adapters.base import InboundAdapter, NativeField
from adapters.mapping import CanonicalAdapter
from gateway import __version__
from gateway.http.access import ACCESS
from gateway.http.middleware import HEADER_VALUE
from gateway.http.state import GATEWAY
from gateway.routing import FeedSpec, RoutingTable, ServiceSpec
from gateway.routing.diff import SECTIONS as DIFF_SECTIONS

if TYPE_CHECKING:
    from gateway.runtime import Gateway

OPENAPI_VERSION: Final = "3.1.0"
JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
_REF: Final = "#/components/schemas/{model}"
_BEARER: Final = "bearer"
_ADMIN: Final = "admin"
_JSON: Final = "application/json"
_XML: Final = "text/xml"
_SHA256: Final = {"type": "string", "pattern": "^[0-9a-f]{64}$"}

_HEADER = {"type": "string", "pattern": HEADER_VALUE.pattern}
_ERROR_ID = {"type": "string", "pattern": "^[0-9a-f]{16}$"}
#: a generated UUID, or the caller's X-Message-Id (a header value: it may hold "/", unlike the
#: envelope model's MessageId, which the pipeline does not re-validate)
_MESSAGE_ID = {"type": "string", "pattern": HEADER_VALUE.pattern}
_ROUTES = {
    "type": "array",
    "items": {"type": "string", "minLength": 1},
    "description": "the destinations the record was published to (`unrouted` when no route "
    "took it; empty for a duplicate)",
}


def openapi_document(
    table: RoutingTable,
    *,
    adapters: Mapping[str, InboundAdapter],
    schemas: Mapping[str, type[BaseModel]],
    queries: Mapping[str, type[BaseModel]],
    answers: Mapping[str, type[BaseModel]],
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the REST API ``table`` defines.

    ``adapters`` are the inbound adapters feeds name, ``schemas`` the canonical models by
    schema id, ``queries`` and ``answers`` each service's query and answer models.
    """
    rest_feeds = {name: feed for name, feed in table.feeds.items() if feed.channel == "rest"}
    components = _Components()
    for feed in rest_feeds.values():
        adapter = adapters[feed.adapter]
        if isinstance(adapter, CanonicalAdapter):
            components.model(schemas[feed.schema_id], "validation")
        else:
            components.native(adapter)
    for name in table.services:
        components.model(queries[name], "validation")
        components.model(answers[name], "serialization")
    components.resolve()

    paths: dict[str, Any] = {}
    for name, feed in rest_feeds.items():
        adapter = adapters[feed.adapter]
        record = (
            components.ref(schemas[feed.schema_id], "validation")
            if isinstance(adapter, CanonicalAdapter)
            else components.native_ref(adapter)
        )
        paths[f"/v1/feeds/{name}"] = {"post": _feed_operation(name, feed, record)}
    for name, service in table.services.items():
        paths[f"/v1/services/{name}"] = {
            "post": _service_operation(
                name,
                service,
                components.ref(queries[name], "validation"),
                components.ref(answers[name], "serialization"),
            )
        }
    soap_feeds = sorted(name for name, feed in table.feeds.items() if feed.channel == "soap")
    for name in soap_feeds:
        paths[f"/soap/{name}"] = {"get": _wsdl_operation(name, "feed")}
    for name in table.services:
        paths[f"/soap/{name}"] = {"get": _wsdl_operation(name, "service")}
    paths.update(_admin_paths())
    paths.update(_probe_paths())
    _unique_operation_ids(paths)
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": JSON_SCHEMA_DIALECT,
        "info": {
            "title": "E-Integratsiya",
            "version": __version__,
            "summary": "The interagency integration gateway of the Digital Prosecutor's Office",
            "description": _description(table),
            "x-routing-sha256": table.sha256,
        },
        "tags": [
            {"name": "feeds", "description": "one-way pushes of records in a ministry's format"},
            {
                "name": "services",
                "description": "record requests: a canonical query in, the canonical record out",
            },
            {"name": "soap", "description": "the WSDLs of the SOAP feeds and services"},
            {"name": "admin", "description": "the routing table in force, and reloading it"},
            {"name": "probes", "description": "liveness, readiness, metrics, this document"},
        ],
        "security": [{_BEARER: []}],
        "paths": paths,
        "components": {
            "schemas": {**components.schemas(), **_shared_schemas()},
            "parameters": _parameters(),
            "headers": _headers(),
            "securitySchemes": {
                _BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the calling system's API key, as routing.yaml gives it "
                    "(`systems.<id>.api_keys`)",
                },
                _ADMIN: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the operators' key, `GATEWAY_ADMIN_KEY` (no system's API "
                    "key is an admin key; without it set, the admin API answers 403 "
                    "`client.admin_disabled`)",
                },
            },
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI document of the table in force (no key needed; access-logged as
    ``kind: openapi``)."""
    request[ACCESS].kind = "openapi"
    return web.Response(body=_document_bytes(request.app[GATEWAY]), content_type=_JSON)


_cache: weakref.WeakKeyDictionary[Gateway, tuple[object, bytes]] = weakref.WeakKeyDictionary()


def _document_bytes(gateway: Gateway) -> bytes:
    """The document of what ``gateway`` has in force, made once per table put in force."""
    now = gateway.in_force
    cached = _cache.get(gateway)
    if cached is not None and cached[0] is now:
        return cached[1]
    document = openapi_document(
        now.table,
        adapters=gateway.adapters,
        schemas=gateway.schemas,
        queries=now.queries,
        answers=now.answers,
    )
    body = orjson.dumps(document)
    _cache[gateway] = (now, body)
    return body


def _description(table: RoutingTable) -> str:
    lines = [
        "Ministries push records to `POST /v1/feeds/{feed}` in their own JSON; prosecutorial "
        "systems ask for records at `POST /v1/services/{service}`. Every caller sends its API "
        "key as `Authorization: Bearer <key>`; every answer carries `X-Correlation-Id`. "
        'Errors have one body, `{"error": {"code", "message", "error_id", ...}}`: the '
        "code's prefix says whose side the failure is on (`client.*` the caller's request, "
        "`gateway.*` ours, `provider.*` the system behind us), and `error_id` finds the event "
        "in the access log.",
    ]
    soap = sorted(
        [name for name, feed in table.feeds.items() if feed.channel == "soap"]
        + list(table.services)
    )
    if soap:
        wsdls = ", ".join(f"`GET /soap/{name}?wsdl`" for name in soap)
        lines.append(
            "SOAP endpoints (`POST /soap/{name}`: the SOAP feeds, and every service as a SOAP "
            "operation) are not described here but by their WSDLs, which need the same key: "
            f"{wsdls}."
        )
    lines.append(
        "The admin API (`/admin/*`) takes the operators' key, `GATEWAY_ADMIN_KEY`, as "
        "`Authorization: Bearer <key>`; the probes and this document need no key."
    )
    return "\n\n".join(lines)


class _Components:
    """The component schemas of the canonical models and native records the paths use."""

    def __init__(self) -> None:
        self._models: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
        self._natives: dict[str, dict[str, Any]] = {}
        self._refs: dict[tuple[type[BaseModel], JsonSchemaMode], dict[str, Any]] = {}
        self._defs: dict[str, Any] = {}

    def model(self, model: type[BaseModel], mode: JsonSchemaMode) -> None:
        self._models[(model, mode)] = None

    def native(self, adapter: InboundAdapter) -> None:
        self._natives[_native_name(adapter)] = {
            **_object_schema(adapter.native_shape()),
            "title": f"{adapter.name} (native)",
            "description": f"A record as the {adapter.name} adapter reads it, mapped to "
            f"{adapter.schema_id}. A field may be null, which is the same as leaving it out; "
            "the canonical schema decides what is required (422 names the native field).",
        }

    def resolve(self) -> None:
        """Generate every model's schema at once, so shared sub-models get one component."""
        if not self._models:
            return
        models = list(self._models)
        refs, top = models_json_schema(models, ref_template=_REF)
        self._refs = {key: refs[key] for key in models}
        self._defs = dict(top.get("$defs", {}))
        clash = (set(self._defs) | set(self._natives)) & set(_shared_schemas())
        if clash:
            raise ValueError(f"component names taken twice: {', '.join(sorted(clash))}")

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(self._refs[(model, mode)])

    def native_ref(self, adapter: InboundAdapter) -> dict[str, Any]:
        return {"$ref": _REF.format(model=_native_name(adapter))}

    def schemas(self) -> dict[str, Any]:
        return dict(sorted({**self._defs, **self._natives}.items()))


def _native_name(adapter: InboundAdapter) -> str:
    return f"native.{adapter.name}"


_NATIVE_TYPES: Final = {"string", "integer", "number", "boolean"}


def _object_schema(fields: Sequence[NativeField]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: _field_schema(f) for f in fields},
        "additionalProperties": False,
    }
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    return schema


def _field_schema(field: NativeField) -> dict[str, Any]:
    value: dict[str, Any]
    if field.fields is not None:
        value = _object_schema(field.fields)
    else:
        assert field.type in _NATIVE_TYPES
        value = {"type": field.type}
    if field.repeated:
        value = {"type": "array", "items": value}
    return {"anyOf": [value, {"type": "null"}]}


def _feed_operation(name: str, feed: FeedSpec, record: dict[str, Any]) -> dict[str, Any]:
    dedup = feed.dedup is not None
    receipts = {"oneOf": [_ref("Receipt"), _ref("BatchReceipt")]}
    responses: dict[str, Any] = {
        "202": _json_response(
            "Accepted: RabbitMQ confirmed every copy of every record (a batch may hold "
            "duplicates, answered with the original message id)",
            receipts,
        ),
    }
    if dedup:
        responses["200"] = _json_response(
            "Every record was a duplicate of one accepted within the dedup window: nothing "
            "was published again",
            receipts,
        )
    errors = [
        (400, ["client.malformed_json", "client.empty_batch", "client.bad_header"]),
        (401, list(_AUTH_CODES)),
        (403, ["client.access_denied"]),
        *([(409, ["client.duplicate_in_progress"])] if dedup else []),
        (413, ["client.payload_too_large", "client.batch_too_large"]),
        (415, ["client.unsupported_media_type"]),
        (422, ["client.schema_violation"]),
        (429, ["client.rate_limited"]),
        (500, ["gateway.internal"]),
        (
            503,
            ["gateway.broker_unavailable", "gateway.publish_failed"]
            + (["gateway.dedup_unavailable"] if dedup else [])
            + list(_UNAVAILABLE_CODES),
        ),
    ]
    responses.update(_error_responses(errors))
    description = feed.description or f"Records of feed {name}"
    return {
        "operationId": f"push {name}",
        "tags": ["feeds"],
        "summary": f"Push records of feed {name} ({feed.schema_id})",
        "description": f"{description}. One record (a JSON object) or a batch (a JSON array of "
        f"1 to {feed.max_batch}), validated whole: one invalid record refuses the batch and "
        "nothing is published."
        + (
            " Deduplicated: a record accepted before within the window is answered as a duplicate."
            if dedup
            else ""
        ),
        "parameters": [
            _param_ref("X-Correlation-Id"),
            _param_ref("X-User-Id"),
            _param_ref("X-Issue"),
            _param_ref("X-Message-Id"),
        ],
        "requestBody": {
            "required": True,
            "content": {
                _JSON: {
                    "schema": {
                        "oneOf": [
                            record,
                            {
                                "type": "array",
                                "items": record,
                                "minItems": 1,
                                "maxItems": feed.max_batch,
                            },
                        ]
                    }
                }
            },
        },
        "responses": responses,
    }


def _service_operation(
    name: str, service: ServiceSpec, query: dict[str, Any], answer: dict[str, Any]
) -> dict[str, Any]:
    required = set(service.require)
    missing = [f"client.missing_{field}" for field in ("user_id", "issue") if field in required]
    errors = [
        (400, ["client.malformed_json", "client.bad_header", *missing]),
        (401, list(_AUTH_CODES)),
        (403, ["client.access_denied"]),
        (404, ["provider.not_found"]),
        (413, ["client.payload_too_large"]),
        (415, ["client.unsupported_media_type"]),
        (422, ["client.schema_violation"]),
        (429, ["client.rate_limited"]),
        (500, ["gateway.internal"]),
        (502, ["provider.fault", "provider.unavailable", "provider.bad_answer"]),
        (503, ["gateway.broker_unavailable", *_UNAVAILABLE_CODES]),
        (504, ["provider.timeout"]),
    ]
    responses: dict[str, Any] = {
        "200": _json_response(
            "The provider's answer as the canonical record",
            {
                "type": "object",
                "properties": {
                    "service": {"const": name},
                    "answer": answer,
                    "correlation_id": _HEADER,
                },
                "required": ["service", "answer", "correlation_id"],
                "additionalProperties": False,
            },
        ),
        **_error_responses(errors),
    }
    description = service.description or f"Service {name}"
    return {
        "operationId": f"ask {name}",
        "tags": ["services"],
        "summary": f"Ask service {name} for a record",
        "description": f"{description}. The query goes through RabbitMQ to the service's "
        f"provider worker; the caller waits at most {service.timeout:g}s.",
        "parameters": [
            _param_ref("X-Correlation-Id"),
            _required_param("X-User-Id") if "user_id" in required else _param_ref("X-User-Id"),
            _required_param("X-Issue") if "issue" in required else _param_ref("X-Issue"),
        ],
        "requestBody": {"required": True, "content": {_JSON: {"schema": query}}},
        "responses": responses,
    }


def _wsdl_operation(name: str, kind: str) -> dict[str, Any]:
    """``GET /soap/{name}?wsdl``: the WSDL of a SOAP feed or of a service; its errors are SOAP
    1.1 Faults with the error's own HTTP status (a WSDL download is plain HTTP)."""
    who = "may push to the feed (`from`)" if kind == "feed" else "may call it (`allow`)"
    faults = [
        (
            401,
            [
                "Client.Authentication.MissingKey",
                "Client.Authentication.UnknownKey",
                "Client.Authentication.KeyRevoked",
                "Client.Authentication.UnknownCertificate",
                "Client.Authentication.IdentityMismatch",
            ],
        ),
        (403, ["Client.AccessDenied"]),
        (404, ["Client.NotFound"]),
        (500, ["Server.Internal"]),
    ]
    responses: dict[str, Any] = {
        "200": {
            "description": "The WSDL (document/literal, SOAP 1.1 and 1.2 bindings), its ports "
            "addressed to the host the request came to",
            "headers": _correlation_header(),
            "content": {_XML: {"schema": {"type": "string"}}},
        },
        **_error_responses([(400, ["client.bad_header"])]),
    }
    for status, codes in faults:
        headers = _correlation_header()
        if status == 401:
            headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWW-Authenticate"}
        responses[str(status)] = {
            "description": f"{_STATUS_TEXT[status]}: a SOAP 1.1 Fault, "
            + ", ".join(f"`{code}`" for code in codes)
            + ("; without `?wsdl`, GET serves nothing" if status == 404 else ""),
            "headers": headers,
            "content": {_XML: {"schema": {"type": "string"}}},
        }
    return {
        "operationId": f"wsdl {name}",
        "tags": ["soap"],
        "summary": f"The WSDL of {kind} {name}",
        "description": f"For a caller that {who}; `POST /soap/{name}` takes the operation "
        "the WSDL describes.",
        "parameters": [
            {
                "name": "wsdl",
                "in": "query",
                "required": True,
                "allowEmptyValue": True,
                "description": "present (its value is not read): GET serves the WSDL only",
                "schema": {"type": "string"},
            },
            _param_ref("X-Correlation-Id"),
        ],
        "responses": responses,
    }


def _admin_paths() -> dict[str, Any]:
    """``POST /admin/reload`` and ``GET /admin/routing``, behind the admin key."""
    errors = [
        (400, ["client.bad_header"]),
        (401, ["client.missing_key", "client.unknown_key"]),
        (403, ["client.admin_disabled"]),
        (500, ["gateway.internal"]),
    ]
    refused = [(422, ["client.routing_refused"])]

    def operation(operation_id: str, summary: str, description: str) -> dict[str, Any]:
        return {
            "operationId": operation_id,
            "tags": ["admin"],
            "summary": summary,
            "description": description,
            "security": [{_ADMIN: []}],
            "parameters": [_param_ref("X-Correlation-Id")],
        }

    return {
        "/admin/reload": {
            "post": {
                **operation(
                    "reload",
                    "Reload routing.yaml now",
                    "Reads the file the table in force came from and checks it as `gateway "
                    "routes check` does; a valid, new table is put in force (its topology "
                    "declared first, then the swap: requests in flight finish on the old "
                    "table). An invalid file changes nothing.",
                ),
                "responses": {
                    "200": _json_response(
                        "Put in force, or the same content as the table in force",
                        _ref("ReloadOutcome"),
                    ),
                    **_error_responses(errors + refused),
                },
            }
        },
        "/admin/routing": {
            "get": {
                **operation(
                    "routing",
                    "The routing table in force",
                    "Its source, content hash and load time, the names it holds, and the "
                    "last refused file's problems.",
                ),
                "responses": {
                    "200": _json_response("The table in force", _ref("RoutingStatus")),
                    **_error_responses(errors),
                },
            }
        },
    }


def _param_ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/parameters/{name}"}


def _required_param(name: str) -> dict[str, Any]:
    """The parameter, required (a reference cannot say so in OpenAPI 3.1)."""
    parameter = _parameters()[name]
    return {
        **parameter,
        "required": True,
        "description": f"required by this service: {parameter['description']}; 400 "
        f"`client.missing_{'user_id' if name == 'X-User-Id' else 'issue'}` without it",
    }


def _probe_paths() -> dict[str, Any]:
    bad_header = _error_responses([(400, ["client.bad_header"])])

    def probe(operation_id: str, summary: str, responses: dict[str, Any]) -> dict[str, Any]:
        return {
            "get": {
                "operationId": operation_id,
                "tags": ["probes"],
                "summary": summary,
                "security": [],
                "parameters": [_param_ref("X-Correlation-Id")],
                "responses": {**responses, **bad_header},
            }
        }

    return {
        "/healthz": probe(
            "healthz",
            "The process is alive and serving HTTP",
            {"200": _json_response("alive", _ref("Health"))},
        ),
        "/readyz": probe(
            "readyz",
            "Whether the gateway can accept messages",
            {
                "200": _json_response("ready: every check is `ok`", _ref("Readiness")),
                "503": _json_response(
                    "not ready: each failing check says what is wrong",
                    _ref("Readiness"),
                    retry_after=True,
                ),
            },
        ),
        "/metrics": probe(
            "metrics",
            "Prometheus metrics",
            {
                "200": {
                    "description": "Prometheus text exposition format",
                    "headers": _correlation_header(),
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        ),
        "/openapi.json": probe(
            "openapi",
            "This document",
            {"200": _json_response("OpenAPI 3.1", {"type": "object"})},
        ),
    }


#: every way a caller's identity is refused (security.py)
_AUTH_CODES: Final = (
    "client.missing_key",
    "client.unknown_key",
    "client.key_revoked",
    "client.unknown_certificate",
    "client.identity_mismatch",
)
#: 503s any feed or service may answer: switched off, or the audit log cannot record it
_UNAVAILABLE_CODES: Final = ("gateway.disabled", "gateway.audit_unavailable")

_STATUS_TEXT: Final = {
    400: "Bad request",
    401: "No API key, or a key of no system",
    403: "The calling system may not do this",
    404: "Not found",
    409: "The same record is being accepted by another request: send it again later",
    413: "Too large",
    415: "Not application/json (charset, if given, utf-8)",
    422: "Invalid: every problem is listed, nothing was done",
    429: "Over a rate limit: send it again after Retry-After",
    500: "A bug: the log has the traceback under the error_id",
    502: "The provider failed or answered what cannot be read",
    503: "Unavailable for now: send it again after Retry-After",
    504: "The provider did not answer in time",
}


def _error_responses(errors: Iterable[tuple[int, list[str]]]) -> dict[str, Any]:
    out = {}
    for status, codes in errors:
        schema = {
            "allOf": [
                _ref("Error"),
                {"properties": {"error": {"properties": {"code": {"enum": codes}}}}},
            ]
        }
        description = f"{_STATUS_TEXT[status]}: " + ", ".join(f"`{c}`" for c in codes)
        out[str(status)] = _json_response(
            description,
            schema,
            retry_after=status in (409, 429, 503),
            authenticate=status == 401,
        )
    return out


def _json_response(
    description: str,
    schema: dict[str, Any],
    *,
    retry_after: bool = False,
    authenticate: bool = False,
) -> dict[str, Any]:
    headers = _correlation_header()
    if retry_after:
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    if authenticate:
        headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWW-Authenticate"}
    return {"description": description, "headers": headers, "content": {_JSON: {"schema": schema}}}


def _correlation_header() -> dict[str, Any]:
    return {"X-Correlation-Id": {"$ref": "#/components/headers/X-Correlation-Id"}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": _REF.format(model=name)}


def _parameters() -> dict[str, Any]:
    def header(name: str, description: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "header",
            "required": False,
            "description": description + " (1-128 letters, digits and `._:/-`, starting with a "
            "letter or digit; 400 `client.bad_header` otherwise)",
            "schema": _HEADER,
        }

    return {
        "X-Correlation-Id": header(
            "X-Correlation-Id",
            "ties the request to what it causes: echoed in the answer and carried into AMQP "
            "`correlation_id`; generated when absent",
        ),
        "X-User-Id": header(
            "X-User-Id", "the person behind the request: in the envelope and the access log"
        ),
        "X-Issue": header("X-Issue", "the case number: in the envelope and the access log"),
        "X-Message-Id": header(
            "X-Message-Id",
            "the caller's id for a single record (400 on a batch); a feed that deduplicates by "
            "`message_id` answers a resend with the same id as a duplicate",
        ),
    }


def _headers() -> dict[str, Any]:
    return {
        "X-Correlation-Id": {
            "description": "the request's X-Correlation-Id, or the one generated for it",
            "required": True,
            "schema": {"type": "string", "minLength": 1},
        },
        "Retry-After": {
            "description": "seconds to wait before sending again",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
        "WWW-Authenticate": {
            "description": '`Bearer realm="e-integratsiya"`',
            "required": True,
            "schema": {"type": "string", "pattern": "^Bearer "},
        },
    }


def _shared_schemas() -> dict[str, Any]:
    receipt_status = {"type": "string", "enum": ["accepted", "duplicate"]}
    return {
        "Receipt": {
            "type": "object",
            "description": "What became of a single record",
            "properties": {
                "message_id": _MESSAGE_ID,
                "status": receipt_status,
                "routes": _ROUTES,
                "correlation_id": _HEADER,
            },
            "required": ["message_id", "status", "routes", "correlation_id"],
            "additionalProperties": False,
        },
        "BatchReceipt": {
            "type": "object",
            "description": "What became of each record of a batch, in order",
            "properties": {
                "status": receipt_status,
                "count": {"type": "integer", "minimum": 1},
                "records": {"type": "array", "items": _ref("RecordReceipt")},
                "correlation_id": _HEADER,
            },
            "required": ["status", "count", "records", "correlation_id"],
            "additionalProperties": False,
        },
        "RecordReceipt": {
            "type": "object",
            "description": "What became of one record of a batch; in a 503 answer, `failed` "
            "with the `error` (send those records again)",
            "properties": {
                "index": {"type": "integer", "minimum": 0},
                "message_id": _MESSAGE_ID,
                "status": {"type": "string", "enum": ["accepted", "duplicate", "failed"]},
                "routes": _ROUTES,
                "error": {"type": "string"},
            },
            "required": ["index", "message_id", "status", "routes"],
            "additionalProperties": False,
        },
        "Problem": {
            "type": "object",
            "description": "One problem of one field, under the caller's field name",
            "properties": {
                "field": {"type": "string"},
                "message": {"type": "string"},
                "canonical_field": {"type": "string"},
            },
            "required": ["field", "message"],
            "additionalProperties": False,
        },
        "RecordProblems": {
            "type": "object",
            "description": "Every problem of one record of a push",
            "properties": {
                "index": {"type": "integer", "minimum": 0},
                "problems": {"type": "array", "items": _ref("Problem"), "minItems": 1},
            },
            "required": ["index", "problems"],
            "additionalProperties": False,
        },
        "Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {
                            "type": "string",
                            "pattern": r"^(client|gateway|provider)\.[a-z0-9_]+$",
                        },
                        "message": {"type": "string"},
                        "error_id": _ERROR_ID,
                        "line": {"type": "integer", "description": "malformed JSON: where"},
                        "column": {"type": "integer"},
                        "position": {"type": "integer"},
                        "channel": {
                            "type": "string",
                            "description": "`client.wrong_channel`: where the feed is pushed",
                        },
                        "records": {
                            "type": "array",
                            "description": "422: every invalid record's problems; 503 of a "
                            "batch: every record's receipt, `failed` or not",
                            "items": {"anyOf": [_ref("RecordProblems"), _ref("RecordReceipt")]},
                        },
                        "problems": {
                            "type": "array",
                            "description": "422 of a record request: every problem of the "
                            "query; 422 `client.routing_refused`: every problem of the file, "
                            "as `file:line: key: message`",
                            "items": {"anyOf": [_ref("Problem"), {"type": "string"}]},
                        },
                        "sha256": {
                            "anyOf": [_SHA256, {"type": "null"}],
                            "description": "`client.routing_refused`: the refused file's "
                            "SHA-256 (null when it could not be read)",
                        },
                        "request_id": {
                            "type": "string",
                            "description": "504: the request id the provider worker got",
                        },
                        "limit": {
                            "type": "string",
                            "enum": ["system", "feed", "service"],
                            "description": "429: whose rate limit was reached",
                        },
                    },
                    "required": ["code", "message", "error_id"],
                    "additionalProperties": False,
                }
            },
            "required": ["error"],
            "additionalProperties": False,
        },
        "ReloadOutcome": {
            "type": "object",
            "description": "What `POST /admin/reload` did",
            "properties": {
                "status": {"type": "string", "enum": ["reloaded", "unchanged"]},
                "sha256": {**_SHA256, "description": "the content hash of the table in force"},
                "diff": {
                    "type": "object",
                    "description": "per section of routing.yaml the names added, removed "
                    "and changed; only what is not empty",
                    "propertyNames": {"enum": list(DIFF_SECTIONS)},
                    "additionalProperties": {
                        "type": "object",
                        "propertyNames": {"enum": ["added", "removed", "changed"]},
                        "additionalProperties": {
                            "type": "array",
                            "items": {"type": "string"},
                            "minItems": 1,
                        },
                    },
                },
            },
            "required": ["status", "sha256", "diff"],
            "additionalProperties": False,
        },
        "RoutingStatus": {
            "type": "object",
            "description": "The routing table in force, and the last file a reload refused",
            "properties": {
                "source": {"type": "string", "description": "the file it came from"},
                "sha256": _SHA256,
                "loaded_at": {"type": "string", "format": "date-time"},
                **{
                    section: {"type": "array", "items": {"type": "string"}}
                    for section in ("systems", "feeds", "routes", "destinations", "services")
                },
                "last_error": {
                    "anyOf": [
                        {
                            "type": "object",
                            "properties": {
                                "at": {"type": "string", "format": "date-time"},
                                "sha256": {"anyOf": [_SHA256, {"type": "null"}]},
                                "reason": {
                                    "type": "string",
                                    "description": "what asked for the reload",
                                },
                                "problems": {"type": "array", "items": {"type": "string"}},
                            },
                            "required": ["at", "sha256", "reason", "problems"],
                            "additionalProperties": False,
                        },
                        {"type": "null"},
                    ],
                    "description": "null once a reload succeeded (or none was refused)",
                },
            },
            "required": [
                "source",
                "sha256",
                "loaded_at",
                "systems",
                "feeds",
                "routes",
                "destinations",
                "services",
                "last_error",
            ],
            "additionalProperties": False,
        },
        "Health": {
            "type": "object",
            "properties": {"status": {"const": "alive"}},
            "required": ["status"],
            "additionalProperties": False,
        },
        "Readiness": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["ready", "not_ready"]},
                "checks": {
                    "type": "object",
                    "description": "check → `ok`, or what is wrong",
                    "additionalProperties": {"type": "string"},
                },
            },
            "required": ["status", "checks"],
            "additionalProperties": False,
        },
    }


def _unique_operation_ids(paths: dict[str, Any]) -> None:
    """Operation ids as identifiers (``push_crime_reports``), made unique if names collide."""
    seen: set[str] = set()
    for item in paths.values():
        for operation in item.values():
            base = re.sub(r"[^A-Za-z0-9]+", "_", operation["operationId"]).strip("_")
            candidate, n = base, 2
            while candidate in seen:
                candidate, n = f"{base}_{n}", n + 1
            seen.add(candidate)
            operation["operationId"] = candidate
