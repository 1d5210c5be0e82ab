"""SOAP Faults from the gateway's errors: one rule for the fault code, a small table of
exceptions, and the Fault element of either SOAP version.

The rule: the side of the gateway's code becomes the fault's (``client.*`` → ``Client``, ours
``gateway.*`` → ``Server``, the provider's ``provider.*`` → ``Server.Provider``), and each
snake_case part of the rest becomes CamelCase: ``client.schema_violation`` →
``Client.SchemaViolation``, ``gateway.broker_unavailable`` → ``Server.BrokerUnavailable``,
``provider.timeout`` → ``Server.Provider.Timeout``. The exceptions group the authentication
failures under ``Client.Authentication``.

SOAP 1.1: ``faultcode`` ``soap:Client.SchemaViolation``, ``faultstring``, ``detail``.
SOAP 1.2: ``Code/Value`` ``soap:Sender`` or ``soap:Receiver`` with a ``Subcode`` whose value
is the same dotted code (``eint:Client.SchemaViolation``), ``Reason/Text``, ``Detail``.
The detail is an ``eint:error`` element: ``errorId`` (the one in the access log), ``code`` (the
gateway's code) and the error's details (every problem of every record of a schema violation,
every record's receipt of a partly published batch, the line and column of malformed XML).

HTTP status: SOAP 1.1 answers every fault with 500, as its HTTP binding says; SOAP 1.2 answers
Sender faults with 400 and Receiver faults with 500.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from lxml import etree

from gateway.errors import GatewayError
from gateway.soap.envelope import SOAP11, SoapVersion

FAULT_NAMESPACE: Final = "urn:e-integratsiya:fault"
FAULT_PREFIX: Final = "eint"

_SIDES: Final = {"client": "Client", "gateway": "Server", "provider": "Server.Provider"}
_EXCEPTIONS: Final = {
    "client.missing_key": "Client.Authentication.MissingKey",
    "client.unknown_key": "Client.Authentication.UnknownKey",
    "client.key_revoked": "Client.Authentication.KeyRevoked",
    "client.unknown_certificate": "Client.Authentication.UnknownCertificate",
    "client.identity_mismatch": "Client.Authentication.IdentityMismatch",
    "client.unauthenticated": "Client.Authentication",
}
# XML 1.0 cannot carry these characters at all, not even escaped
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def fault_code(code: str) -> str:
    """The dotted SOAP fault code of a gateway error code (see the module's docstring)."""
    if code in _EXCEPTIONS:
        return _EXCEPTIONS[code]
    side, _, rest = code.partition(".")
    parts = [_SIDES.get(side, "Server")]
    parts += ["".join(word.capitalize() for word in part.split("_")) for part in rest.split(".")]
    return ".".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class SoapFault:
    """A fault ready to be rendered: its dotted code, the text, and the detail's content."""

    code: str
    message: str
    error_id: str
    gateway_code: str
    details: Mapping[str, Any]

    @property
    def is_client(self) -> bool:
        """True when the caller is at fault (SOAP 1.1 ``Client``, SOAP 1.2 ``Sender``)."""
        return self.code.startswith("Client")

    def http_status(self, version: SoapVersion) -> int:
        """500 for every SOAP 1.1 fault; 400 for a SOAP 1.2 Sender fault, else 500."""
        if version is SOAP11 or not self.is_client:
            return 500
        return 400


def fault_of(error: GatewayError, error_id: str) -> SoapFault:
    """The fault that reports ``error`` under ``error_id``."""
    return SoapFault(fault_code(error.code), error.message, error_id, error.code, error.details)


def fault_element(fault: SoapFault, version: SoapVersion) -> Any:
    """The ``Fault`` element of ``version`` (the ``eint`` prefix must be declared above it,
    see :data:`FAULT_NSMAP`)."""
    ns = version.namespace
    element = etree.Element(f"{{{ns}}}Fault")
    if version is SOAP11:
        # SOAP 1.1's fault children are unqualified
        etree.SubElement(element, "faultcode").text = f"soap:{fault.code}"
        etree.SubElement(element, "faultstring").text = xml_text(fault.message)
        etree.SubElement(element, "detail").append(_detail(fault))
        return element
    code = etree.SubElement(element, f"{{{ns}}}Code")
    side = version.client_fault if fault.is_client else version.server_fault
    etree.SubElement(code, f"{{{ns}}}Value").text = f"soap:{side}"
    subcode = etree.SubElement(code, f"{{{ns}}}Subcode")
    etree.SubElement(subcode, f"{{{ns}}}Value").text = f"{FAULT_PREFIX}:{fault.code}"
    reason = etree.SubElement(element, f"{{{ns}}}Reason")
    text = etree.SubElement(reason, f"{{{ns}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = xml_text(fault.message)
    etree.SubElement(element, f"{{{ns}}}Detail").append(_detail(fault))
    return element


FAULT_NSMAP: Final = {FAULT_PREFIX: FAULT_NAMESPACE}
"""The namespaces a fault's envelope declares (the Subcode's value is an ``eint:`` QName)."""


def _detail(fault: SoapFault) -> Any:
    error = etree.Element(f"{{{FAULT_NAMESPACE}}}error", nsmap=FAULT_NSMAP)
    _add(error, "error_id", fault.error_id)
    _add(error, "code", fault.gateway_code)
    for key, value in fault.details.items():
        _add(error, key, value)
    return error


def _add(parent: Any, key: str, value: Any) -> None:
    """``value`` under ``parent`` as ``key`` in camelCase: a list as repeated elements of the
    singular name (``records`` → ``record``), a mapping as nested elements, None as nothing."""
    if value is None:
        return
    if isinstance(value, list | tuple):
        for item in value:
            _add(parent, key[:-1] if key.endswith("s") else key, item)
        return
    child = etree.SubElement(parent, f"{{{FAULT_NAMESPACE}}}{_camel(key)}")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _add(child, str(k), v)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    else:
        child.text = xml_text(str(value))


def _camel(key: str) -> str:
    first, *rest = key.split("_")
    return first + "".join(word.capitalize() for word in rest)


def xml_text(text: str) -> str:
    """``text`` with the characters XML cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)
