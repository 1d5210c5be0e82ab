"""X-Road-style SOAP headers: read what a caller sends, describe them in a WSDL, echo them.

    <xrd:client id:objectType="SUBSYSTEM">        who calls, in X-Road's terms (logged)
      <id:xRoadInstance>UZ</id:xRoadInstance> <id:memberClass>GOV</id:memberClass>
      <id:memberCode>1234567</id:memberCode> <id:subsystemCode>crime-registry</id:subsystemCode>
    </xrd:client>
    <xrd:service>...<id:serviceCode>Push</id:serviceCode></xrd:service>   what is called (logged)
    <xrd:id>...</xrd:id>                          the caller's message id (one record only)
    <xrd:userId>...</xrd:userId>                  the person behind the request
    <xrd:issue>...</xrd:issue>                    the case number
    <xrd:protocolVersion>4.0</xrd:protocolVersion>   (logged)

Every value is checked for shape, as the REST channel checks its X-* headers: 1-128 letters,
digits and ``._:/-`` starting with a letter or digit (identifier parts: no ``/`` or ``:``).
The blocks are echoed in the answer's Header as they came. They are the caller's claims: who
calls is decided by its API key, never by ``client``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from lxml import etree

from gateway.errors import BadRequestError

XROAD_NAMESPACE: Final = "http://x-road.eu/xsd/xroad.xsd"
IDENTIFIERS_NAMESPACE: Final = "http://x-road.eu/xsd/identifiers"
HEADERS: Final = ("client", "service", "id", "userId", "issue", "protocolVersion")
"""The header elements the gateway reads, in the X-Road namespace."""
UNDERSTOOD: Final = frozenset(f"{{{XROAD_NAMESPACE}}}{name}" for name in HEADERS)
"""Their Clark names: the blocks a caller may mark mustUnderstand."""

VALUE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
"""The shape of a header value: the same as the REST channel's X-* headers."""
_PART: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_OBJECT_TYPE: Final = re.compile(r"^[A-Z][A-Z_]{0,31}$")
_CLIENT_PARTS: Final = ("xRoadInstance", "memberClass", "memberCode", "subsystemCode")
_SERVICE_PARTS: Final = (*_CLIENT_PARTS, "serviceCode", "serviceVersion")


@dataclass(frozen=True, slots=True)
class XRoadHeaders:
    """What the X-Road headers of a request said; ``blocks`` are echoed in the answer."""

    client: str | None = None  # "SUBSYSTEM:UZ/GOV/1234567/crime-registry"
    service: str | None = None  # "SERVICE:UZ/GOV/7654321/e-integratsiya/Push/v1"
    message_id: str | None = None
    user_id: str | None = None
    issue: str | None = None
    protocol_version: str | None = None
    blocks: tuple[Any, ...] = ()


def read_xroad(blocks: Sequence[Any]) -> XRoadHeaders:
    """The X-Road headers among a request's header blocks (others are left alone); raise
    ``client.bad_header`` naming the header when one is malformed or repeated."""
    found: dict[str, Any] = {}
    echoed = []
    for block in blocks:
        name = etree.QName(block)
        if name.namespace != XROAD_NAMESPACE:
            continue
        echoed.append(block)
        if name.localname not in HEADERS:
            continue  # another X-Road header (requestHash, ...): echoed, not read
        if name.localname in found:
            raise _bad(f"SOAP header {name.localname} is given more than once")
        found[name.localname] = block
    values: dict[str, str | None] = {}
    for name in ("id", "userId", "issue", "protocolVersion"):
        values[name] = _value(found[name], name) if name in found else None
    return XRoadHeaders(
        client=_identifier(found["client"], "client") if "client" in found else None,
        service=_identifier(found["service"], "service") if "service" in found else None,
        message_id=values["id"],
        user_id=values["userId"],
        issue=values["issue"],
        protocol_version=values["protocolVersion"],
        blocks=tuple(echoed),
    )


def _value(block: Any, name: str) -> str:
    if len(block):
        raise _bad(f"SOAP header {name} must hold text, not elements")
    value = (block.text or "").strip()
    if not VALUE.fullmatch(value):
        raise _bad(
            f"SOAP header {name} must be 1-128 characters of letters, digits and ._:/- "
            "starting with a letter or digit"
        )
    return value


def _identifier(block: Any, name: str) -> str:
    """``OBJECTTYPE:part/part/...`` of an X-Road client or service identifier."""
    allowed = _CLIENT_PARTS if name == "client" else _SERVICE_PARTS
    parts: dict[str, str] = {}
    for child in block:
        part = etree.QName(child).localname
        if part not in allowed or part in parts:
            raise _bad(f"SOAP header {name} may hold {', '.join(allowed)} once each; found {part}")
        if len(child) or not _PART.fullmatch((child.text or "").strip()):
            raise _bad(
                f"SOAP header {name}: {part} must be 1-128 letters, digits and ._- "
                "starting with a letter or digit"
            )
        parts[part] = (child.text or "").strip()
    required = [*_CLIENT_PARTS[:3], *(["serviceCode"] if name == "service" else [])]
    missing = [part for part in required if part not in parts]
    if missing:
        raise _bad(f"SOAP header {name} lacks {', '.join(missing)}")
    text = "/".join(parts[part] for part in allowed if part in parts)
    object_type = block.get(f"{{{IDENTIFIERS_NAMESPACE}}}objectType")
    if object_type is None:
        return text
    if not _OBJECT_TYPE.fullmatch(object_type):
        raise _bad(f"SOAP header {name}: objectType must be upper-case letters, like SUBSYSTEM")
    return f"{object_type}:{text}"


def _bad(message: str) -> BadRequestError:
    return BadRequestError(message, code="client.bad_header")


def header_schemas() -> list[Any]:
    """The ``xsd:schema`` elements that declare the headers, for a WSDL's types."""
    xsd = "http://www.w3.org/2001/XMLSchema"
    ids = etree.Element(
        f"{{{xsd}}}schema",
        nsmap={"xsd": xsd, "id": IDENTIFIERS_NAMESPACE},
        targetNamespace=IDENTIFIERS_NAMESPACE,
        elementFormDefault="qualified",
    )
    etree.SubElement(ids, f"{{{xsd}}}attribute", name="objectType", type="xsd:string")
    for type_name, parts in (
        ("XRoadClientIdentifierType", _CLIENT_PARTS),
        ("XRoadServiceIdentifierType", _SERVICE_PARTS),
    ):
        complex_type = etree.SubElement(ids, f"{{{xsd}}}complexType", name=type_name)
        sequence = etree.SubElement(complex_type, f"{{{xsd}}}sequence")
        for part in parts:
            optional = part in ("subsystemCode", "serviceVersion")
            element = etree.SubElement(sequence, f"{{{xsd}}}element", name=part, type="xsd:string")
            if optional:
                element.set("minOccurs", "0")
        etree.SubElement(complex_type, f"{{{xsd}}}attribute", ref="id:objectType", use="optional")
    xroad = etree.Element(
        f"{{{xsd}}}schema",
        nsmap={"xsd": xsd, "id": IDENTIFIERS_NAMESPACE, "xrd": XROAD_NAMESPACE},
        targetNamespace=XROAD_NAMESPACE,
        elementFormDefault="qualified",
    )
    etree.SubElement(xroad, f"{{{xsd}}}import", namespace=IDENTIFIERS_NAMESPACE)
    types = {"client": "id:XRoadClientIdentifierType", "service": "id:XRoadServiceIdentifierType"}
    for name in HEADERS:
        etree.SubElement(xroad, f"{{{xsd}}}element", name=name, type=types.get(name, "xsd:string"))
    return [ids, xroad]
