"""Record requests end to end: the gateway, RabbitMQ, a provider worker, the real provider
adapters and the fake ministries on loopback (SOAP population registry, REST tax register)."""

import orjson
import pytest

from adapters import ADAPTERS
from adapters.providers import PROVIDERS
from gateway.routing import compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.ministries import Ministries, server_fault

ROUTING = """\
version: 1
systems:
  gp.e-tergov: {title: E-tergov, api_keys: ["${ETERGOV_KEY}"]}
services:
  person.by-pinfl:
    provider: {adapter: mvd.person_lookup, wsdl: "${MVD_POPULATION_WSDL}", timeout: 1s}
    allow: [gp.e-tergov]
    require: [user_id, issue]
    timeout: 3s
  organization.by-stir:
    provider: {adapter: soliq.organization_lookup, url: "${SOLIQ_REGISTER_URL}", timeout: 1s}
    allow: [gp.e-tergov]
    timeout: 3s
"""
ASKER = {
    **keys.bearer(keys.ETERGOV),
    "X-User-Id": "inv.rashidov",
    "X-Issue": "1-1203-2026",
    "Content-Type": "application/json",
}


@pytest.fixture
async def ministries():
    """Both fake ministries on one loopback server."""
    fakes = Ministries()
    await fakes.start()
    yield fakes
    await fakes.stop()


@pytest.fixture
async def client(start_gateway, settings, ministries):
    """An HTTP client of a gateway whose services ask the fake ministries."""
    env = {
        **keys.ENV,
        "MVD_POPULATION_WSDL": ministries.population.wsdl_url,
        "SOLIQ_REGISTER_URL": ministries.tax.url,
    }
    table = compile_routing_table(
        ROUTING, "services.yaml", schemas=REGISTRY, adapters=ADAPTERS, providers=PROVIDERS, env=env
    )
    gateway, client = await start_gateway(settings, table, providers=PROVIDERS)
    await gateway.wait_workers(15)
    return client


async def ask(client, service, query):
    """(status, parsed body) of a record request."""
    response = await client.post(f"/v1/services/{service}", data=orjson.dumps(query), headers=ASKER)
    return response.status, await response.json()


async def test_person_comes_from_the_soap_registry_as_canonical_json(client, ministries):
    """person.by-pinfl: through the broker and the provider worker to the SOAP registry and
    back as canonical person/1."""
    status, body = await ask(client, "person.by-pinfl", {"pinfl": "31205850123456"})
    assert 200 == status
    assert {
        "pinfl": "31205850123456",
        "last_name": "Karimova",
        "first_name": "Dilnoza",
        "birth_date": "1985-05-12",
        "gender": "female",
    }.items() <= body["answer"].items()
    assert 1 == ministries.population.calls


async def test_organization_comes_from_the_rest_register_as_canonical_json(client):
    """organization.by-stir: through the broker to the REST register, canonical
    organization/1."""
    status, body = await ask(client, "organization.by-stir", {"stir": "301234567"})
    assert (200, "301234567") == (status, body["answer"]["stir"])


async def test_person_the_registry_does_not_know_is_404(client):
    """A PINFL the registry has no person for: 404 provider.not_found."""
    status, body = await ask(client, "person.by-pinfl", {"pinfl": "11111111111111"})
    assert (404, "provider.not_found") == (status, body["error"]["code"])


async def test_registry_server_fault_is_502_with_its_message(client, ministries):
    """A SOAP Server fault: 502 provider.unavailable carrying the registry's words."""
    ministries.population.fail_with(server_fault("database is not answering"))
    status, body = await ask(client, "person.by-pinfl", {"pinfl": "31205850123456"})
    assert (502, "provider.unavailable") == (status, body["error"]["code"])
    assert "database is not answering" in body["error"]["message"]


async def test_register_5xx_is_502(client, ministries):
    """The tax register answers 503: 502 provider.unavailable."""
    ministries.tax.fail_with(503)
    status, body = await ask(client, "organization.by-stir", {"stir": "301234567"})
    assert (502, "provider.unavailable") == (status, body["error"]["code"])


async def test_malformed_answer_is_502_bad_answer(client, ministries):
    """Garbage instead of SOAP: 502 provider.bad_answer."""
    ministries.population.malformed()
    status, body = await ask(client, "person.by-pinfl", {"pinfl": "31205850123456"})
    assert (502, "provider.bad_answer") == (status, body["error"]["code"])


async def test_slow_registry_is_504_provider_timeout(client, ministries):
    """The registry takes longer than its provider timeout: 504 provider.timeout."""
    ministries.population.slow(2)
    status, body = await ask(client, "person.by-pinfl", {"pinfl": "31205850123456"})
    assert (504, "provider.timeout") == (status, body["error"]["code"])
