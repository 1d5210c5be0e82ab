"""Hardened XML: every XML attack is refused as the caller's error, and nothing is followed."""

import pytest
from lxml import etree

from gateway.errors import BadRequestError
from gateway.soap import (
    MAX_DEPTH,
    ForbiddenXmlError,
    MalformedXmlError,
    XmlTooDeepError,
    hardened_xml,
)
from gateway.soap.hardened_xml import declares_doctype, parse_xml
from tests.gateway.soap import xml_attacks


@pytest.fixture
def secret_file(tmp_path):
    """A local file whose content must never come back in any answer."""
    path = tmp_path / "secret.txt"
    path.write_text(xml_attacks.SECRET, encoding="utf-8")
    return path


def refusal(body):
    """The error parse_xml raises for ``body``."""
    with pytest.raises(BadRequestError) as caught:
        parse_xml(body)
    return caught.value


def test_a_plain_document_parses():
    """A document without a DOCTYPE is read as it is."""
    root = parse_xml(b"<?xml version='1.0'?><a><b>text</b></a>")
    assert ("a", "text") == (root.tag, root.findtext("b"))


def test_a_document_in_a_legacy_encoding_parses():
    """A Windows-1251 document, as it declares itself, is read in its encoding."""
    body = "<?xml version='1.0' encoding='windows-1251'?><a>Тошкент</a>".encode("cp1251")
    assert "Тошкент" == parse_xml(body).text


def test_xxe_to_a_local_file_is_forbidden(secret_file):
    """An external entity naming a local file is refused, and the file's content is nowhere."""
    error = refusal(xml_attacks.xxe(secret_file.as_uri()))
    assert isinstance(error, ForbiddenXmlError)
    assert "client.forbidden_xml" == error.code
    assert xml_attacks.SECRET not in str(error) + str(error.details)


def test_xxe_to_a_url_is_forbidden():
    """An external entity naming a URL is refused."""
    assert isinstance(refusal(xml_attacks.xxe("http://127.0.0.1:9/secret")), ForbiddenXmlError)


def test_billion_laughs_is_forbidden():
    """Nested entity expansion (billion laughs) is refused before anything is expanded."""
    assert isinstance(refusal(xml_attacks.billion_laughs()), ForbiddenXmlError)


def test_quadratic_blowup_is_forbidden():
    """One large entity referenced many times (quadratic blow-up) is refused."""
    assert isinstance(refusal(xml_attacks.quadratic_blowup()), ForbiddenXmlError)


def test_external_dtd_is_forbidden():
    """A document that names an external DTD is refused."""
    assert isinstance(
        refusal(xml_attacks.external_dtd("http://127.0.0.1:9/x.dtd")), ForbiddenXmlError
    )


def test_doctype_in_utf16_is_found_in_the_raw_bytes(secret_file):
    """UTF-16 hides <!DOCTYPE from a byte search; it is found all the same."""
    body = xml_attacks.in_utf16(xml_attacks.xxe(secret_file.as_uri()))
    assert declares_doctype(body)


def test_doctype_in_utf16_without_a_bom_is_found():
    """UTF-16 without a byte order mark is found too."""
    body = xml_attacks.billion_laughs().decode().encode("utf-16-le")
    assert declares_doctype(body)


def test_doctype_in_utf16_is_forbidden(secret_file):
    """An XXE document in UTF-16 is refused, and the file's content is nowhere."""
    error = refusal(xml_attacks.in_utf16(xml_attacks.xxe(secret_file.as_uri())))
    assert isinstance(error, ForbiddenXmlError)
    assert xml_attacks.SECRET not in str(error)


def test_doctype_in_utf32_is_forbidden():
    """UTF-32 does not hide a DOCTYPE either."""
    body = xml_attacks.billion_laughs().decode().replace("?>", " encoding='utf-32'?>", 1)
    assert isinstance(refusal(body.encode("utf-32")), ForbiddenXmlError)


def test_the_parser_itself_opens_no_external_dtd(tmp_path):
    """Even past the DOCTYPE check, the parser reads no external file (defence in depth): a
    DTD that is not a DTD at all, which libxml2 would choke on if it read it, goes unnoticed."""
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f"{xml_attacks.SECRET} <!ENTITY", encoding="utf-8")
    body = f'<!DOCTYPE a SYSTEM "{dtd.as_uri()}"><a>text</a>'.encode()
    assert "text" == etree.fromstring(body, hardened_xml._PARSER).text


def test_nesting_at_the_limit_parses():
    """MAX_DEPTH levels of elements are fine."""
    assert "e" == parse_xml(xml_attacks.nested(MAX_DEPTH)).tag


def test_nesting_past_the_limit_is_too_deep():
    """One level more than MAX_DEPTH is refused as client.too_deep."""
    error = refusal(xml_attacks.nested(MAX_DEPTH + 1))
    assert ("client.too_deep", XmlTooDeepError) == (error.code, type(error))


def test_nesting_past_libxml2s_own_limit_is_too_deep():
    """Thousands of levels stop in libxml2 itself, and are reported as too deep too."""
    assert isinstance(refusal(xml_attacks.nested(5000)), XmlTooDeepError)


def test_malformed_xml_names_line_and_column():
    """A document that is not well-formed is refused with where it breaks."""
    error = refusal(b"<a>\n  <b>\n</a>")
    assert isinstance(error, MalformedXmlError)
    assert (3, 5) == (error.details["line"], error.details["column"])
    assert "line 3, column 5" in error.message


def test_empty_body_is_malformed():
    """An empty body is malformed XML."""
    assert isinstance(refusal(b"  \n"), MalformedXmlError)
