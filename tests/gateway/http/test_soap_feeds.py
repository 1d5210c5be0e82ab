"""/soap/{feed} end to end: a real gateway on loopback, zeep as the ministry's client on the
gateway's own WSDL, the real RabbitMQ; XML attacks and every fault."""

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import structlog
import zeep
from aiohttp import web
from aiohttp.test_utils import TestServer
from lxml import etree
from zeep.exceptions import Fault
from zeep.plugins import HistoryPlugin
from zeep.transports import AsyncTransport

from gateway.soap import FAULT_NAMESPACE, SOAP11, SOAP12, feed_namespace
from gateway.soap.xroad import IDENTIFIERS_NAMESPACE, XROAD_NAMESPACE
from tests.gateway.soap import xml_attacks
from tests.support import keys
from tests.support.amqp import depth, take
from tests.support.records import FIXTURES, load

FEED = "crime-reports-soap"
PATH = f"/soap/{FEED}"
NS = feed_namespace(FEED)
EINT = f"{{{FAULT_NAMESPACE}}}"
README_PUSH = FIXTURES / "soap" / "mvd_crime_report_push.xml"
XROAD_HEADERS = {
    "client": {
        "xRoadInstance": "UZ",
        "memberClass": "GOV",
        "memberCode": "IIV",
        "subsystemCode": "crime-registry",
        "objectType": "SUBSYSTEM",
    },
    "service": {
        "xRoadInstance": "UZ",
        "memberClass": "GOV",
        "memberCode": "GP",
        "subsystemCode": "e-integratsiya",
        "serviceCode": "Push",
        "objectType": "SERVICE",
    },
    "userId": "u.karimov",
    "issue": "1-1203/26",
    "protocolVersion": "4.0",
}


@contextlib.asynccontextmanager
async def zeep_client(client, key=keys.MVD, plugins=()):
    """zeep's AsyncClient on the running gateway's WSDL, the key on its httpx clients. The
    WSDL is loaded in a thread: zeep loads it synchronously, and the gateway serves it on this
    event loop."""
    transport = AsyncTransport()
    for http in (transport.client, transport.wsdl_client):
        http.headers["Authorization"] = f"Bearer {key}"
    try:
        yield await asyncio.to_thread(
            zeep.AsyncClient,
            str(client.make_url(f"{PATH}?wsdl")),
            transport=transport,
            plugins=list(plugins),
        )
    finally:
        await transport.aclose()
        transport.wsdl_client.close()


def etergov(gateway):
    """The queue of E-tergov's crime reports, where every crime report goes."""
    return gateway.broker.topology.queue_of("etergov.crime-reports")


def fields_xml(values):
    """Native fields as XML elements in the feed's namespace (nested dicts nest)."""
    return "".join(
        f"<f:{k}>{fields_xml(v) if isinstance(v, dict) else v}</f:{k}>" for k, v in values.items()
    )


def envelope(*records, version=SOAP11, header="", operation="Push", doctype=""):
    """A request envelope pushing ``records`` (native dicts, or raw XML strings)."""
    inner = "".join(
        f"<f:record>{r if isinstance(r, str) else fields_xml(r)}</f:record>" for r in records
    )
    return (
        f'<?xml version="1.0"?>{doctype}<soap:Envelope xmlns:soap="{version.namespace}" '
        f'xmlns:f="{NS}" xmlns:xrd="{XROAD_NAMESPACE}" xmlns:id="{IDENTIFIERS_NAMESPACE}">'
        f"{f'<soap:Header>{header}</soap:Header>' if header else ''}"
        f"<soap:Body><f:{operation}>{inner}</f:{operation}></soap:Body></soap:Envelope>"
    ).encode()


async def post(client, body, *, key=keys.MVD, version=SOAP11, path=PATH, content_type=None):
    """POST ``body`` as SOAP of ``version`` (or as ``content_type``)."""
    headers = {"Content-Type": content_type or f"{version.content_type}; charset=utf-8"}
    if key is not None:
        headers.update(keys.bearer(key))
    return await client.post(path, data=body, headers=headers)


@dataclass
class SoapFault:
    """A fault as a client reads it."""

    code: str
    message: str
    error_id: str
    gateway_code: str
    side: str
    detail: Any
    text: str


async def fault_of(response, version=SOAP11):
    """The fault in ``response`` (SOAP 1.1 or 1.2)."""
    text = await response.text()
    body = etree.fromstring(text.encode()).find(f"{{{version.namespace}}}Body")
    fault = body.find(f"{{{version.namespace}}}Fault")
    if version is SOAP11:
        code, side = fault.findtext("faultcode").removeprefix("soap:"), None
        message, detail = fault.findtext("faultstring"), fault.find(f"detail/{EINT}error")
    else:
        ns = f"{{{version.namespace}}}"
        side = fault.findtext(f"{ns}Code/{ns}Value")
        code = fault.findtext(f"{ns}Code/{ns}Subcode/{ns}Value").removeprefix("eint:")
        message = fault.findtext(f"{ns}Reason/{ns}Text")
        detail = fault.find(f"{ns}Detail/{EINT}error")
    return SoapFault(
        code,
        message,
        detail.findtext(f"{EINT}errorId"),
        detail.findtext(f"{EINT}code"),
        side,
        detail,
        text,
    )


def access_event(logs):
    """The one access event among captured log entries."""
    [event] = [e for e in logs if e["event"] == "access"]
    return event


async def refused(client, body, *, version=SOAP11, **options):
    """(fault, HTTP status, access event) of a request the gateway refuses."""
    with structlog.testing.capture_logs() as logs:
        response = await post(client, body, version=version, **options)
        fault = await fault_of(response, version)
    return fault, response, access_event(logs)


# --- zeep on the gateway's own WSDL ------------------------------------------------------------


async def test_zeep_pushes_a_record_and_gets_its_receipt(gateway_client, amqp_channel):
    """zeep, a client of the gateway's WSDL, pushes the native record and gets the receipt."""
    gateway, client = gateway_client
    async with zeep_client(client) as soap:
        result = await soap.service.Push(record=[load("mvd_crime_report")])
    [receipt] = result.body.receipt
    queue = gateway.broker.topology.queue_of("etergov.crime-reports")
    [message] = await take(amqp_channel, queue, 1)
    assert (0, "accepted", ["etergov.crime-reports", "raqamli-prokuror.supervision"]) == (
        receipt.index,
        receipt.status,
        receipt.route,
    )
    assert receipt.messageId == message.message_id


async def test_pushed_record_arrives_as_canonical_json_with_the_envelope(
    gateway_client, amqp_channel
):
    """The record arrives in the destination queue canonical, persistent, enveloped."""
    gateway, client = gateway_client
    async with zeep_client(client) as soap:
        result = await soap.service.Push(record=[load("mvd_crime_report")])
    queue = gateway.broker.topology.queue_of("etergov.crime-reports")
    [message] = await take(amqp_channel, queue, 1)
    body = orjson.loads(message.body)
    assert ("IIV-2026-0012345", "grave", "31205850123456", "2026-11-20T10:15:00+05:00") == (
        body["report_number"],
        body["severity"],
        body["applicant"]["pinfl"],
        body["registered_at"],
    )
    assert (result.body.correlationId, 2, "crime_report/1") == (
        message.correlation_id,
        message.delivery_mode,
        message.type,
    )
    assert {"client": "mvd.crime-registry", "feed": FEED, "schema": "crime_report/1"}.items() <= (
        message.headers.items()
    )


async def test_zeep_pushes_over_soap_12(gateway_client, amqp_channel):
    """The SOAP 1.2 port works the same: application/soap+xml in, a 1.2 envelope out."""
    gateway, client = gateway_client
    history = HistoryPlugin()
    async with zeep_client(client, plugins=[history]) as soap:
        service = soap.bind(FEED, "Soap12")
        result = await service.Push(record=[load("mvd_crime_report")])
    [message] = await take(
        amqp_channel, gateway.broker.topology.queue_of("etergov.crime-reports"), 1
    )
    assert (SOAP12.namespace, SOAP12.namespace) == (
        etree.QName(history.last_sent["envelope"]).namespace,
        etree.QName(history.last_received["envelope"]).namespace,
    )
    assert result.body.receipt[0].messageId == message.message_id


async def test_batch_gets_a_receipt_per_record(gateway_client, amqp_channel):
    """Several records in one Push: one receipt each, in order, all in the queue."""
    gateway, client = gateway_client
    async with zeep_client(client) as soap:
        result = await soap.service.Push(record=load("mvd_crime_reports_batch"))
    queue = gateway.broker.topology.queue_of("etergov.crime-reports")
    messages = await take(amqp_channel, queue, 2)
    assert [0, 1] == [r.index for r in result.body.receipt]
    assert [m.message_id for m in messages] == [r.messageId for r in result.body.receipt]


async def test_duplicate_is_answered_with_the_original_message_id(gateway_client, amqp_channel):
    """The feed deduplicates by report number: a resend is a duplicate, published once."""
    gateway, client = gateway_client
    async with zeep_client(client) as soap:
        first = await soap.service.Push(record=[load("mvd_crime_report")])
        second = await soap.service.Push(record=[load("mvd_crime_report")])
    queue = gateway.broker.topology.queue_of("etergov.crime-reports")
    await take(amqp_channel, queue, 1)
    [original], [again] = first.body.receipt, second.body.receipt
    assert ("duplicate", original.messageId, []) == (again.status, again.messageId, again.route)
    assert 0 == await depth(amqp_channel, queue)


async def test_xroad_headers_land_in_the_amqp_headers(gateway_client, amqp_channel):
    """userId and issue of the X-Road headers travel as user_id and issue."""
    gateway, client = gateway_client
    async with zeep_client(client) as soap:
        await soap.service.Push(record=[load("mvd_crime_report")], _soapheaders=XROAD_HEADERS)
    [message] = await take(
        amqp_channel, gateway.broker.topology.queue_of("etergov.crime-reports"), 1
    )
    assert ("u.karimov", "1-1203/26") == (message.headers["user_id"], message.headers["issue"])


async def test_xroad_headers_are_echoed(gateway_client):
    """Every X-Road header comes back in the answer's Header."""
    _, client = gateway_client
    async with zeep_client(client) as soap:
        result = await soap.service.Push(
            record=[load("mvd_crime_report")], _soapheaders=XROAD_HEADERS
        )
    header = result.header
    assert ("u.karimov", "1-1203/26", "4.0", "IIV", "Push") == (
        header.userId,
        header.issue,
        header.protocolVersion,
        header.client.memberCode,
        header.service.serviceCode,
    )


async def test_xroad_headers_are_in_the_access_log(gateway_client):
    """client, service and protocolVersion are logged beside the authenticated system."""
    _, client = gateway_client
    with structlog.testing.capture_logs() as logs:
        response = await post(client, README_PUSH.read_bytes())
    event = access_event(logs)
    assert 200 == response.status
    assert {
        "client": "mvd.crime-registry",
        "xroad_client": "SUBSYSTEM:UZ/GOV/IIV/crime-registry",
        "xroad_service": None,
        "xroad_protocol_version": "4.0",
        "user_id": "operator.rahimov",
        "issue": "1-1203-2026",
        "outcome": "ok",
    }.items() <= event.items()


async def test_xroad_id_is_the_message_id_of_a_single_record(gateway_client, amqp_channel):
    """The X-Road id of a one-record push becomes its message id, like X-Message-Id."""
    gateway, client = gateway_client
    response = await post(
        client, envelope(load("mvd_crime_report"), header="<xrd:id>iiv-msg-0001</xrd:id>")
    )
    [message] = await take(
        amqp_channel, gateway.broker.topology.queue_of("etergov.crime-reports"), 1
    )
    assert (200, "iiv-msg-0001") == (response.status, message.message_id)


async def test_xroad_id_is_refused_for_a_batch(gateway_client):
    """A batch's records get their own ids: an X-Road id for it is a bad header."""
    _, client = gateway_client
    batch = load("mvd_crime_reports_batch")
    fault, response, event = await refused(
        client, envelope(*batch, header="<xrd:id>iiv-msg-0002</xrd:id>")
    )
    assert ("Client.BadHeader", 500, event["error_id"]) == (
        fault.code,
        response.status,
        fault.error_id,
    )


async def test_readme_push_fixture_is_accepted(gateway_client, amqp_channel):
    """The README's SOAP example (tests/fixtures/soap) is accepted as it is written."""
    gateway, client = gateway_client
    response = await post(client, README_PUSH.read_bytes())
    text = await response.text()
    [message] = await take(
        amqp_channel, gateway.broker.topology.queue_of("etergov.crime-reports"), 1
    )
    assert 200 == response.status
    assert f"<messageId>{message.message_id}</messageId>" in text


# --- hardened XML ------------------------------------------------------------------------------


@pytest.fixture
async def listener():
    """A loopback HTTP server that records every request: the gateway must never call it."""
    hits = []

    async def record(request):
        hits.append(request.path)
        return web.Response(text=xml_attacks.SECRET)

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    server = TestServer(app)
    await server.start_server()
    yield server, hits
    await server.close()


@pytest.fixture
def secret_file(tmp_path):
    """A local file whose content must never come back in any answer."""
    path = tmp_path / "secret.txt"
    path.write_text(xml_attacks.SECRET, encoding="utf-8")
    return path


def with_doctype(doctype, value):
    """The native crime report with ``value`` (an entity reference) as its severity code (an
    unknown code is quoted back in a schema violation, so an expanded entity would show)."""
    record = load("mvd_crime_report")
    record["ogirlik_toifasi"] = value
    return envelope(record, doctype=doctype)


def attacks(secret_file, listener_url):
    """Every XML attack, as a SOAP push to the feed: name → (body, fault code)."""
    lols = "".join([f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)])
    deep = "".join(["<x>"] * 40 + ["</x>"] * 40)
    xxe_file = with_doctype(
        f'<!DOCTYPE soap:Envelope [<!ENTITY leak SYSTEM "{secret_file.as_uri()}">]>', "&leak;"
    )
    return {
        "xxe_local_file": (xxe_file, "Client.ForbiddenXml"),
        "xxe_url": (
            with_doctype(
                f'<!DOCTYPE soap:Envelope [<!ENTITY leak SYSTEM "{listener_url}/secret">]>',
                "&leak;",
            ),
            "Client.ForbiddenXml",
        ),
        "billion_laughs": (
            with_doctype(f'<!DOCTYPE soap:Envelope [<!ENTITY l0 "lol">{lols}]>', "&l9;"),
            "Client.ForbiddenXml",
        ),
        "quadratic_blowup": (
            with_doctype(
                f'<!DOCTYPE soap:Envelope [<!ENTITY big "{"x" * 50_000}">]>', "&big;" * 50_000
            ),
            "Client.ForbiddenXml",
        ),
        "external_dtd": (
            with_doctype(f'<!DOCTYPE soap:Envelope SYSTEM "{listener_url}/evil.dtd">', "&e;"),
            "Client.ForbiddenXml",
        ),
        "xxe_in_utf16": (
            xml_attacks.in_utf16(xxe_file),
            "Client.ForbiddenXml",
        ),
        "too_deep": (envelope(f"<f:extra>{deep}</f:extra>"), "Client.TooDeep"),
    }


ATTACKS = [
    "xxe_local_file",
    "xxe_url",
    "billion_laughs",
    "quadratic_blowup",
    "external_dtd",
    "xxe_in_utf16",
    "too_deep",
]


@pytest.mark.parametrize("attack", ATTACKS)
async def test_xml_attack_gets_its_client_fault(gateway_client, secret_file, listener, attack):
    """Each XML attack is a Client.* fault (logged under its error_id), the local file's content
    is in no answer, and nothing is fetched."""
    _, client = gateway_client
    server, hits = listener
    body, code = attacks(secret_file, str(server.make_url("")).rstrip("/"))[attack]
    fault, response, event = await refused(client, body, content_type="text/xml")
    assert (code, 500, event["error_id"], "error") == (
        fault.code,
        response.status,
        fault.error_id,
        event["outcome"],
    )
    assert xml_attacks.SECRET not in fault.text
    assert [] == hits


async def test_gateway_keeps_serving_after_every_attack(
    gateway_client, secret_file, listener, amqp_channel
):
    """After every attack in a row, a normal push is accepted."""
    gateway, client = gateway_client
    server, _ = listener
    for body, _ in attacks(secret_file, str(server.make_url("")).rstrip("/")).values():
        await post(client, body, content_type="text/xml")
    async with zeep_client(client) as soap:
        result = await soap.service.Push(record=[load("mvd_crime_report")])
    [message] = await take(
        amqp_channel, gateway.broker.topology.queue_of("etergov.crime-reports"), 1
    )
    assert ("accepted", message.message_id) == (
        result.body.receipt[0].status,
        result.body.receipt[0].messageId,
    )


async def test_body_over_the_limit_is_payload_too_large(start_gateway, settings):
    """A body over GATEWAY_MAX_BODY_BYTES is Client.PayloadTooLarge, unread."""
    _, client = await start_gateway(settings.model_copy(update={"max_body_bytes": 4096}))
    record = load("mvd_crime_report") | {"qisqacha_mazmun": "x" * 8192}
    fault, response, event = await refused(client, envelope(record))
    assert ("Client.PayloadTooLarge", 500, event["error_id"]) == (
        fault.code,
        response.status,
        fault.error_id,
    )


# --- faults ------------------------------------------------------------------------------------


async def test_malformed_xml_is_a_client_fault_with_line_and_column(gateway_client):
    """XML that is not well-formed is Client.MalformedXml, saying where."""
    _, client = gateway_client
    body = envelope(load("mvd_crime_report")).replace(b"</f:holat>", b"</f:hola>")
    fault, response, event = await refused(client, body)
    assert ("Client.MalformedXml", 500, event["error_id"]) == (
        fault.code,
        response.status,
        fault.error_id,
    )
    assert (1, True) == (
        int(fault.detail.findtext(f"{EINT}line")),
        int(fault.detail.findtext(f"{EINT}column")) > 0,
    )


async def test_malformed_xml_in_soap_12_is_a_sender_fault_with_400(gateway_client):
    """SOAP 1.2: a client fault is soap:Sender with the dotted subcode, HTTP 400."""
    _, client = gateway_client
    fault, response, event = await refused(client, b"<soap:Envelope", version=SOAP12)
    assert ("soap:Sender", "Client.MalformedXml", 400, event["error_id"]) == (
        fault.side,
        fault.code,
        response.status,
        fault.error_id,
    )


async def test_schema_violation_names_the_native_field(gateway_client, amqp_channel):
    """A record the schema refuses is Client.SchemaViolation naming the native field path;
    nothing is published."""
    gateway, client = gateway_client
    record = load("mvd_crime_report")
    record["arizachi"]["jshshir"] = "123"
    fault, response, event = await refused(client, envelope(record))
    [problem] = fault.detail.findall(f"{EINT}record/{EINT}problem")
    assert ("Client.SchemaViolation", 500, event["error_id"]) == (
        fault.code,
        response.status,
        fault.error_id,
    )
    assert ("arizachi.jshshir", "applicant.pinfl") == (
        problem.findtext(f"{EINT}field"),
        problem.findtext(f"{EINT}canonicalField"),
    )
    assert 0 == await depth(amqp_channel, gateway.broker.topology.queue_of("etergov.crime-reports"))


async def test_zeep_sees_a_schema_violation_as_a_sender_fault(gateway_client):
    """Through zeep on SOAP 1.2: a Fault with code Sender and the dotted subcode."""
    _, client = gateway_client
    record = load("mvd_crime_report") | {"ogirlik_toifasi": "9"}
    async with zeep_client(client) as soap:
        with pytest.raises(Fault) as caught:
            await soap.bind(FEED, "Soap12").Push(record=[record])
    assert ("soap:Sender", [f"{{{FAULT_NAMESPACE}}}Client.SchemaViolation"]) == (
        caught.value.code,
        [subcode.text for subcode in caught.value.subcodes],
    )


async def test_field_given_twice_is_a_schema_violation(gateway_client):
    """What cannot be told as JSON (a field twice) is a schema violation of that field."""
    _, client = gateway_client
    body = envelope(fields_xml(load("mvd_crime_report")) + "<f:holat>YOPILDI</f:holat>")
    fault, _, _ = await refused(client, body)
    assert ("Client.SchemaViolation", "holat") == (
        fault.code,
        fault.detail.findtext(f"{EINT}record/{EINT}problem/{EINT}field"),
    )


async def test_unknown_operation_is_a_client_fault(gateway_client):
    """A body element other than Push is Client.UnknownOperation."""
    _, client = gateway_client
    fault, response, event = await refused(
        client, envelope(load("mvd_crime_report"), operation="Delete")
    )
    assert ("Client.UnknownOperation", 500, event["error_id"]) == (
        fault.code,
        response.status,
        fault.error_id,
    )


async def test_system_not_allowed_is_access_denied(gateway_client):
    """The Tax Committee may not push crime reports: Client.AccessDenied."""
    _, client = gateway_client
    fault, response, event = await refused(
        client, envelope(load("mvd_crime_report")), key=keys.SOLIQ
    )
    assert ("Client.AccessDenied", 500, event["error_id"]) == (
        fault.code,
        response.status,
        fault.error_id,
    )


async def test_no_key_is_an_authentication_fault_with_www_authenticate(gateway_client):
    """No Authorization: Client.Authentication.MissingKey, WWW-Authenticate kept."""
    _, client = gateway_client
    fault, response, event = await refused(client, envelope(load("mvd_crime_report")), key=None)
    assert ("Client.Authentication.MissingKey", 500, event["error_id"]) == (
        fault.code,
        response.status,
        fault.error_id,
    )
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_unknown_key_is_an_authentication_fault(gateway_client):
    """A key of no system: Client.Authentication.UnknownKey (SOAP 1.2: Sender, 400)."""
    _, client = gateway_client
    fault, response, event = await refused(
        client,
        envelope(load("mvd_crime_report"), version=SOAP12),
        key="not-a-key-of-anyone-at-all",
        version=SOAP12,
    )
    assert ("Client.Authentication.UnknownKey", 400, event["error_id"]) == (
        fault.code,
        response.status,
        fault.error_id,
    )


@pytest.mark.parametrize(("version", "side"), [(SOAP11, None), (SOAP12, "soap:Receiver")])
async def test_broker_unavailable_is_a_server_fault(start_gateway, settings, version, side):
    """RabbitMQ unreachable: Server.BrokerUnavailable (1.2: Receiver), 500, Retry-After."""
    _, client = await start_gateway(
        settings.model_copy(update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/"}),
        wait_ready=False,
    )
    fault, response, event = await refused(
        client, envelope(load("mvd_crime_report"), version=version), version=version
    )
    assert ("Server.BrokerUnavailable", side, 500, event["error_id"]) == (
        fault.code,
        fault.side,
        response.status,
        fault.error_id,
    )
    assert "3" == response.headers["Retry-After"]


async def test_partly_published_batch_lists_every_receipt(gateway_client, amqp_channel):
    """Only some records confirmed: Server.PublishFailed, and the detail says which."""
    gateway, client = gateway_client
    await amqp_channel.queue_delete(
        gateway.broker.topology.queue_of("raqamli-prokuror.supervision")
    )
    fault, _, event = await refused(client, envelope(*load("mvd_crime_reports_batch")))
    records = fault.detail.findall(f"{EINT}record")
    assert ("Server.PublishFailed", event["error_id"]) == (fault.code, fault.error_id)
    assert ["accepted", "failed"] == [r.findtext(f"{EINT}status") for r in records]


async def test_unsupported_content_type_is_a_client_fault(gateway_client):
    """Neither text/xml nor application/soap+xml: Client.UnsupportedMediaType."""
    _, client = gateway_client
    fault, _, _ = await refused(
        client, envelope(load("mvd_crime_report")), content_type="application/json"
    )
    assert "Client.UnsupportedMediaType" == fault.code


async def test_envelope_of_the_other_version_is_a_version_mismatch(gateway_client):
    """A SOAP 1.1 envelope sent as SOAP 1.2 is Client.VersionMismatch."""
    _, client = gateway_client
    fault, _, _ = await refused(client, envelope(load("mvd_crime_report")), version=SOAP12)
    assert "Client.VersionMismatch" == fault.code


# --- channels ----------------------------------------------------------------------------------


async def test_rest_push_to_a_soap_feed_is_refused_naming_its_endpoint(gateway_client):
    """POST /v1/feeds/<soap feed>: 404 client.wrong_channel, saying where it is pushed."""
    _, client = gateway_client
    response = await client.post(
        f"/v1/feeds/{FEED}", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    error = (await response.json())["error"]
    assert (404, "client.wrong_channel", "soap") == (
        response.status,
        error["code"],
        error["channel"],
    )
    assert f"POST /soap/{FEED}" in error["message"]


async def test_soap_push_to_a_rest_feed_is_refused_naming_its_endpoint(gateway_client):
    """POST /soap/<rest feed>: Client.WrongChannel, saying where it is pushed."""
    _, client = gateway_client
    fault, _, event = await refused(
        client, envelope(load("mvd_crime_report")), path="/soap/crime-reports"
    )
    assert ("Client.WrongChannel", event["error_id"]) == (fault.code, fault.error_id)
    assert "POST /v1/feeds/crime-reports" in fault.message


async def test_unknown_feed_is_a_client_fault(gateway_client):
    """A feed the routing table does not declare is Client.UnknownFeed."""
    _, client = gateway_client
    fault, _, event = await refused(
        client, envelope(load("mvd_crime_report")), path="/soap/no-such-feed"
    )
    assert ("Client.UnknownFeed", event["error_id"]) == (fault.code, fault.error_id)


async def test_wsdl_of_a_rest_feed_is_refused(gateway_client):
    """A REST feed has no WSDL: 404 with the fault."""
    _, client = gateway_client
    response = await client.get("/soap/crime-reports?wsdl", headers=keys.bearer(keys.MVD))
    fault = await fault_of(response)
    assert (404, "Client.WrongChannel") == (response.status, fault.code)


async def test_wsdl_needs_a_key(gateway_client):
    """The WSDL is served to known systems only: 401 with WWW-Authenticate."""
    _, client = gateway_client
    response = await client.get(f"{PATH}?wsdl")
    fault = await fault_of(response)
    assert (401, "Client.Authentication.MissingKey") == (response.status, fault.code)
    assert "WWW-Authenticate" in response.headers


async def test_wsdl_names_the_address_the_request_came_to(gateway_client):
    """The WSDL's ports point at the host and port the caller used."""
    _, client = gateway_client
    response = await client.get(f"{PATH}?wsdl", headers=keys.bearer(keys.MVD))
    text = await response.text()
    assert 200 == response.status
    assert 2 == text.count(f'location="{client.make_url(PATH)}"')
