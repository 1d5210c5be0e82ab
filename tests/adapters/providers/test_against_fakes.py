"""Each provider adapter against its fake ministry on loopback, over real HTTP: the answer,
not found, too slow, failing, garbage; and the demo serving both fakes on one port."""

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from adapters.providers import PROVIDERS
from adapters.providers.mvd import WSDL_FILE
from gateway.errors import (
    ProviderAnswerError,
    ProviderFaultError,
    ProviderNotFoundError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from gateway.routing import ProviderSpec
from schemas import REGISTRY, OrganizationByStir, PersonByPinfl
from tests.support.ministries import (
    FakePopulationRegistry,
    FakeTaxRegister,
    Ministries,
    client_fault,
    server_fault,
)

ROOT = Path(__file__).resolve().parents[3]
PINFL = "31205850123456"  # the applicant of tests/fixtures/records/mvd_crime_report.json
STIR = "301234567"  # tests/fixtures/records/soliq_organization.json


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def registry():
    """The fake population registry."""
    fake = FakePopulationRegistry()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def register():
    """The fake tax register."""
    fake = FakeTaxRegister()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def connect():
    """``connect(adapter, **spec)``: a client of a provider; all closed after the test."""
    made = []

    def make(adapter: str, **fields):
        client = PROVIDERS[adapter].connect(ProviderSpec(adapter=adapter, **fields))
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def population(connect, registry):
    """``population(**spec)``: a client of the fake registry, by its WSDL URL unless told."""

    def make(**fields):
        fields.setdefault("wsdl", registry.wsdl_url)
        fields.setdefault("timeout", 2.0)
        return connect("mvd.person_lookup", **fields)

    return make


@pytest.fixture
def tax(connect, register):
    """``tax(**spec)``: a client of the fake register."""

    def make(**fields):
        fields.setdefault("url", register.url)
        fields.setdefault("timeout", 2.0)
        return connect("soliq.organization_lookup", **fields)

    return make


async def person(client, pinfl: str = PINFL) -> dict:
    """The person the client answers with."""
    return await client.call(PersonByPinfl(pinfl=pinfl))


async def organization(client, stir: str = STIR) -> dict:
    """The organization the client answers with."""
    return await client.call(OrganizationByStir(stir=stir))


async def test_registry_answers_the_canonical_person(population, registry):
    """The crime report's applicant, by PINFL: person/1, the WSDL fetched from the registry."""
    answer = await person(population())
    assert {
        "pinfl": PINFL,
        "last_name": "Karimova",
        "first_name": "Dilnoza",
        "patronymic": "Anvarovna",
        "birth_date": "1985-05-12",
        "gender": "female",
        "citizenship": "UZB",
        "passport": "AB1234567",
        "address": {
            "region": "1726",
            "district": "Yunusobod",
            "text": "Yunusobod tumani, 4-mavze, 12-uy",
        },
        "deceased_on": None,
    } == answer
    assert answer == REGISTRY["person/1"].model_validate(answer).model_dump(mode="json")
    assert (1, 1) == (registry.calls, registry.wsdl_downloads)


async def test_registry_at_the_url_with_the_repository_wsdl(population, registry):
    """The repository's WSDL with provider.url for the address reaches the registry."""
    answer = await person(population(wsdl=str(WSDL_FILE), url=registry.url), "42703550234567")
    assert ("Yusupova", "2021-02-14", 0) == (
        answer["last_name"],
        answer["deceased_on"],
        registry.wsdl_downloads,
    )


async def test_registry_headers_reach_it(population, registry):
    """provider.headers go with the call, and SOAPAction names the operation."""
    await person(population(headers={"X-Road-Client": "UZ/GOV/GP/e-integratsiya"}))
    [call] = registry.received
    assert ("UZ/GOV/GP/e-integratsiya", '"urn:uz:gov:mvd:population:1/GetPersonByPinfl"') == (
        call.headers["X-Road-Client"],
        call.headers["SOAPAction"],
    )


async def test_registry_not_found(population):
    """A PINFL the registry does not know is provider.not_found, with its fault string."""
    with pytest.raises(ProviderNotFoundError) as caught:
        await person(population(), "11111111111111")
    assert "shaxs topilmadi" in caught.value.message


async def test_registry_slower_than_the_timeout(population, registry):
    """A registry slower than provider.timeout is provider.timeout."""
    registry.slow(5)
    with pytest.raises(ProviderTimeoutError):
        await person(population(timeout=0.3))
    assert 1 == registry.calls


@pytest.mark.parametrize(
    ("failure", "error", "said"),
    [
        (server_fault(), ProviderUnavailableError, "soap:Server INTERNAL_ERROR"),
        (client_fault(), ProviderFaultError, "soap:Client ACCESS_DENIED"),
        (503, ProviderUnavailableError, "HTTP 503"),
        (401, ProviderFaultError, "HTTP 401"),
    ],
    ids=["server-fault", "client-fault", "http-503", "http-401"],
)
async def test_registry_failing(population, registry, failure, error, said):
    """Server faults and 5xx are provider.unavailable; Client faults and 4xx provider.fault."""
    registry.fail_with(failure)
    with pytest.raises(error) as caught:
        await person(population())
    assert said in caught.value.message


async def test_registry_answering_garbage(population, registry):
    """A 200 that is not XML is provider.bad_answer."""
    registry.malformed()
    with pytest.raises(ProviderAnswerError):
        await person(population())


async def test_registry_back_to_normal(population, registry):
    """After normal() the registry answers again, and every call was counted."""
    client = population()
    registry.fail_with(500)
    with pytest.raises(ProviderUnavailableError):
        await person(client)
    registry.normal()
    assert PINFL == (await person(client))["pinfl"]
    assert 2 == registry.calls


async def test_registry_unreachable(population):
    """Nothing listening at the registry's address is provider.unavailable."""
    url = f"http://127.0.0.1:{free_port()}/population"
    with pytest.raises(ProviderUnavailableError):
        await person(population(wsdl=str(WSDL_FILE), url=url))


async def test_registry_wsdl_unreachable(population):
    """A WSDL URL nothing answers at is provider.unavailable on prepare, naming it."""
    wsdl = f"http://127.0.0.1:{free_port()}/population?wsdl"
    with pytest.raises(ProviderUnavailableError) as caught:
        await population(wsdl=wsdl).prepare()
    assert f"the WSDL {wsdl} cannot be loaded" in caught.value.message


async def test_register_answers_the_canonical_organization(tax, register):
    """The sample organization, by STIR: organization/1, asked for as JSON."""
    answer = await organization(tax(headers={"X-Api-Key": "register-key-0001"}))
    assert (STIR, "llc", "in_liquidation", "Karimov") == (
        answer["stir"],
        answer["legal_form"],
        answer["status"],
        answer["director"]["last_name"],
    )
    assert answer == REGISTRY["organization/1"].model_validate(answer).model_dump(mode="json")
    [call] = register.received
    assert (f"/legal-entities/{STIR}", "application/json", "register-key-0001") == (
        call.path,
        call.headers["Accept"],
        call.headers["X-Api-Key"],
    )


async def test_register_liquidated_organization(tax):
    """A liquidated organization comes with its liquidation date."""
    answer = await organization(tax(), "305556667")
    assert ("liquidated", "2022-12-30") == (answer["status"], answer["liquidated_on"])


async def test_register_not_found(tax):
    """A STIR the register does not know is provider.not_found."""
    with pytest.raises(ProviderNotFoundError) as caught:
        await organization(tax(), "999999999")
    assert "NOT_FOUND" in caught.value.message


async def test_register_slower_than_the_timeout(tax, register):
    """A register slower than provider.timeout is provider.timeout."""
    register.slow(5)
    with pytest.raises(ProviderTimeoutError):
        await organization(tax(timeout=0.3))


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, ProviderUnavailableError), (503, ProviderUnavailableError), (403, ProviderFaultError)],
)
async def test_register_failing(tax, register, status, error):
    """5xx is provider.unavailable, another 4xx provider.fault, with the register's message."""
    register.fail_with(status)
    with pytest.raises(error) as caught:
        await organization(tax())
    assert f"HTTP {status}: fake tax register fails with {status}" in caught.value.message


async def test_register_answering_garbage(tax, register):
    """A 200 that is not JSON is provider.bad_answer."""
    register.malformed()
    with pytest.raises(ProviderAnswerError):
        await organization(tax())


async def test_register_unreachable(tax):
    """Nothing listening at the register's URL is provider.unavailable."""
    with pytest.raises(ProviderUnavailableError):
        await organization(tax(url=f"http://127.0.0.1:{free_port()}"))


def test_register_fails_only_with_http_statuses():
    """A SOAP fault makes no sense for the REST register: refused at once."""
    with pytest.raises(TypeError):
        FakeTaxRegister().fail_with(server_fault())


@pytest.fixture
async def ministries():
    """Both fakes on one port, as the demo serves them."""
    both = Ministries()
    await both.start()
    yield both
    await both.stop()


async def test_demo_serves_both_on_one_port(ministries, connect):
    """One server answers the registry's SOAP and the register's REST."""
    client = connect("mvd.person_lookup", wsdl=ministries.population.wsdl_url)
    register = connect("soliq.organization_lookup", url=ministries.tax.url)
    assert (PINFL, STIR) == (
        (await person(client))["pinfl"],
        (await organization(register))["stir"],
    )
    assert ministries.base_url == ministries.tax.url


async def test_demo_switches_over_http(ministries, connect):
    """POST /_fakes/{fake}/{switch} turns a switch; GET /_fakes shows the switches and calls."""
    register = connect("soliq.organization_lookup", url=ministries.tax.url)
    async with httpx.AsyncClient(base_url=ministries.base_url) as http:
        switched = await http.post("/_fakes/tax/fail", params={"status": "503"})
        with pytest.raises(ProviderUnavailableError):
            await organization(register)
        await http.post("/_fakes/tax/normal")
        await organization(register)
        await http.post("/_fakes/population/fail", params={"fault": "soap:Server"})
        state = (await http.get("/_fakes")).json()
    assert (200, 503) == (switched.status_code, switched.json()["fail_with"])
    assert {
        "population": {
            "calls": 0,
            "slow_seconds": 0.0,
            "fail_with": "soap:Server",
            "malformed": False,
        },
        "tax": {"calls": 2, "slow_seconds": 0.0, "fail_with": None, "malformed": False},
    } == state


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/_fakes/customs/malformed", 404),
        ("/_fakes/tax/explode", 404),
        ("/_fakes/tax/slow?seconds=soon", 400),
        ("/_fakes/tax/fail?status=200", 400),
        ("/_fakes/tax/fail?fault=soap:Server", 400),
    ],
)
async def test_demo_refuses_unknown_switches(ministries, path, status):
    """An unknown fake or switch is 404; a switch with a bad value is 400, and changes nothing."""
    async with httpx.AsyncClient(base_url=ministries.base_url) as http:
        answer = await http.post(path)
        state = (await http.get("/_fakes")).json()
    assert status == answer.status_code
    assert (None, 0.0) == (state["tax"]["fail_with"], state["tax"]["slow_seconds"])


async def test_demo_runs_as_a_module_until_interrupted():
    """``python -m tests.support.ministries --port P`` prints its URLs, serves, and stops on
    SIGINT with status 0."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.ministries",
        "--port",
        str(port),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(20):
            first = (await process.stdout.readline()).decode()
            async with httpx.AsyncClient() as http:
                answer = await http.get(f"http://127.0.0.1:{port}/legal-entities/{STIR}")
            process.send_signal(signal.SIGINT)
            out, _ = await process.communicate()
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
    assert f"Fake ministries on http://127.0.0.1:{port}" in first
    assert f"http://127.0.0.1:{port}/population?wsdl" in out.decode()
    assert (200, STIR, 0) == (answer.status_code, answer.json()["tin"], process.returncode)
