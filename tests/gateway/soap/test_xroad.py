"""X-Road headers: read, checked for shape like the REST headers, kept for the echo."""

import pytest
from lxml import etree

from gateway.errors import BadRequestError
from gateway.http.middleware import HEADER_VALUE
from gateway.soap import read_xroad
from gateway.soap.xroad import IDENTIFIERS_NAMESPACE, VALUE, XROAD_NAMESPACE

NS = f"xmlns:xrd='{XROAD_NAMESPACE}' xmlns:id='{IDENTIFIERS_NAMESPACE}'"


def blocks(*xml):
    """Header blocks parsed from their XML."""
    return [etree.fromstring(f"<wrap {NS}>{x}</wrap>")[0] for x in xml]


CLIENT = (
    "<xrd:client id:objectType='SUBSYSTEM'><id:xRoadInstance>UZ</id:xRoadInstance>"
    "<id:memberClass>GOV</id:memberClass><id:memberCode>IIV</id:memberCode>"
    "<id:subsystemCode>crime-registry</id:subsystemCode></xrd:client>"
)
SERVICE = (
    "<xrd:service id:objectType='SERVICE'><id:xRoadInstance>UZ</id:xRoadInstance>"
    "<id:memberClass>GOV</id:memberClass><id:memberCode>GP</id:memberCode>"
    "<id:subsystemCode>e-integratsiya</id:subsystemCode><id:serviceCode>Push</id:serviceCode>"
    "<id:serviceVersion>v1</id:serviceVersion></xrd:service>"
)


def test_every_header_is_read():
    """client, service, id, userId, issue and protocolVersion are read."""
    headers = read_xroad(
        blocks(
            CLIENT,
            SERVICE,
            "<xrd:id>msg-1</xrd:id>",
            "<xrd:userId>u.karimov</xrd:userId>",
            "<xrd:issue> 1-1203/26 </xrd:issue>",
            "<xrd:protocolVersion>4.0</xrd:protocolVersion>",
        )
    )
    assert (
        "SUBSYSTEM:UZ/GOV/IIV/crime-registry",
        "SERVICE:UZ/GOV/GP/e-integratsiya/Push/v1",
        "msg-1",
        "u.karimov",
        "1-1203/26",
        "4.0",
    ) == (
        headers.client,
        headers.service,
        headers.message_id,
        headers.user_id,
        headers.issue,
        headers.protocol_version,
    )


def test_absent_headers_are_none():
    """No X-Road headers: nothing is read, nothing echoed."""
    headers = read_xroad([])
    assert (None, None, ()) == (headers.user_id, headers.client, headers.blocks)


def test_blocks_of_other_namespaces_are_left_alone():
    """Only X-Road blocks are read and echoed."""
    headers = read_xroad(blocks("<t:tx xmlns:t='urn:t'>1</t:tx>", "<xrd:userId>u</xrd:userId>"))
    assert [f"{{{XROAD_NAMESPACE}}}userId"] == [b.tag for b in headers.blocks]


def test_other_xroad_headers_are_echoed_but_not_read():
    """An X-Road header the gateway does not read (requestHash) is still echoed."""
    headers = read_xroad(blocks("<xrd:requestHash>abc</xrd:requestHash>"))
    assert [f"{{{XROAD_NAMESPACE}}}requestHash"] == [b.tag for b in headers.blocks]


def test_value_shape_is_the_rest_headers_shape():
    """userId, issue, id are checked exactly like X-User-Id, X-Issue, X-Message-Id."""
    assert HEADER_VALUE.pattern == VALUE.pattern


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<xrd:userId>not allowed!</xrd:userId>", "SOAP header userId must be 1-128"),
        ("<xrd:issue></xrd:issue>", "SOAP header issue must be 1-128"),
        ("<xrd:id><x/></xrd:id>", "SOAP header id must hold text"),
        (
            "<xrd:client><id:xRoadInstance>UZ</id:xRoadInstance></xrd:client>",
            "SOAP header client lacks memberClass, memberCode",
        ),
        (
            "<xrd:client><id:colour>red</id:colour></xrd:client>",
            "SOAP header client may hold",
        ),
        (
            "<xrd:service><id:xRoadInstance>UZ</id:xRoadInstance>"
            "<id:memberClass>GOV</id:memberClass><id:memberCode>a/b</id:memberCode></xrd:service>",
            "SOAP header service: memberCode must be",
        ),
    ],
)
def test_malformed_header_is_a_bad_header(xml, message):
    """A malformed header is client.bad_header naming the header."""
    with pytest.raises(BadRequestError, match=message) as caught:
        read_xroad(blocks(xml))
    assert "client.bad_header" == caught.value.code


def test_repeated_header_is_a_bad_header():
    """A header given twice is refused: which one would count?"""
    with pytest.raises(BadRequestError, match="userId is given more than once"):
        read_xroad(blocks("<xrd:userId>a</xrd:userId>", "<xrd:userId>b</xrd:userId>"))
