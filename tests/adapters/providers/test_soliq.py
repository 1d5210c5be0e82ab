"""soliq.organization_lookup with the register's HTTP mocked (respx): the native organization
mapped to organization/1, and every failure classified as the ProviderError it is."""

import asyncio

import httpx
import pytest

from adapters.providers import PROVIDERS
from adapters.providers.soliq import MAX_ANSWER_BYTES, ORGANIZATION_LOOKUP
from gateway.errors import (
    ProviderAnswerError,
    ProviderFaultError,
    ProviderNotFoundError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from gateway.routing import ProviderSpec
from schemas import REGISTRY, OrganizationByStir, PersonByPinfl
from tests.support.records import load

BASE = "http://soliq.test/api/v1"
STIR = "301234567"
URL = f"{BASE}/legal-entities/{STIR}"


@pytest.fixture
async def connect():
    """``connect(**spec changes)``: a client of the register; all closed after the test."""
    made = []

    def make(**changes):
        fields = {
            "adapter": "soliq.organization_lookup",
            "url": BASE,
            "timeout": 2.0,
            "headers": {"X-Api-Key": "register-key-0001"},
        }
        client = ORGANIZATION_LOOKUP.connect(ProviderSpec(**{**fields, **changes}))
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


def organization(**changes) -> dict:
    """The register's sample organization, with ``changes`` (None leaves a field out)."""
    native = {**load("soliq_organization"), **changes}
    return {k: v for k, v in native.items() if v is not None}


async def ask(client, stir: str = STIR) -> dict:
    """The client's answer about ``stir``."""
    return await client.call(OrganizationByStir(stir=stir))


def test_adapter_is_registered_by_name():
    """PROVIDERS has the adapter under its routing.yaml name, as a REST organization lookup."""
    adapter = PROVIDERS["soliq.organization_lookup"]
    assert ("soliq.organization_lookup", "rest", OrganizationByStir, "organization/1") == (
        adapter.name,
        adapter.channel,
        adapter.query,
        adapter.answer_schema,
    )


async def test_answer_is_the_canonical_organization(connect, respx_mock):
    """The register's JSON becomes organization/1: legal form, status, director, region."""
    respx_mock.get(URL).respond(200, json=organization())
    answer = await ask(connect())
    assert {
        "stir": STIR,
        "name": '"Registon Savdo" MChJ',
        "legal_form": "llc",
        "status": "in_liquidation",
        "registered_on": "2015-03-01",
        "liquidated_on": None,
        "oked": "47190",
        "director": {
            "pinfl": "30101800123456",
            "last_name": "Karimov",
            "first_name": "Anvar",
            "patronymic": "Aliyevich",
            "birth_date": None,
        },
        "address": {
            "region": "1726",
            "district": None,
            "text": "Toshkent shahri, Chilonzor tumani, Bunyodkor koʻchasi, 7",
        },
    } == answer
    assert answer == REGISTRY["organization/1"].model_validate(answer).model_dump(mode="json")


async def test_request_accepts_json_and_carries_the_headers(connect, respx_mock):
    """GET {url}/legal-entities/{stir} with Accept: application/json and provider.headers."""
    route = respx_mock.get(URL).respond(200, json=organization())
    await ask(connect(url=BASE + "/"))
    request = route.calls.last.request
    assert ("GET", URL, "application/json", "register-key-0001") == (
        request.method,
        str(request.url),
        request.headers["Accept"],
        request.headers["X-Api-Key"],
    )


async def test_not_found_is_not_found(connect, respx_mock):
    """404 is provider.not_found (404)."""
    respx_mock.get(URL).respond(404, json={"code": "NOT_FOUND", "message": "topilmadi"})
    with pytest.raises(ProviderNotFoundError) as caught:
        await ask(connect())
    assert ("provider.not_found", 404) == (caught.value.code, caught.value.status)


async def test_client_error_is_a_fault_with_the_registers_message(connect, respx_mock):
    """Another 4xx is provider.fault, with the register's own message and code."""
    respx_mock.get(URL).respond(
        403, json={"code": "ACCESS_DENIED", "message": "Kalit bekor qilingan"}
    )
    with pytest.raises(ProviderFaultError) as caught:
        await ask(connect())
    assert (
        "the tax register refused the request: HTTP 403: Kalit bekor qilingan (ACCESS_DENIED)"
    ) == caught.value.message


async def test_nested_error_message_and_plain_text_are_kept(connect, respx_mock):
    """An ``error.message`` is found too; a body that is not JSON is quoted as it is."""
    respx_mock.get(URL).mock(
        side_effect=[
            httpx.Response(400, json={"error": {"message": "notoʻgʻri soʻrov"}}),
            httpx.Response(400, text="Bad Request"),
        ]
    )
    client = connect()
    messages = []
    for _ in range(2):
        with pytest.raises(ProviderFaultError) as caught:
            await ask(client)
        messages.append(caught.value.message)
    assert [
        "the tax register refused the request: HTTP 400: notoʻgʻri soʻrov",
        "the tax register refused the request: HTTP 400: Bad Request",
    ] == messages


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
async def test_server_error_is_unavailable(connect, respx_mock, status):
    """5xx (and 408, 429) are provider.unavailable."""
    respx_mock.get(URL).respond(status, text="down for maintenance")
    with pytest.raises(ProviderUnavailableError) as caught:
        await ask(connect())
    assert f"HTTP {status}: down for maintenance" in caught.value.message


@pytest.mark.parametrize("status", [204, 301])
async def test_other_status_is_a_bad_answer(connect, respx_mock, status):
    """A status that brings no organization (no content, a redirect not followed) is refused."""
    respx_mock.get(URL).respond(status, headers={"Location": "http://elsewhere.test/"})
    with pytest.raises(ProviderAnswerError):
        await ask(connect())


async def test_read_timeout_is_a_timeout(connect, respx_mock):
    """httpx's timeout is provider.timeout (504), naming the provider's timeout."""
    respx_mock.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderTimeoutError) as caught:
        await ask(connect())
    assert (504, "the tax register did not answer within 2s") == (
        caught.value.status,
        caught.value.message,
    )


async def test_whole_call_is_bounded_by_the_timeout(connect, respx_mock):
    """A call that takes longer than provider.timeout as a whole is provider.timeout."""

    async def dawdle(_request):
        await asyncio.sleep(10)

    respx_mock.get(URL).mock(side_effect=dawdle)
    with pytest.raises(ProviderTimeoutError):
        await ask(connect(timeout=0.2))


async def test_connection_refused_is_unavailable(connect, respx_mock):
    """A connection error is provider.unavailable."""
    respx_mock.get(URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ProviderUnavailableError):
        await ask(connect())


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"tin": "301234567", "company_name": ', "is not JSON"),
        (b"<html>Welcome</html>", "is not JSON"),
        (b'["301234567"]', "is not a JSON object"),
    ],
    ids=["truncated", "html", "array"],
)
async def test_answer_that_is_not_a_json_object_is_a_bad_answer(connect, respx_mock, body, said):
    """A 200 whose body is not a JSON object is provider.bad_answer."""
    respx_mock.get(URL).respond(200, content=body)
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert said in caught.value.message


async def test_answer_too_large_is_a_bad_answer(connect, respx_mock):
    """An answer over the limit is refused, not buffered whole."""
    respx_mock.get(URL).respond(200, content=b" " * (MAX_ANSWER_BYTES + 1))
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert "larger than" in caught.value.message


async def test_streamed_answer_too_large_is_a_bad_answer(connect, respx_mock):
    """An answer without Content-Length is cut off as soon as it passes the limit."""
    sent = []

    async def chunks():
        for _ in range(64):
            sent.append(1)
            yield b" " * (64 * 1024)

    respx_mock.get(URL).respond(200, content=chunks())
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert "larger than" in caught.value.message
    assert len(sent) < 64


async def test_answer_that_cannot_be_decoded_is_a_bad_answer(connect, respx_mock):
    """A body its Content-Encoding does not describe is provider.bad_answer."""
    garbled = httpx.ByteStream(b"not gzip")
    respx_mock.get(URL).mock(
        return_value=httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=garbled)
    )
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert "cannot be decoded" in caught.value.message


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"company_name": None}, "company_name (name): required field is missing"),
        ({"reg_date": None}, "reg_date (registered_on): required field is missing"),
        ({"status_code": 9}, "status_code (status): unknown status code 9"),
        ({"opf": "LLC"}, "opf (legal_form): unknown legal form code 'LLC'"),
        ({"reg_date": "01.03.2015"}, "reg_date (registered_on): expected a date as YYYY-MM-DD"),
        (
            {"status_code": 4},
            "liquidation_date (liquidated_on): liquidated_on is required when status is liquidated",
        ),
        ({"rahbar": "KARIMOV"}, "rahbar: unknown field"),
    ],
)
async def test_record_that_does_not_map_is_named(connect, respx_mock, changes, named):
    """An organization the canonical schema cannot take is provider.bad_answer naming the
    register's field, and the canonical field beside it."""
    respx_mock.get(URL).respond(200, json=organization(**changes))
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert named in caught.value.message


async def test_answer_about_another_organization_is_a_bad_answer(connect, respx_mock):
    """An answer about a STIR other than the one asked about is refused."""
    respx_mock.get(URL).respond(200, json=organization(tin="207654321"))
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert "another organization" in caught.value.message


def test_register_without_url_is_refused():
    """A REST provider needs its url (routing.yaml's check says so before this)."""
    with pytest.raises(ValueError, match="url"):
        ORGANIZATION_LOOKUP.connect(ProviderSpec(adapter="soliq.organization_lookup"))


async def test_another_query_is_a_type_error(connect):
    """The client answers OrganizationByStir only."""
    with pytest.raises(TypeError):
        await connect().call(PersonByPinfl(pinfl="31205850123456"))


async def test_prepare_loads_nothing(connect, respx_mock):
    """prepare() asks the register nothing (respx would refuse any request)."""
    await connect().prepare()
    assert 0 == len(respx_mock.calls)


async def test_closing_twice_is_harmless(connect):
    """aclose() may be called again."""
    client = connect()
    await client.aclose()
    await client.aclose()
