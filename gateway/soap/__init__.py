"""SOAP and XML, independent of the HTTP server: hardened parsing (``hardened_xml``), SOAP 1.1
and 1.2 envelopes (``envelope``), faults (``faults``), X-Road headers (``xroad``), WSDL
generation (``wsdl``) and a feed's ``Push`` operation (``feed``)."""

from gateway.soap.envelope import (
    SOAP11,
    SOAP12,
    MalformedSoapError,
    MustUnderstandError,
    SoapRequest,
    SoapVersion,
    VersionMismatchError,
    content_type,
    read_envelope,
    render_envelope,
    version_for,
)
from gateway.soap.faults import (
    FAULT_NAMESPACE,
    FAULT_NSMAP,
    SoapFault,
    fault_code,
    fault_element,
    fault_of,
)
from gateway.soap.feed import (
    UnexpectedElementError,
    UnknownOperationError,
    feed_endpoint,
    feed_namespace,
    push_response,
    read_records,
    record_elements,
)
from gateway.soap.hardened_xml import (
    MAX_DEPTH,
    ForbiddenXmlError,
    MalformedXmlError,
    XmlTooDeepError,
    parse_xml,
)
from gateway.soap.wsdl import SoapEndpoint, SoapOperation, XsdElement, render_wsdl
from gateway.soap.xroad import XRoadHeaders, read_xroad

__all__ = [
    "FAULT_NAMESPACE",
    "FAULT_NSMAP",
    "MAX_DEPTH",
    "SOAP11",
    "SOAP12",
    "ForbiddenXmlError",
    "MalformedSoapError",
    "MalformedXmlError",
    "MustUnderstandError",
    "SoapEndpoint",
    "SoapFault",
    "SoapOperation",
    "SoapRequest",
    "SoapVersion",
    "UnexpectedElementError",
    "UnknownOperationError",
    "VersionMismatchError",
    "XRoadHeaders",
    "XmlTooDeepError",
    "XsdElement",
    "content_type",
    "fault_code",
    "fault_element",
    "fault_of",
    "feed_endpoint",
    "feed_namespace",
    "parse_xml",
    "push_response",
    "read_envelope",
    "read_records",
    "read_xroad",
    "record_elements",
    "render_envelope",
    "render_wsdl",
    "version_for",
]
