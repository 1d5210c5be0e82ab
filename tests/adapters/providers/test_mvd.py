"""mvd.person_lookup with the registry's HTTP mocked (respx): the answer mapped to person/1,
and every failure classified as the ProviderError it is."""

import asyncio

import httpx
import pytest

from adapters.providers import PROVIDERS
from adapters.providers.mvd import PERSON_LOOKUP, WSDL_FILE, passport
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
    SOAP_ACTION,
    SoapFault,
    answer_envelope,
    fault_envelope,
    parse_request,
    seed_people,
    wsdl_with_address,
)

URL = "http://mvd.test/population"
WSDL_ADDRESS = "http://population.mvd.invalid/population"  # the repository WSDL's placeholder
PINFL = "31205850123456"

ANSWER = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <p:GetPersonByPinflResponse xmlns:p="urn:uz:gov:mvd:population:1">
      <p:shaxs>
        <p:jshshir>31205850123456</p:jshshir>
        <p:familiya>Karimova</p:familiya>
        <p:ismi>Dilnoza</p:ismi>
        <p:otasining_ismi>Anvarovna</p:otasining_ismi>
        <p:tugilgan_sana>12.05.1985</p:tugilgan_sana>
        <p:jinsi>2</p:jinsi>
        <p:fuqaroligi>UZB</p:fuqaroligi>
        <p:pasport><p:seriya>ab</p:seriya><p:raqami>1234567</p:raqami></p:pasport>
        <p:yashash_manzili>
          <p:soato>1726273</p:soato>
          <p:tuman>Yunusobod</p:tuman>
          <p:matn>Yunusobod tumani, 4-mavze, 12-uy</p:matn>
        </p:yashash_manzili>
      </p:shaxs>
    </p:GetPersonByPinflResponse>
  </soap:Body>
</soap:Envelope>"""


def spec(**changes) -> ProviderSpec:
    """The registry as routing.yaml would give it: the repository's WSDL, another address."""
    fields = {
        "adapter": "mvd.person_lookup",
        "wsdl": str(WSDL_FILE),
        "url": URL,
        "timeout": 2.0,
        "headers": {"X-Road-Client": "UZ/GOV/GP/e-integratsiya"},
    }
    return ProviderSpec(**{**fields, **changes})


@pytest.fixture
async def connect():
    """``connect(**spec changes)``: a client of the registry; all closed after the test."""
    made = []

    def make(**changes):
        client = PERSON_LOOKUP.connect(spec(**changes))
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


def person(**changes) -> dict:
    """Karimova as the registry keeps her, with ``changes`` (None leaves a field out)."""
    native = {**seed_people()[0], **changes}
    return {k: v for k, v in native.items() if v is not None}


def soap_answer(native: dict) -> httpx.Response:
    """HTTP 200 with the registry's answer about ``native``."""
    return httpx.Response(200, content=answer_envelope(native), headers=_XML)


def soap_fault(code: str, text: str, detail_code: str | None = None) -> httpx.Response:
    """HTTP 500 with a SOAP 1.1 fault, as SOAP 1.1 sends one."""
    body = fault_envelope(SoapFault(code, text, detail_code))
    return httpx.Response(500, content=body, headers=_XML)


_XML = {"Content-Type": "text/xml; charset=utf-8"}


async def ask(client, pinfl: str = PINFL) -> dict:
    """The client's answer about ``pinfl``."""
    return await client.call(PersonByPinfl(pinfl=pinfl))


def test_adapter_is_registered_by_name():
    """PROVIDERS has the adapter under its routing.yaml name, as a SOAP person/1 lookup."""
    adapter = PROVIDERS["mvd.person_lookup"]
    assert ("mvd.person_lookup", "soap", PersonByPinfl, "person/1") == (
        adapter.name,
        adapter.channel,
        adapter.query,
        adapter.answer_schema,
    )


def test_providers_are_read_only():
    """The registry of provider adapters cannot be changed at run time."""
    with pytest.raises(TypeError):
        PROVIDERS["mvd.person_lookup"] = PERSON_LOOKUP  # type: ignore[index]


async def test_answer_is_the_canonical_person(connect, respx_mock):
    """The registry's shaxs becomes person/1: dates, gender code, passport, SOATO region."""
    respx_mock.post(URL).respond(200, text=ANSWER, headers=_XML)
    answer = await ask(connect())
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


async def test_optional_fields_may_be_absent(connect, respx_mock):
    """No patronymic, passport or district: null; a date of death becomes deceased_on."""
    native = seed_people()[2]
    respx_mock.post(URL).mock(return_value=soap_answer(native))
    answer = await ask(connect(), native["jshshir"])
    assert (None, None, None, "1703", "1955-03-27", "2021-02-14") == (
        answer["patronymic"],
        answer["passport"],
        answer["address"]["district"],
        answer["address"]["region"],
        answer["birth_date"],
        answer["deceased_on"],
    )


async def test_request_carries_the_pinfl_the_action_and_the_headers(connect, respx_mock):
    """GetPersonByPinfl with jshshir, its SOAPAction, and the provider's headers."""
    route = respx_mock.post(URL).mock(return_value=soap_answer(person()))
    await ask(connect())
    request = route.calls.last.request
    assert (PINFL, f'"{SOAP_ACTION}"', "UZ/GOV/GP/e-integratsiya") == (
        parse_request(request.content, request.headers["SOAPAction"]),
        request.headers["SOAPAction"],
        request.headers["X-Road-Client"],
    )


async def test_wsdl_address_is_used_without_a_url(connect, respx_mock):
    """Without provider.url, the call goes to the WSDL's own address."""
    route = respx_mock.post(WSDL_ADDRESS).mock(return_value=soap_answer(person()))
    await ask(connect(url=None))
    assert 1 == route.call_count


async def test_repository_wsdl_is_used_without_one(connect, respx_mock):
    """Without provider.wsdl, the registry's WSDL in the repository is loaded."""
    respx_mock.post(URL).mock(return_value=soap_answer(person()))
    assert PINFL == (await ask(connect(wsdl=None)))["pinfl"]


async def test_wsdl_over_http_is_loaded_once_with_the_headers(connect, respx_mock):
    """A WSDL URL is fetched once, with the provider's headers, for any number of calls."""
    wsdl = respx_mock.get("http://mvd.test/population?wsdl").respond(
        200, content=wsdl_with_address(URL), headers=_XML
    )
    respx_mock.post(URL).mock(return_value=soap_answer(person()))
    client = connect(wsdl="http://mvd.test/population?wsdl", url=None)
    await client.prepare()
    await asyncio.gather(ask(client), ask(client))
    assert (1, "UZ/GOV/GP/e-integratsiya") == (
        wsdl.call_count,
        wsdl.calls.last.request.headers["X-Road-Client"],
    )


async def test_person_not_found_fault_is_not_found(connect, respx_mock):
    """The registry's PERSON_NOT_FOUND fault is provider.not_found (404)."""
    respx_mock.post(URL).mock(
        return_value=soap_fault("soap:Client", "Shaxs topilmadi", "PERSON_NOT_FOUND")
    )
    with pytest.raises(ProviderNotFoundError) as caught:
        await ask(connect())
    assert ("provider.not_found", 404) == (caught.value.code, caught.value.status)


async def test_other_client_fault_is_a_fault_with_its_string(connect, respx_mock):
    """Another Client fault is provider.fault, carrying the registry's fault string and code."""
    respx_mock.post(URL).mock(
        return_value=soap_fault("soap:Client", "Ruxsat berilmagan", "ACCESS_DENIED")
    )
    with pytest.raises(ProviderFaultError) as caught:
        await ask(connect())
    assert "provider.fault" == caught.value.code
    assert "soap:Client ACCESS_DENIED: Ruxsat berilmagan" in caught.value.message


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("soap:Server", ProviderUnavailableError),
        ("soap:Server.Database", ProviderUnavailableError),
        ("soap:Client", ProviderFaultError),
        ("soap:VersionMismatch", ProviderFaultError),
        ("", ProviderUnavailableError),
    ],
)
async def test_fault_codes_are_classified(connect, respx_mock, code, error):
    """Client-side faults are refusals; Server faults (or none) mean the registry failed."""
    respx_mock.post(URL).mock(return_value=soap_fault(code, "xatolik"))
    with pytest.raises(error):
        await ask(connect())


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, ProviderUnavailableError),
        (503, ProviderUnavailableError),
        (429, ProviderUnavailableError),
        (403, ProviderFaultError),
        (404, ProviderFaultError),
    ],
)
async def test_http_status_without_fault_is_classified(connect, respx_mock, status, error):
    """Without a SOAP fault, 5xx (and 408/425/429) are unavailable, other 4xx a refusal."""
    respx_mock.post(URL).respond(status, text="Service Unavailable")
    with pytest.raises(error) as caught:
        await ask(connect())
    assert f"HTTP {status}: Service Unavailable" in caught.value.message


async def test_read_timeout_is_a_timeout(connect, respx_mock):
    """httpx's timeout on the call is provider.timeout (504), naming the provider's timeout."""
    respx_mock.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderTimeoutError) as caught:
        await ask(connect())
    assert (504, "the population registry did not answer within 2s") == (
        caught.value.status,
        caught.value.message,
    )


async def test_whole_call_is_bounded_by_the_timeout(connect, respx_mock):
    """A call that takes longer than provider.timeout as a whole is provider.timeout."""

    async def dawdle(_request):
        await asyncio.sleep(10)

    respx_mock.post(URL).mock(side_effect=dawdle)
    with pytest.raises(ProviderTimeoutError):
        await ask(connect(timeout=0.2))


async def test_connection_refused_is_unavailable(connect, respx_mock):
    """A connection error is provider.unavailable."""
    respx_mock.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ProviderUnavailableError) as caught:
        await ask(connect())
    assert "ConnectError" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        b"<<< this is not XML >>>",
        b"<html><body>Welcome</body></html>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>',
    ],
    ids=["not-xml", "not-soap", "doctype"],
)
async def test_answer_that_is_not_soap_is_a_bad_answer(connect, respx_mock, body):
    """A 200 whose body is not XML, not a SOAP Envelope, or carries a DTD: provider.bad_answer."""
    respx_mock.post(URL).respond(200, content=body, headers=_XML)
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert "provider.bad_answer" == caught.value.code


async def test_answer_that_cannot_be_decoded_is_a_bad_answer(connect, respx_mock):
    """A body its Content-Encoding does not describe is provider.bad_answer."""
    garbled = httpx.ByteStream(b"not gzip")
    headers = {**_XML, "Content-Encoding": "gzip"}
    respx_mock.post(URL).mock(return_value=httpx.Response(200, headers=headers, stream=garbled))
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert "cannot be decoded" in caught.value.message


async def test_answer_without_a_person_is_a_bad_answer(connect, respx_mock):
    """A response element without its shaxs is provider.bad_answer."""
    body = answer_envelope({}).replace(b"<p:shaxs/>", b"")
    respx_mock.post(URL).respond(200, content=body, headers=_XML)
    with pytest.raises(ProviderAnswerError):
        await ask(connect())


async def test_unexpected_element_is_a_bad_answer(connect, respx_mock):
    """An element the WSDL does not declare is refused, named."""
    respx_mock.post(URL).mock(return_value=soap_answer(person(millati="ozbek")))
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert "millati" in caught.value.message


@pytest.mark.parametrize("field", ["familiya", "jinsi", "fuqaroligi"])
async def test_missing_required_field_is_named(connect, respx_mock, field):
    """An answer without a field the WSDL requires is provider.bad_answer naming it."""
    respx_mock.post(URL).mock(return_value=soap_answer(person(**{field: None})))
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert f"expected '{field}'" in caught.value.message


async def test_missing_address_part_is_named(connect, respx_mock):
    """An address without its text is named in the details, the canonical field beside."""
    native = person(yashash_manzili={"soato": "1726273", "tuman": "Yunusobod"})
    respx_mock.post(URL).mock(return_value=soap_answer(native))
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert [
        {
            "field": "yashash_manzili.matn",
            "message": "required field is missing",
            "canonical_field": "address.text",
        }
    ] == caught.value.details["problems"]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"jinsi": "7"}, "jinsi (gender): unknown gender code '7'"),
        ({"tugilgan_sana": "31.02.1985"}, "tugilgan_sana (birth_date): expected a date"),
        ({"tugilgan_sana": "12.05.2999"}, "tugilgan_sana (birth_date): date must not be after"),
        ({"pasport": {"seriya": "AB", "raqami": "12"}}, "pasport (passport): raqami must be"),
        ({"pasport": {"seriya": "AB"}}, "pasport (passport): raqami missing"),
        ({"pasport": {"seriya": "A1", "raqami": "1234567"}}, "pasport (passport): seriya must"),
        ({"familiya": "Karim0va"}, "familiya (last_name): name must not contain digits"),
        ({"fuqaroligi": "Uzbekistan"}, "fuqaroligi (citizenship): String should match"),
        (
            {"yashash_manzili": {"soato": "9926", "matn": "x"}},
            "yashash_manzili.soato (address.region): expected a SOATO code",
        ),
        ({"vafot_sanasi": "01.01.1950"}, "vafot_sanasi (deceased_on): deceased_on (1950-01-01)"),
    ],
)
async def test_value_that_does_not_map_is_named(connect, respx_mock, changes, named):
    """A value the canonical person cannot take is provider.bad_answer naming the registry's
    field, and the canonical field beside it."""
    respx_mock.post(URL).mock(return_value=soap_answer(person(**changes)))
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert named in caught.value.message


@pytest.mark.parametrize("value", ["AB1234567", None, ["AB", "1234567"]])
def test_passport_is_series_and_number(value):
    """The passport converter takes the registry's pasport element (seriya and raqami) only."""
    with pytest.raises(ValueError, match="expected seriya and raqami"):
        passport(value)


async def test_answer_about_another_person_is_a_bad_answer(connect, respx_mock):
    """An answer about a PINFL other than the one asked about is refused."""
    respx_mock.post(URL).mock(return_value=soap_answer(person(jshshir="30101800123456")))
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert "another person" in caught.value.message


async def test_missing_wsdl_file_is_unavailable(connect, tmp_path):
    """A WSDL that cannot be read is provider.unavailable, naming it, on prepare."""
    missing = tmp_path / "missing.wsdl"
    with pytest.raises(ProviderUnavailableError) as caught:
        await connect(wsdl=str(missing)).prepare()
    assert f"the WSDL {missing} cannot be loaded" in caught.value.message


async def test_malformed_wsdl_is_unavailable(connect, tmp_path):
    """A WSDL that is not XML is provider.unavailable."""
    broken = tmp_path / "broken.wsdl"
    broken.write_text("<wsdl:definitions", encoding="utf-8")
    with pytest.raises(ProviderUnavailableError):
        await connect(wsdl=str(broken)).prepare()


async def test_wsdl_download_timeout_is_unavailable(connect, respx_mock):
    """A WSDL that does not arrive in time is provider.unavailable, saying so."""
    respx_mock.get("http://mvd.test/population?wsdl").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderUnavailableError) as caught:
        await connect(wsdl="http://mvd.test/population?wsdl").prepare()
    assert "cannot be loaded: no answer within 2s" in caught.value.message


async def test_wsdl_without_an_address_needs_the_url(connect, tmp_path):
    """A WSDL whose port has no address, and no provider.url: unavailable, saying what to set."""
    wsdl = tmp_path / "no-address.wsdl"
    text = WSDL_FILE.read_text(encoding="utf-8")
    wsdl.write_text(text.replace(f'location="{WSDL_ADDRESS}"', 'location=""'), encoding="utf-8")
    with pytest.raises(ProviderUnavailableError) as caught:
        await connect(wsdl=str(wsdl), url=None).prepare()
    assert "gives no address for port PopulationRegistryPort: set the provider's url" in (
        caught.value.message
    )


async def test_wsdl_without_the_operation_is_unavailable(connect, tmp_path):
    """A WSDL that does not offer GetPersonByPinfl is provider.unavailable, naming it."""
    wsdl = tmp_path / "other.wsdl"
    text = WSDL_FILE.read_text(encoding="utf-8")
    wsdl.write_text(text.replace('operation name="GetPersonByPinfl"', 'operation name="Find"'))
    with pytest.raises(ProviderUnavailableError) as caught:
        await connect(wsdl=str(wsdl)).prepare()
    assert "has no operation 'GetPersonByPinfl'" in caught.value.message


async def test_failed_wsdl_download_is_tried_again(connect, respx_mock):
    """A WSDL that could not be fetched is fetched again on the next call."""
    respx_mock.get("http://mvd.test/population?wsdl").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, content=wsdl_with_address(URL), headers=_XML),
        ]
    )
    respx_mock.post(URL).mock(return_value=soap_answer(person()))
    client = connect(wsdl="http://mvd.test/population?wsdl", url=None)
    with pytest.raises(ProviderUnavailableError):
        await ask(client)
    assert PINFL == (await ask(client))["pinfl"]


async def test_another_query_is_a_type_error(connect):
    """The client answers PersonByPinfl only (the gateway never sends it another query)."""
    with pytest.raises(TypeError):
        await connect().call(OrganizationByStir(stir="301234567"))


async def test_closing_twice_is_harmless(connect):
    """aclose() may be called again."""
    client = connect()
    await client.aclose()
    await client.aclose()


async def test_missing_citizenship_is_not_taken_for_uzbek(connect, respx_mock):
    """fuqaroligi, required by the WSDL, left out last is named, not defaulted to UZB."""
    native = person(fuqaroligi=None, pasport=None, yashash_manzili=None)
    respx_mock.post(URL).mock(return_value=soap_answer(native))
    with pytest.raises(ProviderAnswerError) as caught:
        await ask(connect())
    assert (
        "the population registry's answer does not map to person/1: "
        "fuqaroligi (citizenship): required field is missing"
    ) == caught.value.message
