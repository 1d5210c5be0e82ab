"""A record-request service's SOAP operation: its WSDL, its query read from XML, its answer.

    <PersonByPinfl xmlns="urn:e-integratsiya:service:person.by-pinfl">   the query's class name
      <pinfl>31205850123456</pinfl>                                        the query's fields
    </PersonByPinfl>
    <PersonByPinflResponse>
      <correlationId>...</correlationId>
      <answer>                            the canonical record, its fields in the schema's order,
        <pinfl>...</pinfl><last_name>...  nested objects nested, lists repeated, nulls left out
      </answer>
    </PersonByPinflResponse>

The query is read like a feed's record (``feed.read_records``: text typed by the field's JSON
type) and validated by the query model; the answer is written from the canonical JSON the
provider worker replied with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from adapters.base import NativeShape
from gateway.errors import SchemaViolationError
from gateway.soap.feed import UnknownOperationError, read_records
from gateway.soap.wsdl import SoapEndpoint, SoapOperation, XsdElement, xsd_of


def service_namespace(service: str) -> str:
    """The target namespace of a service's WSDL and messages."""
    return f"urn:e-integratsiya:service:{service}"


def service_endpoint(
    service: str,
    operation: str,
    query: NativeShape,
    answer: NativeShape,
    *,
    address: str,
    description: str = "",
) -> SoapEndpoint:
    """The SOAP endpoint of a service: one operation, the query in, the canonical record out."""
    ask = SoapOperation(
        operation,
        XsdElement(operation, children=tuple(xsd_of(field) for field in query)),
        XsdElement(
            f"{operation}Response",
            children=(
                XsdElement("correlationId"),
                XsdElement("answer", children=tuple(xsd_of(field) for field in answer)),
            ),
        ),
        documentation=description or f"the answer of {service}",
    )
    return SoapEndpoint(service, service_namespace(service), address, (ask,), description)


def read_query(body: Any, operation: str, shape: NativeShape, namespace: str) -> dict[str, Any]:
    """The query a body element carries, as JSON; 400 for another operation, 422 for what
    cannot be told as JSON."""
    name = etree.QName(body)
    if name.localname != operation or name.namespace not in (namespace, None):
        raise UnknownOperationError(
            f"no operation {name.localname!r} here: the operation is {operation} in {namespace}"
        )
    [query], invalid = read_records([body], shape, namespace)
    if invalid:
        raise SchemaViolationError(
            f"the {operation} request cannot be read", details={"problems": invalid[0]["problems"]}
        )
    return query


def answer_element(
    namespace: str, operation: str, correlation_id: str, answer: Mapping[str, Any]
) -> Any:
    """The ``<operation>Response`` element with the canonical record ``answer``."""
    response = etree.Element(f"{{{namespace}}}{operation}Response", nsmap={None: namespace})
    etree.SubElement(response, f"{{{namespace}}}correlationId").text = correlation_id
    _append(response, "answer", dict(answer), namespace)
    return response


def _append(parent: Any, name: str, value: Any, namespace: str) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _append(parent, name, item, namespace)
        return
    element = etree.SubElement(parent, f"{{{namespace}}}{name}")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _append(element, str(key), item, namespace)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)
