"""A feed's SOAP operation, ``Push``: its WSDL, its records read from XML, its answer.

    <Push xmlns="urn:e-integratsiya:feed:<feed>">
      <record>                                   1..max_batch
        <xabar_raqami>IIV-2026-0012345</xabar_raqami>          the native field names
        <arizachi><jshshir>31205850123456</jshshir></arizachi>  nested as in JSON
        <tags>a</tags><tags>b</tags>                           repeated: a JSON array
      </record>
    </Push>
    <PushResponse>
      <correlationId>...</correlationId>
      <receipt><index>0</index><messageId>...</messageId><status>accepted</status>
               <route>etergov.crime-reports</route>...</receipt>       one per record
    </PushResponse>

A record element becomes the same dict the REST channel gets from JSON, by the adapter's
native shape: text becomes a string, an integer, a number or a boolean as the field's JSON
type says (text that does not parse stays text, for the adapter and the canonical schema to
refuse with their own words), a nested field a dict, a repeated one a list, ``xsi:nil="true"``
null. Elements the shape does not know pass through (text, or a dict of their children), so
the adapter reports them as unknown fields. Elements may be in the feed's namespace or in
none; an element of another namespace is an unknown field (named ``{namespace}name``).

What cannot be told as JSON is refused here, per record and field, as a schema violation: a
field given twice that takes one value, a value field holding elements, a nested field
holding text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from lxml import etree

from adapters.base import NativeField, NativeShape, NativeType
from gateway.errors import BadRequestError
from gateway.ingest import RecordReceipt
from gateway.soap.wsdl import SoapEndpoint, SoapOperation, XsdElement, xsd_of

OPERATION: Final = "Push"
_XSI_NIL: Final = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_INTEGER: Final = re.compile(r"[+-]?[0-9]+")
_NUMBER: Final = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_BOOLEANS: Final = {"true": True, "1": True, "false": False, "0": False}


class UnknownOperationError(BadRequestError):
    """The body's element is not an operation of the endpoint."""

    default_code = "client.unknown_operation"


class UnexpectedElementError(BadRequestError):
    """An element where the operation's schema has none of that name."""

    default_code = "client.unexpected_element"


def feed_namespace(feed: str) -> str:
    """The target namespace of a feed's WSDL and messages."""
    return f"urn:e-integratsiya:feed:{feed}"


def feed_endpoint(
    feed: str, shape: NativeShape, *, max_batch: int, address: str, description: str = ""
) -> SoapEndpoint:
    """The SOAP endpoint of a feed whose adapter reads records of ``shape``."""
    record = XsdElement(
        "record",
        children=tuple(xsd_of(field) for field in shape),
        min_occurs=1,
        max_occurs=max_batch,
        documentation="one record in the sender's native form",
    )
    receipt = XsdElement(
        "receipt",
        children=(
            XsdElement("index", "integer"),
            XsdElement("messageId"),
            XsdElement("status", documentation="accepted or duplicate"),
            XsdElement("route", min_occurs=0, max_occurs=None),
        ),
        min_occurs=0,
        max_occurs=None,
    )
    push = SoapOperation(
        OPERATION,
        XsdElement(OPERATION, children=(record,)),
        XsdElement(f"{OPERATION}Response", children=(XsdElement("correlationId"), receipt)),
        documentation="push records; answered once the broker confirmed every one",
    )
    return SoapEndpoint(feed, feed_namespace(feed), address, (push,), description)


def record_elements(operation: Any, namespace: str) -> list[Any]:
    """The ``record`` elements of a ``Push`` body element in ``namespace`` (or in none)."""
    name = etree.QName(operation)
    if name.localname != OPERATION or name.namespace not in (namespace, None):
        raise UnknownOperationError(
            f"no operation {name.text} here; this endpoint's operation is "
            f"{{{namespace}}}{OPERATION}"
        )
    records = []
    for child in operation:
        child_name = etree.QName(child)
        if child_name.localname != "record" or child_name.namespace not in (namespace, None):
            raise UnexpectedElementError(
                f"{OPERATION} holds only <record> elements, found {child_name.text}"
            )
        records.append(child)
    return records


def read_records(
    elements: Sequence[Any], shape: NativeShape, namespace: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each record element as native JSON, and ``[{index, problems: [{field, message}]}]``
    for the records that cannot be told as JSON (see the module's docstring)."""
    records, invalid = [], []
    for index, element in enumerate(elements):
        problems: list[dict[str, str]] = []
        records.append(_object(element, shape, namespace, "", problems))
        if problems:
            invalid.append({"index": index, "problems": problems})
    return records, invalid


def _object(
    element: Any, shape: NativeShape, namespace: str, path: str, problems: list[dict[str, str]]
) -> dict[str, Any]:
    fields = {field.name: field for field in shape}
    out: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for child in element:
        qname = etree.QName(child)
        name = qname.localname if qname.namespace in (namespace, None) else qname.text
        field = fields.get(name)
        where = f"{path}.{name}" if path else name
        counts[name] = counts.get(name, 0) + 1
        if field is not None and field.repeated:
            where += f"[{counts[name] - 1}]"
        value = _value(child, field, namespace, where, problems)
        if field is not None and field.repeated:
            out.setdefault(name, []).append(value)
        elif name not in out:
            out[name] = value
        elif counts[name] == 2:
            if field is not None:
                problems.append(
                    {"field": where, "message": "given more than once; takes one value"}
                )
            out[name] = [out[name], value]
        else:
            out[name].append(value)
    return out


def _value(
    element: Any,
    field: NativeField | None,
    namespace: str,
    path: str,
    problems: list[dict[str, str]],
) -> Any:
    if element.get(_XSI_NIL, "").strip() in ("true", "1"):
        return None
    text = element.text or ""
    if field is None:  # unknown: passed on for the adapter to name
        return _object(element, (), namespace, path, problems) if len(element) else text
    if field.fields is not None:
        if text.strip():
            problems.append({"field": path, "message": "holds text; expected its fields"})
        return _object(element, field.fields, namespace, path, problems)
    if len(element):
        problems.append({"field": path, "message": "holds elements; expected a value"})
        return None
    return _typed(text, field.type)


def _typed(text: str, native_type: NativeType) -> Any:
    """``text`` as the JSON type; unchanged when it does not parse as one."""
    value = text.strip()
    if native_type == "integer" and _INTEGER.fullmatch(value):
        return int(value)
    if native_type == "number" and _INTEGER.fullmatch(value):
        return int(value)
    if native_type == "number" and _NUMBER.fullmatch(value):
        return float(value)
    if native_type == "boolean" and value in _BOOLEANS:
        return _BOOLEANS[value]
    return text


def push_response(namespace: str, correlation_id: str, receipts: Sequence[RecordReceipt]) -> Any:
    """The ``PushResponse`` element: the correlation id and every record's receipt."""
    response = etree.Element(f"{{{namespace}}}{OPERATION}Response", nsmap={None: namespace})
    etree.SubElement(response, f"{{{namespace}}}correlationId").text = correlation_id
    for receipt in receipts:
        element = etree.SubElement(response, f"{{{namespace}}}receipt")
        etree.SubElement(element, f"{{{namespace}}}index").text = str(receipt.index)
        etree.SubElement(element, f"{{{namespace}}}messageId").text = receipt.message_id
        etree.SubElement(element, f"{{{namespace}}}status").text = receipt.status
        for route in receipt.routes:
            etree.SubElement(element, f"{{{namespace}}}route").text = route
    return response
