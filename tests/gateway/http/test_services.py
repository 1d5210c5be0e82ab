"""POST /v1/services/{service}: a record request through RabbitMQ to a provider and back."""

import asyncio
import hashlib

import aio_pika
import orjson
import pytest
from structlog.testing import capture_logs

from adapters import ADAPTERS
from gateway.errors import ProviderFaultError, ProviderUnavailableError
from gateway.routing import compile_routing_table
from gateway.services import messages as m
from schemas import REGISTRY
from tests.support import keys
from tests.support.amqp import drained, until
from tests.support.metrics import sample
from tests.support.providers import OTHER, PERSON, StubPersonProvider

SERVICE = "person.by-pinfl"
ROUTING = """\
version: 1
systems:
  gp.e-tergov: {title: E-tergov, api_keys: ["${ETERGOV_KEY}"]}
  mvd.crime-registry: {title: Interior, api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]}
services:
  person.by-pinfl:
    provider: {adapter: test.person_lookup, url: "http://stub.test", timeout: 5s}
    allow: [gp.e-tergov]
    require: [user_id, issue]
    timeout: 1s
"""
ASKER = {**keys.bearer(keys.ETERGOV), "X-User-Id": "inv.rashidov", "X-Issue": "1-1203-2026"}


@pytest.fixture
def provider():
    """The stub provider behind the service."""
    return StubPersonProvider()


@pytest.fixture
async def service_gateway(start_gateway, settings, provider):
    """(gateway, client) serving person.by-pinfl, its provider worker running."""
    table = compile_routing_table(
        ROUTING,
        "services.yaml",
        schemas=REGISTRY,
        adapters=ADAPTERS,
        providers={provider.name: provider},
        env=keys.ENV,
    )
    gateway, client = await start_gateway(settings, table, providers={provider.name: provider})
    await gateway.wait_workers(15)
    return gateway, client


def expired(gateway):
    """How many requests the provider worker dropped because their callers had gone."""
    return sample(gateway, "gateway_service_requests_total", service=SERVICE, outcome="expired")


async def ask(client, query=None, headers=ASKER, service=SERVICE):
    """Ask the service; (status, parsed body, raw body)."""
    body = orjson.dumps(query or {"pinfl": PERSON["pinfl"]})
    response = await client.post(
        f"/v1/services/{service}",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    raw = await response.read()
    return response.status, orjson.loads(raw), raw


async def test_record_request_is_answered_with_the_canonical_record(service_gateway):
    """A person by PINFL comes back as canonical person/1, from the provider, through the
    broker."""
    _, client = service_gateway
    status, body, _ = await ask(client)
    assert (200, SERVICE) == (status, body["service"])
    assert {"pinfl": PERSON["pinfl"], "gender": "female", "citizenship": "UZB"}.items() <= body[
        "answer"
    ].items()


async def test_access_log_ties_the_answer_to_its_request(service_gateway):
    """The access event names who asked, about whom, why, how long it took, and carries the
    SHA-256 of the request and the response bodies."""
    _, client = service_gateway
    with capture_logs() as logs:
        _, _, raw = await ask(client)
    [event] = [e for e in logs if e["event"] == "access"]
    assert {
        "kind": "service",
        "client": "gp.e-tergov",
        "service": SERVICE,
        "subject": PERSON["pinfl"],
        "user_id": "inv.rashidov",
        "issue": "1-1203-2026",
        "outcome": "ok",
        "status": 200,
        "request_sha256": hashlib.sha256(orjson.dumps({"pinfl": PERSON["pinfl"]})).hexdigest(),
        "response_sha256": hashlib.sha256(raw).hexdigest(),
    }.items() <= event.items()
    assert event["provider_ms"] <= event["service_ms"]


async def test_system_not_allowed_is_403(service_gateway):
    """A known system that is not in allow: 403 client.access_denied."""
    _, client = service_gateway
    status, body, _ = await ask(client, headers={**ASKER, **keys.bearer(keys.MVD)})
    assert (403, "client.access_denied") == (status, body["error"]["code"])


async def test_unknown_service_is_404(service_gateway):
    """No such service: 404 client.unknown_service."""
    _, client = service_gateway
    status, body, _ = await ask(client, service="person.by-name")
    assert (404, "client.unknown_service") == (status, body["error"]["code"])


@pytest.mark.parametrize(
    ("header", "code"),
    [("X-User-Id", "client.missing_user_id"), ("X-Issue", "client.missing_issue")],
)
async def test_required_header_missing_is_400_naming_it(service_gateway, provider, header, code):
    """The service requires a user and a case number: without one, 400 naming the header, and
    the provider is not asked."""
    _, client = service_gateway
    headers = {k: v for k, v in ASKER.items() if k != header}
    status, body, _ = await ask(client, headers=headers)
    assert (400, code) == (status, body["error"]["code"])
    assert header in body["error"]["message"]
    assert [] == provider.calls


async def test_invalid_query_is_422_naming_the_field(service_gateway, provider):
    """A PINFL that is not 14 digits: 422 with the field, nothing asked of the provider."""
    _, client = service_gateway
    status, body, _ = await ask(client, {"pinfl": "3120585012345"})
    assert (422, "client.schema_violation") == (status, body["error"]["code"])
    assert ["pinfl"] == [p["field"] for p in body["error"]["problems"]]
    assert [] == provider.calls


async def test_provider_without_the_record_is_404_provider_not_found(service_gateway):
    """The provider has nobody with that PINFL: 404 provider.not_found."""
    _, client = service_gateway
    status, body, _ = await ask(client, {"pinfl": "11111111111111"})
    assert (404, "provider.not_found") == (status, body["error"]["code"])


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            ProviderFaultError("the registry refused: access blocked for this subject"),
            "provider.fault",
        ),
        (ProviderUnavailableError("HTTP 503 from the registry"), "provider.unavailable"),
    ],
)
async def test_provider_failure_is_502_with_its_message(service_gateway, provider, error, code):
    """A fault or a 5xx of the provider: 502 with the provider's code and message."""
    _, client = service_gateway
    provider.then(error)
    status, body, _ = await ask(client)
    assert (502, code, error.message) == (status, body["error"]["code"], body["error"]["message"])


async def test_answer_that_is_not_canonical_is_502_bad_answer(service_gateway, provider):
    """An answer that breaks person/1 is provider.bad_answer, naming the field."""
    _, client = service_gateway
    provider.then({**PERSON, "gender": "unknown"})
    status, body, _ = await ask(client)
    assert (502, "provider.bad_answer") == (status, body["error"]["code"])
    assert "gender" in body["error"]["message"]


async def test_worker_bug_is_500_at_once_not_a_timeout(service_gateway, provider):
    """The adapter fails unexpectedly: the caller gets 500 gateway.internal with the error id
    of the worker's log line, without waiting for the timeout."""
    _, client = service_gateway
    provider.then(RuntimeError("a bug in the adapter"))
    with capture_logs() as logs:
        status, body, _ = await ask(client)
    [failed] = [e for e in logs if e["event"] == "service.worker_failed"]
    assert (500, "gateway.internal") == (status, body["error"]["code"])
    assert failed["error_id"] in body["error"]["message"]


async def test_late_reply_is_dropped_and_never_reaches_another_caller(service_gateway, provider):
    """The first request times out (504); its reply, coming later, is dropped and logged, and
    the next caller, waiting meanwhile, gets its own answer."""
    gateway, client = service_gateway
    provider.then(1.5, 0.8)  # the first answer comes 0.5 s after its 1 s timeout
    first = await ask(client, {"pinfl": PERSON["pinfl"]})
    second = await ask(client, {"pinfl": OTHER["pinfl"]})
    await until(lambda: 1 == sample(gateway, "gateway_service_late_replies_total"))
    assert (504, "provider.timeout") == (first[0], first[1]["error"]["code"])
    assert (200, OTHER["pinfl"]) == (second[0], second[1]["answer"]["pinfl"])


async def test_no_provider_worker_is_504_and_the_request_expires(
    start_gateway, settings, provider, amqp_channel
):
    """With no worker consuming, the caller gets 504 after the service's timeout and the
    request does not stay queued for a worker that starts later."""
    table = compile_routing_table(
        ROUTING,
        "services.yaml",
        schemas=REGISTRY,
        adapters=ADAPTERS,
        providers={provider.name: provider},
        env=keys.ENV,
    )
    gateway, client = await start_gateway(
        settings, table, providers={provider.name: provider}, run_workers=False
    )
    await gateway.wait_workers(15)
    status, body, _ = await ask(client)
    await drained(amqp_channel, gateway.broker.topology.service_queue_of(SERVICE))
    assert (504, "provider.timeout") == (status, body["error"]["code"])


async def test_worker_skips_a_request_whose_caller_has_gone(
    service_gateway, provider, amqp_channel
):
    """A request past its deadline is not put to the provider."""
    gateway, _ = service_gateway
    await amqp_channel.default_exchange.publish(
        aio_pika.Message(
            orjson.dumps({"pinfl": PERSON["pinfl"]}),
            correlation_id="gone-1",
            headers={m.DEADLINE: "1000.0"},
        ),
        routing_key=gateway.broker.topology.service_queue_of(SERVICE),
    )
    await until(
        lambda: (
            1
            == sample(gateway, "gateway_service_requests_total", service=SERVICE, outcome="expired")
        )
    )
    assert [] == provider.calls


async def test_many_concurrent_requests_each_get_their_own_answer(service_gateway, provider):
    """Forty requests at once for two people: every caller gets the person it asked for."""
    _, client = service_gateway
    asked = [PERSON["pinfl"], OTHER["pinfl"]] * 20
    answers = await asyncio.gather(*(ask(client, {"pinfl": p}) for p in asked))
    assert asked == [body["answer"]["pinfl"] for _, body, _ in answers]


async def test_replies_are_not_returned_as_unroutable(service_gateway, caplog):
    """A reply by direct reply-to is delivered, not also returned to the worker (which would
    log the answer, personal data and all, as an unhandled message)."""
    _, client = service_gateway
    with caplog.at_level("WARNING"):
        status, _, _ = await ask(client)
        await asyncio.sleep(0.2)  # a return would come right after the reply
    assert 200 == status
    assert [] == [r.getMessage() for r in caplog.records if "Unhandled" in r.getMessage()]
