"""WSDL 1.1 for the gateway's SOAP endpoints: document/literal, SOAP 1.1 and 1.2.

Generic: an endpoint is a name, a target namespace, an address and its operations, and an
operation is a name with the definition of its input and output elements. A feed has one
operation (``Push``, see ``feed.py``); request-reply services will bring theirs. Every
operation may carry the X-Road headers, in requests and answers alike.

    definitions (targetNamespace = the endpoint's)
      types       the X-Road headers' schemas; the endpoint's schema: one global element per
                  operation input and output, anonymous complex types within
      message     <Op>Input (part body = the input element), <Op>Output, XRoadHeaders (a part
                  per header)
      portType    PortType: every operation
      binding     Soap11Binding, Soap12Binding: document style, literal bodies, the headers
      service     the endpoint's name: ports Soap11 and Soap12 at the same address
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from lxml import etree

from adapters.base import NativeField, NativeType
from gateway.soap import xroad

XSD: Final = "http://www.w3.org/2001/XMLSchema"
WSDL: Final = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11: Final = "http://schemas.xmlsoap.org/wsdl/soap/"
WSDL_SOAP12: Final = "http://schemas.xmlsoap.org/wsdl/soap12/"
HTTP_TRANSPORT: Final = "http://schemas.xmlsoap.org/soap/http"

XsdType = Literal["string", "integer", "decimal", "boolean"]
"""The XML Schema built-in types leaves may have."""


@dataclass(frozen=True, slots=True)
class XsdElement:
    """An element: a leaf of a built-in type, or a sequence of ``children`` when given."""

    name: str
    type: XsdType = "string"
    children: tuple[XsdElement, ...] | None = None
    min_occurs: int = 1
    max_occurs: int | None = 1  # None: unbounded
    documentation: str = ""


@dataclass(frozen=True, slots=True)
class SoapOperation:
    """One operation: its name and the elements of its request and answer bodies."""

    name: str
    input: XsdElement
    output: XsdElement
    documentation: str = ""


@dataclass(frozen=True, slots=True)
class SoapEndpoint:
    """What a WSDL describes: an endpoint, where it answers, and what it can do."""

    name: str
    namespace: str
    address: str
    operations: tuple[SoapOperation, ...]
    documentation: str = ""


_XSD_TYPES: Final[dict[NativeType, XsdType]] = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
}


def xsd_of(field: NativeField) -> XsdElement:
    """The element of a native (or canonical) field: required ones at least once, repeated ones
    unbounded, nested ones with their children."""
    min_occurs = 1 if field.required else 0
    max_occurs = None if field.repeated else 1
    if field.fields is not None:
        children = tuple(xsd_of(f) for f in field.fields)
        return XsdElement(
            field.name, children=children, min_occurs=min_occurs, max_occurs=max_occurs
        )
    return XsdElement(
        field.name, _XSD_TYPES[field.type], min_occurs=min_occurs, max_occurs=max_occurs
    )


def render_wsdl(endpoint: SoapEndpoint) -> bytes:
    """The WSDL document of ``endpoint``, UTF-8."""
    nsmap = {
        "wsdl": WSDL,
        "xsd": XSD,
        "soap": WSDL_SOAP11,
        "soap12": WSDL_SOAP12,
        "xrd": xroad.XROAD_NAMESPACE,
        "tns": endpoint.namespace,
    }
    root = etree.Element(
        _w("definitions"), nsmap=nsmap, name=endpoint.name, targetNamespace=endpoint.namespace
    )
    _document(root, endpoint.documentation)
    types = etree.SubElement(root, _w("types"))
    types.extend(xroad.header_schemas())
    schema = etree.SubElement(
        types, _x("schema"), targetNamespace=endpoint.namespace, elementFormDefault="qualified"
    )
    for operation in endpoint.operations:
        for element in (operation.input, operation.output):
            _element(schema, element, top=True)

    headers = etree.SubElement(root, _w("message"), name="XRoadHeaders")
    for header in xroad.HEADERS:
        etree.SubElement(headers, _w("part"), name=header, element=f"xrd:{header}")
    for operation in endpoint.operations:
        for kind, element in (("Input", operation.input), ("Output", operation.output)):
            message = etree.SubElement(root, _w("message"), name=f"{operation.name}{kind}")
            etree.SubElement(message, _w("part"), name="body", element=f"tns:{element.name}")

    port_type = etree.SubElement(root, _w("portType"), name="PortType")
    for operation in endpoint.operations:
        op = etree.SubElement(port_type, _w("operation"), name=operation.name)
        _document(op, operation.documentation)
        etree.SubElement(op, _w("input"), message=f"tns:{operation.name}Input")
        etree.SubElement(op, _w("output"), message=f"tns:{operation.name}Output")

    for binding_ns, binding_name in (
        (WSDL_SOAP11, "Soap11Binding"),
        (WSDL_SOAP12, "Soap12Binding"),
    ):
        _binding(root, endpoint, binding_ns, binding_name)

    service = etree.SubElement(root, _w("service"), name=endpoint.name)
    for binding_ns, port in ((WSDL_SOAP11, "Soap11"), (WSDL_SOAP12, "Soap12")):
        element = etree.SubElement(service, _w("port"), name=port, binding=f"tns:{port}Binding")
        etree.SubElement(element, f"{{{binding_ns}}}address", location=endpoint.address)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return data


def _binding(root: Any, endpoint: SoapEndpoint, ns: str, name: str) -> None:
    binding = etree.SubElement(root, _w("binding"), name=name, type="tns:PortType")
    etree.SubElement(binding, f"{{{ns}}}binding", style="document", transport=HTTP_TRANSPORT)
    for operation in endpoint.operations:
        op = etree.SubElement(binding, _w("operation"), name=operation.name)
        soap_operation = etree.SubElement(op, f"{{{ns}}}operation", soapAction="", style="document")
        if ns == WSDL_SOAP12:
            soap_operation.set("soapActionRequired", "false")
        for direction in ("input", "output"):
            message = etree.SubElement(op, _w(direction))
            etree.SubElement(message, f"{{{ns}}}body", use="literal", parts="body")
            for header in xroad.HEADERS:
                etree.SubElement(
                    message,
                    f"{{{ns}}}header",
                    message="tns:XRoadHeaders",
                    part=header,
                    use="literal",
                )


def _element(parent: Any, element: XsdElement, *, top: bool = False) -> None:
    node = etree.SubElement(parent, _x("element"), name=element.name)
    if element.children is None:
        node.set("type", f"xsd:{element.type}")
    if not top and element.min_occurs != 1:
        node.set("minOccurs", str(element.min_occurs))
    if not top and element.max_occurs != 1:
        maximum = element.max_occurs
        node.set("maxOccurs", "unbounded" if maximum is None else str(maximum))
    if element.documentation:
        annotation = etree.SubElement(node, _x("annotation"))
        etree.SubElement(annotation, _x("documentation")).text = element.documentation
    if element.children is not None:
        sequence = etree.SubElement(etree.SubElement(node, _x("complexType")), _x("sequence"))
        for child in element.children:
            _element(sequence, child)


def _document(parent: Any, text: str) -> None:
    if text:
        etree.SubElement(parent, _w("documentation")).text = text


def _w(name: str) -> str:
    return f"{{{WSDL}}}{name}"


def _x(name: str) -> str:
    return f"{{{XSD}}}{name}"
