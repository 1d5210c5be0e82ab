"""SOAP 1.1 and 1.2 envelopes: which version a request speaks, its header blocks and its body
element; and the envelopes of answers.

The version is told by the content type, as the two specifications bind them to HTTP:
``text/xml`` is SOAP 1.1, ``application/soap+xml`` is SOAP 1.2. An envelope in the other
version's namespace is a version mismatch. Document/literal: the Body holds exactly one element,
the operation's.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, Final

from lxml import etree

from gateway.errors import BadRequestError


@dataclass(frozen=True, slots=True)
class SoapVersion:
    """One SOAP version: its envelope namespace, content type and fault codes."""

    name: str
    namespace: str
    content_type: str
    client_fault: str  # the fault code of the caller's errors
    server_fault: str  # the fault code of ours


SOAP11: Final = SoapVersion(
    "1.1", "http://schemas.xmlsoap.org/soap/envelope/", "text/xml", "Client", "Server"
)
SOAP12: Final = SoapVersion(
    "1.2", "http://www.w3.org/2003/05/soap-envelope", "application/soap+xml", "Sender", "Receiver"
)
VERSIONS: Final = (SOAP11, SOAP12)


class MalformedSoapError(BadRequestError):
    """Well-formed XML, but not a SOAP envelope as the gateway takes it."""

    default_code = "client.malformed_soap"


class VersionMismatchError(BadRequestError):
    """The envelope's namespace is not that of the SOAP version the content type names."""

    default_code = "client.version_mismatch"


class MustUnderstandError(BadRequestError):
    """A header block marked mustUnderstand that the gateway does not understand."""

    default_code = "client.must_understand"


@dataclass(frozen=True, slots=True)
class SoapRequest:
    """A parsed request envelope: its version, header blocks and the body's one element."""

    version: SoapVersion
    headers: tuple[Any, ...]
    body: Any


def version_for(content_type: str) -> SoapVersion | None:
    """The SOAP version a content type (without parameters) stands for, or None."""
    return next((v for v in VERSIONS if v.content_type == content_type.lower()), None)


def read_envelope(
    root: Any, version: SoapVersion, *, understood: Collection[str] = ()
) -> SoapRequest:
    """Header blocks and body element of the envelope ``root``.

    ``understood`` holds the Clark names (``{namespace}local``) of the header blocks the caller
    reads; any other block marked mustUnderstand is refused, as both versions require.
    """
    tag = etree.QName(root)
    if tag.localname != "Envelope":
        raise MalformedSoapError(
            f"the document is not a SOAP envelope: its root element is <{tag.localname}>"
        )
    if tag.namespace != version.namespace:
        other = next((v for v in VERSIONS if v.namespace == tag.namespace), None)
        said = f"SOAP {other.name}" if other else f"in namespace {tag.namespace!r}"
        raise VersionMismatchError(
            f"the envelope is {said}, but Content-Type {version.content_type} "
            f"means SOAP {version.name} ({version.namespace})"
        )
    children = list(root)
    header = children.pop(0) if children and _is(children[0], version, "Header") else None
    if not children or not _is(children[0], version, "Body"):
        raise MalformedSoapError("the envelope has no Body (after an optional Header)")
    body = children.pop(0)
    if children:
        raise MalformedSoapError(
            f"the envelope holds <{etree.QName(children[0]).localname}> after its Body"
        )
    elements = list(body)
    if len(elements) != 1:
        raise MalformedSoapError(
            f"the Body must hold exactly one element, the operation's; it holds {len(elements)}"
        )
    headers = tuple(header) if header is not None else ()
    for block in headers:
        if _must_understand(block, version) and block.tag not in understood:
            raise MustUnderstandError(
                f"header block {block.tag} is marked mustUnderstand, "
                "and the gateway does not understand it"
            )
    return SoapRequest(version, headers, elements[0])


def _is(element: Any, version: SoapVersion, localname: str) -> bool:
    return bool(element.tag == f"{{{version.namespace}}}{localname}")


def _must_understand(block: Any, version: SoapVersion) -> bool:
    value = block.get(f"{{{version.namespace}}}mustUnderstand", "0").strip()
    return value in ("1", "true")


def render_envelope(
    version: SoapVersion,
    body: Any,
    headers: Sequence[Any] = (),
    nsmap: dict[str, str] | None = None,
) -> bytes:
    """The envelope of an answer: copies of ``headers`` in its Header (none: no Header), and
    ``body`` in its Body; UTF-8 with an XML declaration."""
    namespaces = {"soap": version.namespace, **(nsmap or {})}
    envelope = etree.Element(f"{{{version.namespace}}}Envelope", nsmap=namespaces)
    if headers:
        header = etree.SubElement(envelope, f"{{{version.namespace}}}Header")
        for block in headers:
            echoed = deepcopy(block)
            echoed.tail = None  # the request's indentation
            header.append(echoed)
    etree.SubElement(envelope, f"{{{version.namespace}}}Body").append(body)
    data: bytes = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return data


def content_type(version: SoapVersion) -> str:
    """The Content-Type of an answer in ``version``."""
    return f"{version.content_type}; charset=utf-8"
