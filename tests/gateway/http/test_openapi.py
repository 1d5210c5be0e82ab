"""GET /openapi.json: the REST API as OpenAPI 3.1, and schemathesis holding the gateway to it.

The schemathesis run fuzzes every operation of the document the gateway serves for the
repository's routing.yaml (feeds publishing to the real RabbitMQ in the test's namespace,
services asking the fake ministries on loopback, the WSDLs, the admin API), with the keys of
each feed's and service's callers and the admin key, and fails on any 5xx, any status,
content type, header or body the document does not list. It is deterministic: a fixed seed,
a bounded number of examples per operation, no example database.
"""

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import schemathesis
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from structlog.testing import capture_logs

from adapters import ADAPTERS
from adapters.providers import PROVIDERS
from gateway import errors
from gateway.config import Settings
from gateway.http.openapi import openapi_document
from gateway.routing import RoutingTable, compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.amqp import delete_topology
from tests.support.gateway import repository_table, serve
from tests.support.ministries import Ministries
from tests.support.records import ROUTING_YAML, load

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ADMIN_KEY = "test-admin-key-openapi-0000"
#: who calls what in the repository's routing.yaml: a test key of a system allowed
CALLERS = {
    "/v1/feeds/crime-reports": keys.MVD,
    "/v1/feeds/portal-crime-reports": keys.PORTAL,
    "/v1/feeds/organizations": keys.SOLIQ,
    "/v1/feeds/court-decisions": keys.EXSUD,
    "/v1/feeds/case-events": keys.ETERGOV,
    "/v1/services/person.by-pinfl": keys.ETERGOV,
    "/v1/services/organization.by-stir": keys.ETERGOV,
    "/soap/crime-reports-soap": keys.MVD,
    "/soap/person.by-pinfl": keys.ETERGOV,
    "/soap/organization.by-stir": keys.ETERGOV,
    "/admin/reload": ADMIN_KEY,
    "/admin/routing": ADMIN_KEY,
}


def document_of(table: RoutingTable) -> dict[str, Any]:
    """The document of ``table`` with the shipped adapters, schemas and providers."""
    providers = {name: PROVIDERS[spec.provider.adapter] for name, spec in table.services.items()}
    return openapi_document(
        table,
        adapters=ADAPTERS,
        schemas=REGISTRY,
        queries={name: provider.query for name, provider in providers.items()},
        answers={name: REGISTRY[p.answer_schema] for name, p in providers.items()},
    )


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_the_document_is_valid_openapi_3_1():
    """openapi-spec-validator finds nothing wrong with the repository's document."""
    document = document_of(repository_table())
    validate(document)
    assert "3.1.0" == document["openapi"]
    assert "https://json-schema.org/draft/2020-12/schema" == document["jsonSchemaDialect"]


def test_every_endpoint_the_app_serves_has_its_paths():
    """A path per REST feed and per service, a WSDL download per SOAP feed and service, the
    admin API and the probes; no path for a SOAP or file feed's REST push."""
    table = repository_table()
    document = document_of(table)
    rest = [f"/v1/feeds/{n}" for n, f in table.feeds.items() if f.channel == "rest"]
    services = [f"/v1/services/{n}" for n in table.services]
    wsdls = [
        *(f"/soap/{n}" for n, f in sorted(table.feeds.items()) if f.channel == "soap"),
        *(f"/soap/{n}" for n in table.services),
    ]
    admin = ["/admin/reload", "/admin/routing"]
    probes = ["/healthz", "/readyz", "/metrics", "/openapi.json"]
    assert [*rest, *services, *wsdls, *admin, *probes] == list(document["paths"])
    assert set(CALLERS) == {*rest, *services, *wsdls, *admin}
    assert "/v1/feeds/crime-reports-soap" not in document["paths"]
    assert "/v1/feeds/inspections" not in document["paths"]  # a file feed
    assert ["get"] == list(document["paths"]["/soap/crime-reports-soap"])
    assert "`GET /soap/crime-reports-soap?wsdl`" in document["info"]["description"]
    assert "`GET /soap/person.by-pinfl?wsdl`" in document["info"]["description"]


def test_the_admin_api_takes_the_admin_key_and_the_rest_the_systems_keys():
    """Two bearer schemes: a system's API key for the API (the document's default), the
    admin key for /admin/*; the probes, the document and nothing else need no key."""
    document = document_of(repository_table())
    schemes = document["components"]["securitySchemes"]
    assert {"bearer", "admin"} == set(schemes)
    assert {("http", "bearer")} == {(s["type"], s["scheme"]) for s in schemes.values()}
    assert [{"bearer": []}] == document["security"]
    security = {
        path: operation.get("security")
        for path, item in document["paths"].items()
        for operation in item.values()
    }
    assert {"/admin/reload": [{"admin": []}], "/admin/routing": [{"admin": []}]} == {
        path: value for path, value in security.items() if path.startswith("/admin/")
    }
    assert {"/healthz", "/readyz", "/metrics", "/openapi.json"} == {
        path for path, value in security.items() if value == []
    }
    reload = document["paths"]["/admin/reload"]["post"]["responses"]
    assert {"200", "400", "401", "403", "422", "500"} == set(reload)


def test_every_error_lists_the_codes_of_its_status_as_errors_py_gives_them():
    """Each error response of a REST operation names codes whose error class answers with
    that status (gateway/errors.py), and its body is the one error body."""
    document = document_of(repository_table())
    raised_as = {
        "client.malformed_json": errors.MalformedJsonError,
        "client.empty_batch": errors.BadRequestError,
        "client.bad_header": errors.BadRequestError,
        "client.missing_user_id": errors.BadRequestError,
        "client.missing_issue": errors.BadRequestError,
        "client.missing_key": errors.AuthenticationError,
        "client.unknown_key": errors.AuthenticationError,
        "client.key_revoked": errors.AuthenticationError,
        "client.unknown_certificate": errors.AuthenticationError,
        "client.identity_mismatch": errors.AuthenticationError,
        "client.rate_limited": errors.RateLimitedError,
        "gateway.disabled": errors.DisabledError,
        "gateway.audit_unavailable": errors.AuditUnavailableError,
        "client.access_denied": errors.AccessDeniedError,
        "client.admin_disabled": errors.AccessDeniedError,
        "provider.not_found": errors.ProviderNotFoundError,
        "client.duplicate_in_progress": errors.ConflictError,
        "client.payload_too_large": errors.PayloadTooLargeError,
        "client.batch_too_large": errors.PayloadTooLargeError,
        "client.unsupported_media_type": errors.UnsupportedMediaTypeError,
        "client.schema_violation": errors.SchemaViolationError,
        "client.routing_refused": errors.RoutingRefusedError,
        "gateway.internal": errors.InternalError,
        "provider.fault": errors.ProviderFaultError,
        "provider.unavailable": errors.ProviderUnavailableError,
        "provider.bad_answer": errors.ProviderAnswerError,
        "gateway.broker_unavailable": errors.BrokerUnavailableError,
        "gateway.publish_failed": errors.PublishFailedError,
        "gateway.dedup_unavailable": errors.DedupUnavailableError,
        "provider.timeout": errors.ProviderTimeoutError,
    }
    statuses = {code: cls.status for code, cls in raised_as.items()}
    seen = set()
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                schema = response["content"].get("application/json", {}).get("schema", {})
                if "allOf" not in schema:
                    continue
                error, codes = schema["allOf"]
                assert {"$ref": "#/components/schemas/Error"} == error
                for code in codes["properties"]["error"]["properties"]["code"]["enum"]:
                    assert (code, statuses[code]) == (code, int(status))
                    seen.add(code)
    assert set(statuses) == seen


def test_every_reference_resolves_into_the_components_and_no_defs_are_left():
    """pydantic's $defs became components; every $ref points at one that exists."""
    document = document_of(repository_table())
    text = orjson.dumps(document).decode()
    assert "$defs" not in text
    for ref in set(refs(document)):
        section, name = ref.removeprefix("#/components/").split("/")
        assert name in document["components"][section], ref


def test_a_native_feed_takes_its_ministrys_fields_and_a_canonical_feed_the_model():
    """crime-reports takes the Interior ministry's native record, a batch of 1..max_batch of
    them; court-decisions takes the canonical court_decision/1 model's own schema."""
    document = document_of(repository_table())
    schemas = document["components"]["schemas"]
    body = document["paths"]["/v1/feeds/crime-reports"]["post"]["requestBody"]
    one, batch = body["content"]["application/json"]["schema"]["oneOf"]
    assert {"$ref": "#/components/schemas/native.mvd.crime_report"} == one
    assert (1, 1000) == (batch["minItems"], batch["maxItems"])
    native = schemas["native.mvd.crime_report"]
    assert {"xabar_raqami", "arizachi", "manzil"} <= set(native["properties"])
    assert False is native["additionalProperties"]
    canonical = document["paths"]["/v1/feeds/court-decisions"]["post"]["requestBody"]
    one, _ = canonical["content"]["application/json"]["schema"]["oneOf"]
    assert {"$ref": "#/components/schemas/CourtDecision"} == one
    assert (
        REGISTRY["court_decision/1"].model_json_schema()["required"]
        == (schemas["CourtDecision"]["required"])
    )


def test_a_service_answers_its_canonical_record_wrapped_and_requires_its_headers():
    """person.by-pinfl: the query's schema in; {service, answer: person/1, correlation_id}
    out; X-User-Id and X-Issue required; the provider's statuses listed."""
    operation = document_of(repository_table())["paths"]["/v1/services/person.by-pinfl"]["post"]
    query = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/PersonByPinfl"} == query
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/Person"} == answer["properties"]["answer"]
    assert {"const": "person.by-pinfl"} == answer["properties"]["service"]
    required = {p["name"] for p in operation["parameters"] if p.get("required")}
    assert {"X-User-Id", "X-Issue"} == required
    assert {
        "200",
        "400",
        "401",
        "403",
        "404",
        "413",
        "415",
        "422",
        "429",
        "500",
        "502",
        "503",
        "504",
    } == (set(operation["responses"]))


async def test_the_gateway_serves_its_document_without_a_key(gateway_client):
    """GET /openapi.json needs no key, is the document of the table in force, and is logged
    as kind openapi."""
    gateway, client = gateway_client
    with capture_logs() as logs:
        response = await client.get("/openapi.json")
    assert 200 == response.status
    assert "application/json" == response.content_type
    assert document_of(gateway.table) == await response.json()
    access = [e for e in logs if e["event"] == "access"]
    assert [("openapi", 200, None)] == [(e["kind"], e["status"], e.get("client")) for e in access]


def conforms(document: dict[str, Any], path: str, method: str, status: int, body: Any) -> list:
    """The problems of ``body`` against the document's schema of that answer."""
    response = document["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": document["components"]})
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


async def test_the_admin_answers_to_real_reloads_are_as_documented(
    start_gateway, settings, tmp_path
):
    """A reload that changes the table (200 with a diff), one refused (422 with the file's
    problems) and the table's status with that error: each body as the document says."""
    path = tmp_path / "routing.yaml"
    text = ROUTING_YAML.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    table = compile_routing_table(
        text, str(path), schemas=REGISTRY, adapters=ADAPTERS, providers=PROVIDERS, env=keys.ENV
    )
    settings = settings.model_copy(update={"admin_key": ADMIN_KEY})
    _gateway, client = await start_gateway(settings, table)
    document = document_of(table)
    admin = keys.bearer(ADMIN_KEY)

    path.write_text(text.replace("opens or joins a case", "opens a case or joins one"))
    changed = await client.post("/admin/reload", headers=admin)
    changed_body = await changed.json()
    path.write_text(text.replace("to: [etergov.crime-reports]", "to: [etergov.nowhere]"))
    refused = await client.post("/admin/reload", headers=admin)
    refused_body = await refused.json()
    status = await client.get("/admin/routing", headers=admin)
    status_body = await status.json()

    assert ("reloaded", {"routes": {"changed": ["crime-reports-to-etergov"]}}) == (
        changed_body["status"],
        changed_body["diff"],
    )
    assert [] == conforms(document, "/admin/reload", "post", changed.status, changed_body)
    assert 422 == refused.status
    assert [] == conforms(document, "/admin/reload", "post", 422, refused_body)
    assert refused_body["error"]["problems"] == status_body["last_error"]["problems"]
    assert [] == conforms(document, "/admin/routing", "get", status.status, status_body)


# --- schemathesis against the gateway on loopback -------------------------------------------
#
# The test cases are generated at collection from the document of the repository's table (the
# same function, table and adapters as the served gateway's; the ``served`` fixture checks
# that the gateway answers GET /openapi.json with exactly this document). Loading it from the
# running gateway instead (``schemathesis.pytest.from_fixture``) fails under pytest 9.2:
# schemathesis 4.32 sets ``Node._nodeid``, which pytest 9.2 no longer has.

UNEXPECTED_ON_SOAP = ["put", "delete", "options", "patch", "trace", "query"]
DOCUMENT = document_of(repository_table())
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "seed": 20260501,
            "generation": {"max-examples": 20, "deterministic": True, "database": "none"},
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "operations": [
                {
                    "include-path": path,
                    "headers": {"Authorization": f"Bearer {key}"},
                    # POST /soap/{name} is the SOAP operation its WSDL describes (its faults
                    # are HTTP 500 by SOAP 1.1's binding), not a method the document forgot
                    **(
                        {"phases": {"coverage": {"unexpected-methods": UNEXPECTED_ON_SOAP}}}
                        if path.startswith("/soap/")
                        else {}
                    ),
                }
                for path, key in CALLERS.items()
            ],
        }
    ),
)


@contextlib.contextmanager
def serving(amqp_url: str, settings: Settings) -> Iterator[str]:
    """The base URL of a gateway with the repository's routing.yaml (its services asking the
    fake ministries) and the admin key, served from an event loop in a thread of its own so
    that schemathesis's synchronous requests find it answering; it must serve the document
    the cases were generated from. Its queues are deleted afterwards."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="served-gateway", daemon=True)
    thread.start()

    def run(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(60)

    ministries = Ministries()
    run(ministries.start())
    env = {
        **keys.ENV,
        "MVD_POPULATION_WSDL": ministries.population.wsdl_url,
        "SOLIQ_REGISTER_URL": ministries.tax.url,
    }
    settings = settings.model_copy(update={"admin_key": ADMIN_KEY})
    try:
        # reloads (POST /admin/reload) read the same file with the same variables: "unchanged"
        gateway, client = run(serve(settings, repository_table(env), env=env))
        try:
            served_document = run(_get_json(client, "/openapi.json"))
            assert DOCUMENT == served_document
            yield str(client.make_url("")).rstrip("/")
        finally:
            run(client.close())
            run(delete_topology(amqp_url, gateway.broker.topology))
    finally:
        run(ministries.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def fuzzed(amqp_url, tmp_path_factory) -> Iterator[str]:
    """One gateway for the whole schemathesis run, in a namespace of its own."""
    tmp = tmp_path_factory.mktemp("openapi")
    settings = Settings(
        amqp_url=amqp_url,
        namespace=f"test.openapi.{uuid.uuid4().hex[:8]}",
        publish_timeout=5,
        retry_after=3,
        dedup_sqlite_path=str(tmp / "dedup.sqlite3"),
        drop_root=str(tmp / "drop"),
        audit_url=f"sqlite:///{tmp / 'audit.sqlite3'}",
    )
    with serving(amqp_url, settings) as url:
        yield url


@pytest.fixture
def served(amqp_url, settings) -> Iterator[str]:
    """A gateway of the test's own (an empty idempotency store)."""
    with serving(amqp_url, settings) as url:
        yield url


async def _get_json(client: Any, path: str) -> Any:
    response = await client.get(path)
    return await response.json()


@schema.parametrize()
def test_the_gateway_answers_as_its_document_says(case, fuzzed):
    """No 5xx; every status, content type, header and body as the document lists it."""
    case.call_and_validate(base_url=fuzzed, checks=CHECKS)


def canonical_crime_report() -> dict[str, Any]:
    """The Interior ministry's sample report in its canonical form (what the portal sends)."""
    native = load("mvd_crime_report")
    canonical = ADAPTERS["mvd.crime_report"].to_canonical(native)
    return REGISTRY["crime_report/1"].model_validate(canonical).model_dump(mode="json")


#: records the generated cases rarely hit: valid ones, which the feeds accept (202) and then
#: answer as duplicates (200), and subjects the fake ministries know (200)
KNOWN_GOOD = [
    ("/v1/feeds/crime-reports", lambda: load("mvd_crime_report")),
    ("/v1/feeds/crime-reports", lambda: load("mvd_crime_reports_batch")),
    ("/v1/feeds/portal-crime-reports", canonical_crime_report),
    ("/v1/feeds/organizations", lambda: load("soliq_organization")),
    ("/v1/feeds/court-decisions", lambda: load("court_decision")),
    ("/v1/services/person.by-pinfl", lambda: {"pinfl": "31205850123456"}),
    ("/v1/services/organization.by-stir", lambda: {"stir": "301234567"}),
]


@pytest.mark.parametrize(("path", "body"), KNOWN_GOOD)
def test_answers_to_valid_records_are_as_documented(served, path, body):
    """A valid record is accepted (202), then answered as a duplicate (200); a known subject
    is answered (200): each response as the document says."""
    operation = schema[path]["POST"]
    headers = {
        "Authorization": f"Bearer {CALLERS[path]}",
        "X-User-Id": "inv.rashidov",
        "X-Issue": "1-1203-2026",
    }
    record = body()
    if "/feeds/" in path and isinstance(record, dict):
        headers["X-Message-Id"] = f"openapi-{uuid.uuid4()}"  # organizations dedup by it
    statuses = []
    for _ in range(2):
        case = operation.Case(body=record, headers=headers, media_type="application/json")
        statuses.append(case.call_and_validate(base_url=served, checks=CHECKS).status_code)
    assert ([202, 200] if "/feeds/" in path else [200, 200]) == statuses
