"""SOAP Faults: one rule for the code, the HTTP status of each version, the detail."""

import pytest

from gateway.errors import (
    AuthenticationError,
    BrokerUnavailableError,
    PublishFailedError,
    SchemaViolationError,
)
from gateway.soap import (
    FAULT_NAMESPACE,
    SOAP11,
    SOAP12,
    fault_code,
    fault_element,
    fault_of,
    parse_xml,
    render_envelope,
)
from gateway.soap.faults import FAULT_NSMAP, xml_text

EINT = f"{{{FAULT_NAMESPACE}}}"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("client.schema_violation", "Client.SchemaViolation"),
        ("client.access_denied", "Client.AccessDenied"),
        ("client.malformed_xml", "Client.MalformedXml"),
        ("client.forbidden_xml", "Client.ForbiddenXml"),
        ("client.too_deep", "Client.TooDeep"),
        ("client.payload_too_large", "Client.PayloadTooLarge"),
        ("client.unknown_operation", "Client.UnknownOperation"),
        ("client.missing_key", "Client.Authentication.MissingKey"),
        ("client.unknown_key", "Client.Authentication.UnknownKey"),
        ("client.http_405", "Client.Http405"),
        ("gateway.broker_unavailable", "Server.BrokerUnavailable"),
        ("gateway.publish_failed", "Server.PublishFailed"),
        ("gateway.internal", "Server.Internal"),
        ("provider.timeout", "Server.Provider.Timeout"),
        ("provider.bad_answer", "Server.Provider.BadAnswer"),
    ],
)
def test_fault_code_follows_one_rule(code, expected):
    """The side becomes Client or Server, each snake_case part CamelCase."""
    assert expected == fault_code(code)


@pytest.mark.parametrize(
    ("version", "error", "status"),
    [
        (SOAP11, SchemaViolationError("bad"), 500),
        (SOAP11, BrokerUnavailableError("down"), 500),
        (SOAP12, SchemaViolationError("bad"), 400),
        (SOAP12, AuthenticationError("who?"), 400),
        (SOAP12, BrokerUnavailableError("down"), 500),
    ],
)
def test_http_status_follows_the_soap_binding(version, error, status):
    """SOAP 1.1: 500 for every fault; SOAP 1.2: 400 for Sender faults, 500 for Receiver ones."""
    assert status == fault_of(error, "e1").http_status(version)


def rendered(version, error, error_id="0123abcd"):
    """The Fault element of ``error`` as a client reads it back."""
    envelope = render_envelope(
        version, fault_element(fault_of(error, error_id), version), (), FAULT_NSMAP
    )
    return parse_xml(envelope).find(f"{{{version.namespace}}}Body")[0]


def test_soap11_fault_has_code_string_and_detail():
    """SOAP 1.1: faultcode soap:Client.SchemaViolation, faultstring, detail with the error id."""
    fault = rendered(SOAP11, SchemaViolationError("the record is invalid"))
    assert (
        "soap:Client.SchemaViolation",
        "the record is invalid",
        "0123abcd",
        "client.schema_violation",
    ) == (
        fault.findtext("faultcode"),
        fault.findtext("faultstring"),
        fault.findtext(f"detail/{EINT}error/{EINT}errorId"),
        fault.findtext(f"detail/{EINT}error/{EINT}code"),
    )


def test_soap11_faultcode_prefix_is_the_envelope_namespace():
    """The faultcode's soap: prefix resolves to the SOAP 1.1 envelope namespace."""
    fault = rendered(SOAP11, SchemaViolationError("bad"))
    assert SOAP11.namespace == fault.nsmap["soap"]


def test_soap12_fault_has_sender_code_with_the_dotted_subcode():
    """SOAP 1.2: Code/Value soap:Sender, Subcode/Value the dotted code, Reason/Text."""
    ns = f"{{{SOAP12.namespace}}}"
    fault = rendered(SOAP12, SchemaViolationError("the record is invalid"))
    assert (
        "soap:Sender",
        "eint:Client.SchemaViolation",
        "the record is invalid",
        "0123abcd",
    ) == (
        fault.findtext(f"{ns}Code/{ns}Value"),
        fault.findtext(f"{ns}Code/{ns}Subcode/{ns}Value"),
        fault.findtext(f"{ns}Reason/{ns}Text"),
        fault.findtext(f"{ns}Detail/{EINT}error/{EINT}errorId"),
    )


def test_soap12_subcode_prefix_is_declared():
    """The Subcode's eint: prefix resolves to the gateway's fault namespace."""
    ns = f"{{{SOAP12.namespace}}}"
    value = rendered(SOAP12, SchemaViolationError("bad")).find(f"{ns}Code/{ns}Subcode/{ns}Value")
    assert FAULT_NAMESPACE == value.nsmap["eint"]


def test_soap12_server_fault_is_a_receiver_fault():
    """Our side's failures are soap:Receiver."""
    ns = f"{{{SOAP12.namespace}}}"
    fault = rendered(SOAP12, PublishFailedError("nacked"))
    assert ("soap:Receiver", "eint:Server.PublishFailed") == (
        fault.findtext(f"{ns}Code/{ns}Value"),
        fault.findtext(f"{ns}Code/{ns}Subcode/{ns}Value"),
    )


def test_detail_lists_every_problem_of_every_record():
    """A schema violation's detail names each record, native field, message, canonical field."""
    error = SchemaViolationError(
        "invalid",
        details={
            "records": [
                {
                    "index": 1,
                    "problems": [
                        {
                            "field": "arizachi.jshshir",
                            "message": "PINFL must be exactly 14 digits",
                            "canonical_field": "applicant.pinfl",
                        }
                    ],
                }
            ]
        },
    )
    [record] = rendered(SOAP11, error).findall(f"detail/{EINT}error/{EINT}record")
    problem = record.find(f"{EINT}problem")
    assert ("1", "arizachi.jshshir", "PINFL must be exactly 14 digits", "applicant.pinfl") == (
        record.findtext(f"{EINT}index"),
        problem.findtext(f"{EINT}field"),
        problem.findtext(f"{EINT}message"),
        problem.findtext(f"{EINT}canonicalField"),
    )


def test_detail_lists_every_receipt_of_a_partly_published_batch():
    """A partly published batch's detail gives each record's message id, status and routes."""
    error = PublishFailedError(
        "nacked",
        details={
            "records": [
                {"index": 0, "message_id": "m0", "status": "accepted", "routes": ["a", "b"]},
                {"index": 1, "message_id": "m1", "status": "failed", "routes": ["a"]},
            ]
        },
    )
    records = rendered(SOAP11, error).findall(f"detail/{EINT}error/{EINT}record")
    assert [("m0", "accepted", ["a", "b"]), ("m1", "failed", ["a"])] == [
        (
            r.findtext(f"{EINT}messageId"),
            r.findtext(f"{EINT}status"),
            [route.text for route in r.findall(f"{EINT}route")],
        )
        for r in records
    ]


def test_text_that_xml_cannot_carry_is_replaced():
    """Control characters (which XML cannot carry) never break a fault."""
    assert "a\ufffdb\tc" == xml_text("a\x00b\tc")
