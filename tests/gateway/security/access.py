"""What the access-control tests share: a routing table with every kind of grant, keys in
both forms, a revoked key, rate limits, disabled feeds and services; and a test PKI."""

import hashlib
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters import ADAPTERS
from gateway.routing import RoutingTable, api_key_digest, compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.providers import PERSON, StubPersonProvider
from tests.support.records import FIXTURES, load

PORTAL_KEY = "portal-key-known-only-by-its-digest-0001"  # in the table as sha256:<digest>
REVOKED_KEY = "interior-key-revoked-last-month-0001"
STRANGER_KEY = "a-key-no-system-was-ever-given-0001"

ROUTING = """\
version: 1
systems:
  mvd.crime-registry:
    title: Interior
    api_keys: ["${{MVD_CRIME_REGISTRY_KEY}}"]
    revoked_keys: ["sha256:{revoked}"]
{mvd_certificates}
  gp.e-tergov:
    title: E-tergov
    api_keys: ["${{ETERGOV_KEY}}"]
{etergov_certificates}
  portal.crime-reports:
    title: Crime Report portal
    api_keys: ["sha256:{portal}"]
  sud.e-xsud:
    title: E-XSUD
    api_keys: ["${{EXSUD_KEY}}"]
    rate_limit: {{rate: 1/h, burst: 1}}
groups:
  interior: [mvd.*]
  prosecutors: [gp.*]
feeds:
  crime-reports: {{from: ["@interior"], adapter: mvd.crime_report, schema: crime_report/1}}
  crime-reports-soap:
    from: ["@interior"]
    channel: soap
    adapter: mvd.crime_report
    schema: crime_report/1
  portal-crime-reports:
    from: [portal.*]
    adapter: canonical.crime_report
    schema: crime_report/1
  court-decisions:
    from: [sud.e-xsud]
    adapter: canonical.court_decision
    schema: court_decision/1
  crime-reports-limited:
    from: ["@interior"]
    channel: soap
    adapter: mvd.crime_report
    schema: crime_report/1
    rate_limit: {{rate: 1/h, burst: 1}}
  case-events:
    from: [gp.e-tergov]
    adapter: canonical.case_event
    schema: case_event/1
    enabled: false
  crime-reports-paused:
    from: ["@interior"]
    channel: soap
    adapter: mvd.crime_report
    schema: crime_report/1
    enabled: false
services:
  person.by-pinfl:
    provider: {{adapter: test.person_lookup, url: "http://stub.test"}}
    allow: ["@prosecutors"]
  person.limited:
    provider: {{adapter: test.person_lookup, url: "http://stub.test"}}
    allow: [gp.*]
    rate_limit: {{rate: 1/h, burst: 1}}
  person.disabled:
    provider: {{adapter: test.person_lookup, url: "http://stub.test"}}
    allow: ["@prosecutors"]
    enabled: false
"""


def routing(mvd_certificates: str = "", etergov_certificates: str = "") -> str:
    """The access-control table; ``*_certificates``: a ``certificates:`` line of a system."""
    return ROUTING.format(
        revoked=api_key_digest(REVOKED_KEY),
        portal=api_key_digest(PORTAL_KEY),
        mvd_certificates=f"    certificates: {mvd_certificates}" if mvd_certificates else "",
        etergov_certificates=f"    certificates: {etergov_certificates}"
        if etergov_certificates
        else "",
    ).replace("\n\n", "\n")


def access_table(provider: StubPersonProvider, text: str | None = None) -> RoutingTable:
    """``text`` (default: ``routing()``) compiled with the stub provider and the test keys."""
    return compile_routing_table(
        text or routing(),
        "access.yaml",
        schemas=REGISTRY,
        adapters=ADAPTERS,
        providers={provider.name: provider},
        env=keys.ENV,
    )


def canonical_crime_report() -> dict[str, Any]:
    """The Interior ministry's sample report in canonical form (what the portal sends)."""
    canonical = ADAPTERS["mvd.crime_report"].to_canonical(load("mvd_crime_report"))
    return REGISTRY["crime_report/1"].model_validate(canonical).model_dump(mode="json")


def soap_push() -> bytes:
    """The README's SOAP 1.1 push of one crime report to crime-reports-soap."""
    return (FIXTURES / "soap" / "mvd_crime_report_push.xml").read_bytes()


def soap_push_to(feed: str) -> bytes:
    """The same push, addressed to ``feed`` (its namespace)."""
    return soap_push().replace(
        b"urn:e-integratsiya:feed:crime-reports-soap", f"urn:e-integratsiya:feed:{feed}".encode()
    )


def soap_person_request(service: str) -> bytes:
    """A SOAP 1.1 PersonByPinfl request to ``service``."""
    return (
        '<?xml version="1.0"?><soap:Envelope '
        'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:s="urn:e-integratsiya:service:{service}"><soap:Body>'
        f"<s:PersonByPinfl><s:pinfl>{PERSON['pinfl']}</s:pinfl></s:PersonByPinfl>"
        "</soap:Body></soap:Envelope>"
    ).encode()


SOAP11 = {"Content-Type": "text/xml; charset=utf-8"}
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Pki:
    """A CA, the gateway's server certificate, client certificates it issued, and one client
    certificate of a CA the gateway does not trust; all made with the openssl CLI."""

    directory: Path
    ca: Path
    server_cert: Path
    server_key: Path

    def cert(self, name: str) -> Path:
        """The PEM certificate of client ``name``."""
        return self.directory / f"{name}.pem"

    def fingerprint(self, name: str) -> str:
        """SHA-256 of client ``name``'s certificate (DER), as openssl prints it (AB:CD:...)."""
        der = ssl.PEM_cert_to_DER_cert(self.cert(name).read_text())
        digest = hashlib.sha256(der).hexdigest().upper()
        return ":".join(digest[i : i + 2] for i in range(0, 64, 2))

    def client_context(self, name: str | None) -> ssl.SSLContext:
        """A client's TLS context: it trusts the CA, and presents ``name``'s certificate."""
        context = ssl.create_default_context(cafile=str(self.ca))
        if name is not None:
            context.load_cert_chain(self.cert(name), self.directory / f"{name}.key")
        return context


CLIENTS = {  # name -> subject, in the order openssl writes it
    "crime-registry": "/C=UZ/O=Ministry of Internal Affairs/CN=crime-registry",
    "e-tergov": "/C=UZ/O=Prosecutor General's Office/CN=e-tergov",
    "stranger": "/C=UZ/O=Unknown agency/CN=stranger",
}


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/O=E-Integratsiya tests/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key


def _issue(directory: Path, ca: tuple[Path, Path], name: str, subject: str, ext: str) -> None:
    key, csr, cert = (directory / f"{name}.{s}" for s in ("key", "csr", "pem"))
    extensions = directory / f"{name}.ext"
    extensions.write_text(ext)
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", csr, "-subj", subject,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", extensions,
    )  # fmt: skip


def make_pki(directory: Path) -> Pki:
    """Generate the test PKI in ``directory``."""
    ca = _ca(directory, "ca")
    _issue(
        directory,
        ca,
        "server",
        "/CN=127.0.0.1",
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    for name, subject in CLIENTS.items():
        _issue(directory, ca, name, subject, "extendedKeyUsage=clientAuth\n")
    rogue = _ca(directory, "rogue-ca")
    _issue(directory, rogue, "forged", CLIENTS["crime-registry"], "extendedKeyUsage=clientAuth\n")
    return Pki(directory, ca[0], directory / "server.pem", directory / "server.key")
