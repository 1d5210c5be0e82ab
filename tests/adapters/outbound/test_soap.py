"""SoapDeliverer against a fake E-tergov inbox on loopback: fields in, failures classified."""

import asyncio
import socket

import httpx
import orjson
import pytest

from adapters.outbound import Delivery, SoapDeliverer
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from tests.support.records import load
from tests.support.soap_receiver import (
    WSDL_FILE,
    Answer,
    FakeSoapReceiver,
    broken,
    client_fault,
    hang,
    http_status,
    server_fault,
    wsdl_with_address,
)

OPERATION = "SubmitCourtDecision"


@pytest.fixture
async def receiver():
    """The fake SOAP receiving system."""
    fake = FakeSoapReceiver()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def make_deliverer(receiver):
    """``make_deliverer(**options)``: a SoapDeliverer for the fake's WSDL; all closed after."""
    made = []

    def make(**options):
        options.setdefault("wsdl", receiver.wsdl_url)
        options.setdefault("operation", OPERATION)
        options.setdefault("timeout", 2.0)
        wsdl, operation = options.pop("wsdl"), options.pop("operation")
        deliverer = SoapDeliverer(wsdl, operation, **options)
        made.append(deliverer)
        return deliverer

    yield make
    for deliverer in made:
        await deliverer.aclose()


def delivery(record=None, *, message_id="msg-0001", attempt=1) -> Delivery:
    """A court decision as the delivery worker hands it over."""
    return Delivery(
        body=orjson.dumps(load("court_decision") if record is None else record),
        message_id=message_id,
        correlation_id="corr-7",
        schema_id="court_decision/1",
        envelope={"client": "sud.e-xsud", "feed": "court-decisions"},
        attempt=attempt,
    )


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_delivery_arrives_with_its_fields(make_deliverer, receiver):
    """The operation's child elements are the canonical fields, nested objects included."""
    await make_deliverer().deliver(delivery())
    [call] = receiver.received
    assert OPERATION == call.operation
    assert {
        "decision_number": "1-1203-2026/451",
        "case_number": "1-1203-2026",
        "court": "Toshkent shahar Yunusobod tuman jinoyat ishlari boʻyicha sudi",
        "decision_date": "2026-11-18",
        "decision_type": "verdict",
        "outcome": "convicted",
        "defendant": {"pinfl": "30101800123456", "last_name": "Karimov", "first_name": "Anvar"},
        "criminal_code_articles": "169-3",
        "enters_into_force_on": "2026-11-28",
    } == call.fields


async def test_delivery_carries_the_idempotency_key_and_envelope(make_deliverer, receiver):
    """The receiver gets the message id as Idempotency-Key, and the envelope, as HTTP headers."""
    await make_deliverer().deliver(delivery(message_id="msg-42", attempt=3))
    [call] = receiver.received
    assert ("msg-42", "msg-42", "corr-7", "3", "court_decision/1", "sud.e-xsud") == (
        call.headers["Idempotency-Key"],
        call.headers["X-Message-Id"],
        call.headers["X-Correlation-Id"],
        call.headers["X-Attempt"],
        call.headers["X-Schema"],
        call.headers["X-Client"],
    )
    assert f'"urn:uz:gov:gp:e-tergov:inbox:1/{OPERATION}"' == call.headers["SOAPAction"]


async def test_empty_optional_fields_are_left_out(make_deliverer, receiver):
    """null optional fields (minOccurs=0) are not sent; repeated fields are repeated."""
    record = {
        **load("court_decision"),
        "defendant": None,
        "enters_into_force_on": None,
        "criminal_code_articles": ["169-3", "168-2"],
    }
    await make_deliverer().deliver(delivery(record))
    [call] = receiver.received
    assert ["169-3", "168-2"] == call.fields["criminal_code_articles"]
    assert {"defendant", "enters_into_force_on"}.isdisjoint(call.fields)


async def test_client_fault_is_permanent(make_deliverer, receiver):
    """A Client fault is the receiver refusing the message: permanent, with its fault string."""
    receiver.answer(client_fault("case 1-1203-2026 is unknown"))
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_deliverer().deliver(delivery())
    assert "case 1-1203-2026 is unknown" in caught.value.message
    assert "soap:Client" in caught.value.message


async def test_server_fault_is_transient(make_deliverer, receiver):
    """A Server fault may pass: transient, with its fault string and the receiver's Retry-After."""
    receiver.answer(server_fault("database is locked", retry_after="7"))
    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer().deliver(delivery())
    assert "database is locked" in caught.value.message
    assert (500, 7.0) == (caught.value.status, caught.value.retry_after)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("soap:Client", PermanentDeliveryError),
        ("Client.Authentication", PermanentDeliveryError),
        ("env:Sender", PermanentDeliveryError),
        ("soap:VersionMismatch", PermanentDeliveryError),
        ("soap:Server", TransientDeliveryError),
        ("env:Receiver", TransientDeliveryError),
        ("", TransientDeliveryError),
    ],
)
async def test_fault_codes_are_classified(make_deliverer, receiver, code, error):
    """Client/Sender (and protocol mismatches) are permanent; Server/Receiver or none transient."""
    receiver.answer(Answer("fault", 500, code, "refused"))
    with pytest.raises(error):
        await make_deliverer().deliver(delivery())


async def test_http_503_is_transient_with_retry_after(make_deliverer, receiver):
    """A bare 503 without SOAP is transient, and its Retry-After is kept."""
    receiver.answer(http_status(503, retry_after="4"))
    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer().deliver(delivery())
    assert (503, 4.0) == (caught.value.status, caught.value.retry_after)


async def test_http_400_without_fault_is_permanent(make_deliverer, receiver):
    """A 4xx other than 408/425/429, without a SOAP fault, is permanent like over HTTP."""
    receiver.answer(http_status(400))
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_deliverer().deliver(delivery())
    assert 400 == caught.value.status


async def test_hang_beyond_the_timeout_is_transient(make_deliverer, receiver):
    """No answer within the timeout is transient."""
    receiver.answer(hang(10))
    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer(timeout=0.3).deliver(delivery())
    assert "no answer within 0.3s" in caught.value.message


async def test_broken_reply_is_transient(make_deliverer, receiver):
    """A 200 whose body is not XML: we cannot know the message was taken, so try again."""
    receiver.answer(broken())
    with pytest.raises(TransientDeliveryError):
        await make_deliverer().deliver(delivery())


async def test_unreachable_receiver_is_transient(make_deliverer):
    """A connection refused at the endpoint is transient."""
    address = f"http://127.0.0.1:{free_port()}/soap"
    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer(address=address).deliver(delivery())
    assert address in caught.value.message


async def test_unreachable_wsdl_is_transient_and_named(make_deliverer):
    """A WSDL that cannot be fetched is transient, and the error names it."""
    wsdl = f"http://127.0.0.1:{free_port()}/soap?wsdl"
    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer(wsdl=wsdl).deliver(delivery())
    assert f"the WSDL {wsdl} cannot be loaded" in caught.value.message


async def test_malformed_wsdl_is_transient(make_deliverer, tmp_path):
    """A WSDL that is not XML is transient (the receiving system may fix it)."""
    wsdl = tmp_path / "broken.wsdl"
    wsdl.write_text("<wsdl:definitions", encoding="utf-8")
    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer(wsdl=str(wsdl)).deliver(delivery())
    assert str(wsdl) in caught.value.message


async def test_wsdl_with_a_dtd_is_refused(make_deliverer, tmp_path):
    """The hardened parser refuses a WSDL with a DOCTYPE (no entity tricks)."""
    wsdl = tmp_path / "dtd.wsdl"
    wsdl.write_bytes(
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "boom">]>\n'
        + WSDL_FILE.read_bytes().split(b"?>", 1)[1]
    )
    with pytest.raises(TransientDeliveryError) as caught:
        await make_deliverer(wsdl=str(wsdl)).deliver(delivery())
    assert "Forbidden" in caught.value.message


async def test_failed_wsdl_load_is_tried_again_on_the_next_delivery(make_deliverer, receiver):
    """A WSDL that failed to load is not remembered as failed: the next delivery loads it."""
    wsdl = wsdl_with_address(receiver.url)
    answers = iter([httpx.Response(503), httpx.Response(200, content=wsdl)])
    deliverer = make_deliverer(
        wsdl="http://wsdl.invalid/inbox?wsdl",
        wsdl_transport=httpx.MockTransport(lambda _request: next(answers)),
    )
    with pytest.raises(TransientDeliveryError):
        await deliverer.deliver(delivery())
    await deliverer.deliver(delivery())
    assert 1 == len(receiver.delivered())


async def test_wsdl_from_a_file_with_the_address_overridden(make_deliverer, receiver):
    """The WSDL may be a file path (or file:// URL); ``address`` replaces its endpoint."""
    for wsdl in (str(WSDL_FILE), WSDL_FILE.as_uri()):
        await make_deliverer(wsdl=wsdl, address=receiver.url).deliver(delivery())
    assert 2 == len(receiver.delivered())


async def test_unknown_operation_is_permanent(make_deliverer, receiver):
    """An operation the WSDL does not have is permanent, and nothing is sent."""
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_deliverer(operation="SubmitVerdict").deliver(delivery())
    assert "no operation 'SubmitVerdict'" in caught.value.message
    assert [] == receiver.received


async def test_unknown_service_is_permanent(make_deliverer):
    """A service the WSDL does not have is permanent, naming the ones it has."""
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_deliverer(service="OutboxService").deliver(delivery())
    assert "InboxService: InboxPort" in caught.value.message


async def test_field_the_operation_does_not_declare_is_permanent(make_deliverer, receiver):
    """A field the operation does not declare is permanent, with zeep's message; nothing sent."""
    record = {**load("court_decision"), "colour": "red"}
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_deliverer().deliver(delivery(record))
    assert "unexpected keyword argument 'colour'" in caught.value.message
    assert [] == receiver.received


async def test_missing_required_field_is_permanent(make_deliverer, receiver):
    """A required element left out is permanent; nothing is sent."""
    record = load("court_decision")
    del record["court"]
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_deliverer().deliver(delivery(record))
    assert "Missing element court" in caught.value.message
    assert [] == receiver.received


async def test_body_that_is_not_an_object_is_permanent(make_deliverer):
    """The canonical body must be a JSON object to become the operation's arguments."""
    with pytest.raises(PermanentDeliveryError):
        await make_deliverer().deliver(delivery(["not", "an", "object"]))


async def test_wsdl_is_loaded_once_for_concurrent_deliveries(make_deliverer, receiver):
    """Several first deliveries at once load the WSDL once and all arrive."""
    receiver.wsdl_delay = 0.2
    deliverer = make_deliverer()
    await asyncio.gather(*(deliverer.deliver(delivery(message_id=f"m-{i}")) for i in range(5)))
    assert (1, 5) == (receiver.wsdl_requests, len(receiver.delivered()))
    assert {f"m-{i}" for i in range(5)} == {c.headers["Idempotency-Key"] for c in receiver.received}


async def test_closing_twice_is_harmless(make_deliverer):
    """aclose() may be called again."""
    deliverer = make_deliverer()
    await deliverer.aclose()
    await deliverer.aclose()
