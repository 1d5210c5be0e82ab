"""Who is calling: the system behind an API key, a TLS client certificate, or both.

    no key, no certificate                  401 client.missing_key
    a key routing.yaml does not know        401 client.unknown_key
    a key a system revoked                  401 client.key_revoked
    a verified certificate of no system     401 client.unknown_certificate
    a key and a certificate of two systems  401 client.identity_mismatch

A certificate counts only once TLS verified it against ``GATEWAY_TLS_CLIENT_CA`` (the server
asks for one, optionally: callers with a key alone still get in).
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.errors import AuthenticationError
from gateway.routing import RoutingTable
from gateway.routing.spec import DistinguishedName, dn_attribute

if TYPE_CHECKING:
    from aiohttp import web

    from gateway.config import Settings


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """A client certificate TLS verified: its subject and its SHA-256 fingerprint (of the
    DER, lower-case hex)."""

    subject: DistinguishedName
    sha256: str

    @property
    def shown(self) -> str:
        """The subject as ``CN=...,O=...``, for messages."""
        return ",".join(f"{kind}={value}" for kind, value in sorted(self.subject))


def authenticate(
    headers: Mapping[str, str],
    table: RoutingTable,
    certificate: ClientCertificate | None = None,
) -> str:
    """The system id behind ``Authorization: Bearer <key>`` and/or ``certificate``; 401 when
    neither identifies a system, or when they identify two (see the module's docstring)."""
    by_certificate = None
    if certificate is not None:
        by_certificate = table.certificate_owner(certificate.subject, certificate.sha256)
        if by_certificate is None:
            raise AuthenticationError(
                f"the client certificate {certificate.shown} (SHA-256 {certificate.sha256}) "
                "identifies no system",
                code="client.unknown_certificate",
            )
    value = headers.get("Authorization")
    if not value:
        if by_certificate is not None:
            return by_certificate
        raise AuthenticationError(
            "no API key: send Authorization: Bearer <key> (or a client certificate over HTTPS)",
            code="client.missing_key",
        )
    scheme, _, key = value.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthenticationError(
            "the Authorization header must be: Bearer <key>", code="client.missing_key"
        )
    by_key = _key_owner(table, key.strip())
    if by_certificate is not None and by_certificate != by_key:
        raise AuthenticationError(
            f"the API key is of system {by_key!r}, the client certificate of system "
            f"{by_certificate!r}: send the credentials of one system",
            code="client.identity_mismatch",
        )
    return by_key


def _key_owner(table: RoutingTable, key: str) -> str:
    system = table.authenticate(key)
    if system is not None:
        return system
    revoked_by = table.revoked_by(key)
    if revoked_by is not None:
        raise AuthenticationError(
            f"this API key was revoked by system {revoked_by!r}: ask its operator for a new one",
            code="client.key_revoked",
        )
    raise AuthenticationError("unknown API key", code="client.unknown_key")


def authenticate_request(request: web.Request, table: RoutingTable) -> str:
    """``authenticate`` with the request's headers and its verified client certificate."""
    return authenticate(request.headers, table, client_certificate(request))


def client_certificate(request: web.Request) -> ClientCertificate | None:
    """The certificate the caller presented over TLS, if any (the handshake verified it)."""
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return ClientCertificate(
        _subject(ssl_object.getpeercert() or {}), hashlib.sha256(der).hexdigest()
    )


def _subject(decoded: Mapping[str, Any]) -> DistinguishedName:
    """The subject of ``ssl.getpeercert()``: ``((("commonName", "x"),), ...)``."""
    return frozenset(
        dn_attribute(str(kind), str(value))
        for rdn in decoded.get("subject", ())
        for kind, value in rdn
    )


def server_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context HTTPS is served with (None: plain HTTP): ``GATEWAY_TLS_CERT`` and
    ``GATEWAY_TLS_KEY``; with ``GATEWAY_TLS_CLIENT_CA`` a client certificate is asked for
    (optional) and verified against that bundle. ValueError names a setting that is wrong."""
    if not settings.tls_cert:
        for name in ("tls_key", "tls_client_ca"):
            if getattr(settings, name):
                raise ValueError(f"GATEWAY_{name.upper()} is set, but GATEWAY_TLS_CERT is not")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key or None)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"GATEWAY_TLS_CERT / GATEWAY_TLS_KEY: cannot load {settings.tls_cert}: {exc}"
        ) from exc
    if settings.tls_client_ca:
        try:
            context.load_verify_locations(cafile=settings.tls_client_ca)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"GATEWAY_TLS_CLIENT_CA: cannot load {settings.tls_client_ca}: {exc}"
            ) from exc
        context.verify_mode = ssl.CERT_OPTIONAL
    return context
