"""Record requests over SOAP at /soap/{service}: zeep on the gateway's own WSDL, the real
provider adapters, the fake ministries, RabbitMQ in between."""

import asyncio
import contextlib

import pytest
import zeep
from zeep.exceptions import Fault
from zeep.transports import AsyncTransport

from adapters import ADAPTERS
from adapters.providers import PROVIDERS
from gateway.routing import compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.ministries import Ministries

ROUTING = """\
version: 1
systems:
  gp.e-tergov: {title: E-tergov, api_keys: ["${ETERGOV_KEY}"]}
  mvd.crime-registry: {title: Interior, api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]}
services:
  person.by-pinfl:
    description: "A natural person by PINFL"
    provider: {adapter: mvd.person_lookup, wsdl: "${MVD_POPULATION_WSDL}", timeout: 2s}
    allow: [gp.e-tergov]
    require: [user_id, issue]
    timeout: 3s
"""
WHO_AND_WHY = {"userId": "inv.rashidov", "issue": "1-1203/26"}


@pytest.fixture
async def gateway_client(start_gateway, settings):
    """An HTTP client of a gateway whose person.by-pinfl asks the fake population registry."""
    fakes = Ministries()
    await fakes.start()
    env = {**keys.ENV, "MVD_POPULATION_WSDL": fakes.population.wsdl_url}
    table = compile_routing_table(
        ROUTING, "services.yaml", schemas=REGISTRY, adapters=ADAPTERS, providers=PROVIDERS, env=env
    )
    try:
        _, client = await start_gateway(settings, table, providers=PROVIDERS)
        yield client
    finally:
        await fakes.stop()


@contextlib.asynccontextmanager
async def zeep_service(client, key=keys.ETERGOV):
    """zeep's AsyncClient on the gateway's WSDL of person.by-pinfl, with ``key``."""
    transport = AsyncTransport()
    for http in (transport.client, transport.wsdl_client):
        http.headers["Authorization"] = f"Bearer {key}"
    try:
        yield await asyncio.to_thread(
            zeep.AsyncClient,
            str(client.make_url("/soap/person.by-pinfl?wsdl")),
            transport=transport,
        )
    finally:
        await transport.aclose()
        transport.wsdl_client.close()


async def test_zeep_asks_for_a_person_and_gets_the_canonical_record(gateway_client):
    """PersonByPinfl with X-Road userId and issue: the answer is the canonical person, the
    X-Road headers echoed."""
    async with zeep_service(gateway_client) as soap:
        answer = await soap.service.PersonByPinfl(pinfl="31205850123456", _soapheaders=WHO_AND_WHY)
    record = answer.body.answer
    assert ("31205850123456", "Karimova", "female") == (
        record.pinfl,
        record.last_name,
        record.gender,
    )
    assert ("inv.rashidov", "1-1203/26") == (answer.header.userId, answer.header.issue)
    assert answer.body.correlationId


async def test_without_the_case_number_it_is_a_client_fault(gateway_client):
    """The service requires issue: without the X-Road header, Client.MissingIssue."""
    async with zeep_service(gateway_client) as soap:
        with pytest.raises(Fault) as caught:
            await soap.service.PersonByPinfl(
                pinfl="31205850123456", _soapheaders={"userId": "inv.rashidov"}
            )
    assert caught.value.code.endswith("Client.MissingIssue")
    assert "issue" in caught.value.message


async def test_unknown_person_is_a_provider_fault(gateway_client):
    """A PINFL the registry does not know: Server.Provider.NotFound."""
    async with zeep_service(gateway_client) as soap:
        with pytest.raises(Fault) as caught:
            await soap.service.PersonByPinfl(pinfl="11111111111111", _soapheaders=WHO_AND_WHY)
    assert caught.value.code.endswith("Server.Provider.NotFound")


async def test_system_not_allowed_gets_access_denied(gateway_client):
    """A known system outside allow is refused already the WSDL: 403, Client.AccessDenied."""
    response = await gateway_client.get("/soap/person.by-pinfl?wsdl", headers=keys.bearer(keys.MVD))
    assert 403 == response.status
    assert "Client.AccessDenied" in await response.text()
