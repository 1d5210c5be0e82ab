"""SOAP envelopes: the version by content type, the parts of a request, the answer's envelope."""

import re

import pytest
from lxml import etree

from gateway.soap import (
    SOAP11,
    SOAP12,
    MalformedSoapError,
    MustUnderstandError,
    VersionMismatchError,
    parse_xml,
    read_envelope,
    render_envelope,
    version_for,
)

XRD = "http://x-road.eu/xsd/xroad.xsd"


def envelope(version, body="<op xmlns='urn:x'/>", header=""):
    """A request envelope of ``version`` as parsed XML."""
    text = (
        f"<s:Envelope xmlns:s='{version.namespace}' xmlns:xrd='{XRD}'>"
        f"{f'<s:Header>{header}</s:Header>' if header else ''}<s:Body>{body}</s:Body></s:Envelope>"
    )
    return parse_xml(text.encode())


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [("text/xml", SOAP11), ("application/soap+xml", SOAP12), ("application/json", None)],
)
def test_version_is_told_by_content_type(content_type, expected):
    """text/xml is SOAP 1.1, application/soap+xml is SOAP 1.2, anything else neither."""
    assert expected is version_for(content_type)


@pytest.mark.parametrize("version", [SOAP11, SOAP12])
def test_body_element_is_read(version):
    """The Body's one element is the operation's."""
    request = read_envelope(envelope(version), version)
    assert ("{urn:x}op", (), version) == (request.body.tag, request.headers, request.version)


def test_header_blocks_are_read():
    """The Header's blocks come in order."""
    request = read_envelope(
        envelope(SOAP11, header="<xrd:userId>u</xrd:userId><xrd:issue>i</xrd:issue>"), SOAP11
    )
    assert [f"{{{XRD}}}userId", f"{{{XRD}}}issue"] == [h.tag for h in request.headers]


def test_envelope_of_the_other_version_is_a_version_mismatch():
    """A SOAP 1.1 envelope sent as application/soap+xml is refused as a version mismatch."""
    with pytest.raises(VersionMismatchError, match=r"the envelope is SOAP 1\.1"):
        read_envelope(envelope(SOAP11), SOAP12)


def test_document_that_is_not_an_envelope_is_malformed_soap():
    """A root element other than Envelope is not SOAP."""
    with pytest.raises(MalformedSoapError, match="root element is <Push>"):
        read_envelope(parse_xml(b"<Push/>"), SOAP11)


def test_envelope_without_body_is_malformed_soap():
    """An envelope must have a Body."""
    root = parse_xml(f"<s:Envelope xmlns:s='{SOAP11.namespace}'><s:Header/></s:Envelope>".encode())
    with pytest.raises(MalformedSoapError, match="no Body"):
        read_envelope(root, SOAP11)


def test_body_with_two_elements_is_malformed_soap():
    """Document/literal: exactly one element in the Body."""
    with pytest.raises(MalformedSoapError, match="it holds 2"):
        read_envelope(envelope(SOAP11, body="<a/><b/>"), SOAP11)


def test_unknown_header_that_must_be_understood_is_refused():
    """A block marked mustUnderstand that the caller does not read is refused."""
    header = f"<t:tx xmlns:t='urn:t' s:mustUnderstand='1' xmlns:s='{SOAP12.namespace}'/>"
    with pytest.raises(MustUnderstandError, match=re.escape("{urn:t}tx")):
        read_envelope(envelope(SOAP12, header=header), SOAP12)


def test_understood_header_may_be_marked_must_understand():
    """A block the caller reads may be marked mustUnderstand."""
    header = f"<xrd:userId xmlns:s='{SOAP11.namespace}' s:mustUnderstand='1'>u</xrd:userId>"
    request = read_envelope(
        envelope(SOAP11, header=header), SOAP11, understood={f"{{{XRD}}}userId"}
    )
    assert 1 == len(request.headers)


@pytest.mark.parametrize("version", [SOAP11, SOAP12])
def test_answer_envelope_carries_headers_and_body(version):
    """An answer's envelope holds copies of the headers and the body, in the version's namespace."""
    header = etree.fromstring(f"<xrd:userId xmlns:xrd='{XRD}'>u</xrd:userId>")
    answer = parse_xml(render_envelope(version, etree.Element("{urn:x}done"), [header]))
    request = read_envelope(answer, version)
    assert ("{urn:x}done", ["u"]) == (request.body.tag, [h.text for h in request.headers])


def test_answer_without_headers_has_no_header_element():
    """No headers to echo: no Header element."""
    answer = parse_xml(render_envelope(SOAP11, etree.Element("done")))
    assert [f"{{{SOAP11.namespace}}}Body"] == [child.tag for child in answer]
