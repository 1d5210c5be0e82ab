"""Hardened XML parsing: what a caller sends is read, never followed.

One lxml parser, built once (lxml parsers are not thread-safe; the gateway parses on its event
loop's thread only): no entity resolution, no DTD loading or validation, no network, no
``huge_tree`` (libxml2's own limits on text nodes and depth stay on), no processing
instructions, no ID collection; and a resolver that answers every external resource (a DTD, an
external entity) with nothing, so no file or URL is ever opened, whatever libxml2 tries.

Refused, each as a client error and never echoing an entity's expansion or a file's content:

    a document type declaration (any DOCTYPE: entities, billion     client.forbidden_xml
      laughs, quadratic blow-up, an external DTD), found in the
      raw bytes (UTF-8, UTF-16, UTF-32) and again after parsing
    more than MAX_DEPTH nested elements                              client.too_deep
    anything that is not well-formed XML (line and column given)    client.malformed_xml

The body's size is bounded before it gets here (``GATEWAY_MAX_BODY_BYTES``).
"""

from __future__ import annotations

import re
from typing import Any, Final

from lxml import etree

from gateway.errors import BadRequestError

MAX_DEPTH: Final = 32
"""The deepest nesting of elements a document may have (a SOAP feed needs about 7)."""

_DOCTYPE: Final = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_WIDE_ENCODINGS: Final = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
_LIBXML_WHERE: Final = re.compile(r", line [0-9]+, column [0-9]+$")


class MalformedXmlError(BadRequestError):
    """The body is not well-formed XML."""

    default_code = "client.malformed_xml"


class ForbiddenXmlError(BadRequestError):
    """The document declares a document type (DTD, entities), which is never accepted."""

    default_code = "client.forbidden_xml"


class XmlTooDeepError(BadRequestError):
    """The document nests elements deeper than MAX_DEPTH."""

    default_code = "client.too_deep"


class _NothingExternal(etree.Resolver):  # type: ignore[misc,unused-ignore]
    """Every external resource resolves to an empty document: nothing is read or fetched."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        return self.resolve_string("", context)


#: the options of every XML parser of the gateway (SOAP bodies, XML files): no entities, no
#: DTD, no network, no huge trees; a parser made with them also needs ``harden(parser)``
HARDENED_OPTIONS: Final = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_pis": True,
    "remove_comments": True,
    "collect_ids": False,
}


def harden(parser: Any) -> Any:
    """``parser`` with every external resource resolved to an empty document."""
    parser.resolvers.add(_NothingExternal())
    return parser


def _hardened_parser() -> Any:
    return harden(etree.XMLParser(**HARDENED_OPTIONS))


_PARSER: Final = _hardened_parser()

DOCTYPE_FORBIDDEN: Final = (
    "a document type declaration (<!DOCTYPE ...>) is not allowed: no DTD, no entity declarations"
)


def parse_xml(body: bytes) -> Any:
    """The root element of ``body``, once it is known to be harmless; raise the client error
    (forbidden, too deep, malformed) otherwise."""
    if not body.strip():
        raise MalformedXmlError("the body is empty; expected an XML document")
    if declares_doctype(body):
        raise ForbiddenXmlError(DOCTYPE_FORBIDDEN)
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from exc
    docinfo = root.getroottree().docinfo
    if (
        docinfo.doctype
        or docinfo.internalDTD is not None
        or docinfo.externalDTD is not None
        or docinfo.system_url
        or docinfo.public_id
    ):
        raise ForbiddenXmlError(DOCTYPE_FORBIDDEN)
    check_depth(root)
    return root


def declares_doctype(body: bytes) -> bool:
    """True when ``body`` holds ``<!DOCTYPE`` in an ASCII-compatible encoding, or in UTF-16 or
    UTF-32 (with or without a byte order mark), where the raw bytes hide it."""
    if _DOCTYPE.search(body):
        return True
    if b"\x00" not in body[:4]:  # XML starts with "<" or a BOM: a NUL there means 16/32 bits
        return False
    return any(
        "<!doctype" in body.decode(encoding, errors="ignore").lower()
        for encoding in _WIDE_ENCODINGS
    )


def check_depth(root: Any, limit: int = MAX_DEPTH) -> None:
    """Raise XmlTooDeepError when elements nest deeper than ``limit`` (the root is depth 1)."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > limit:
            raise XmlTooDeepError(f"the document nests elements deeper than {limit} levels")
        stack.extend((child, depth + 1) for child in element)


def _syntax_error(exc: Any) -> BadRequestError:
    """The client error for lxml's XMLSyntaxError, with line and column, quoting nothing but
    libxml2's description of the fault."""
    line, column = exc.position
    message = _LIBXML_WHERE.sub("", str(exc.msg or "not well-formed"))
    if message.startswith("Excessive depth"):  # libxml2's own limit (256) met first
        return XmlTooDeepError(f"the document nests elements deeper than {MAX_DEPTH} levels")
    if any(entry.domain_name == "IO" for entry in exc.error_log):  # an external resource
        return ForbiddenXmlError(DOCTYPE_FORBIDDEN)
    return MalformedXmlError(
        f"malformed XML at line {line}, column {column}: {message}",
        details={"line": line, "column": column},
    )
