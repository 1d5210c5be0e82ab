"""HTTPS with client certificates: a gateway serving TLS with a CA bundle maps a verified
certificate's subject or fingerprint to a system (certificates made with the openssl CLI)."""

import aiohttp
import orjson
import pytest
from lxml import etree
from structlog.testing import capture_logs

from gateway.security import server_ssl_context
from tests.gateway.security.access import (
    JSON,
    SOAP11,
    access_table,
    routing,
    soap_push,
)
from tests.support import keys
from tests.support.providers import PERSON
from tests.support.records import load

# the subject written in another order and case of type than the certificate's: it still matches
MVD_SUBJECT = '[{subject: "cn=crime-registry, O=Ministry of Internal Affairs, C=UZ"}]'


@pytest.fixture
def tls_settings(settings, pki):
    """Settings serving HTTPS with the test CA's server certificate, asking clients for
    theirs."""
    return settings.model_copy(
        update={
            "tls_cert": str(pki.server_cert),
            "tls_key": str(pki.server_key),
            "tls_client_ca": str(pki.ca),
        }
    )


@pytest.fixture
async def client(start_gateway, tls_settings, provider, pki):
    """A client of an HTTPS gateway: the Interior's certificate named by its subject,
    E-tergov's by its fingerprint."""
    text = routing(
        mvd_certificates=MVD_SUBJECT,
        etergov_certificates=f'[{{sha256: "{pki.fingerprint("e-tergov")}"}}]',
    )
    _, http = await start_gateway(
        tls_settings, access_table(provider, text), providers={provider.name: provider}
    )
    assert "https" == http.make_url("/").scheme
    return http


async def push(client, ssl, headers=None):
    """POST the Interior's sample report to crime-reports over ``ssl``; (status, code)."""
    response = await client.post(
        "/v1/feeds/crime-reports",
        data=orjson.dumps(load("mvd_crime_report")),
        headers={**(headers or {}), **JSON},
        ssl=ssl,
    )
    body = orjson.loads(await response.read())
    return response.status, body.get("error", {}).get("code")


async def test_a_certificate_of_an_unknown_subject_is_401(client, pki):
    """A certificate the CA issued, whose subject and fingerprint map to no system: 401
    client.unknown_certificate, even with a valid key beside it."""
    alone = await push(client, pki.client_context("stranger"))
    with_key = await push(client, pki.client_context("stranger"), keys.bearer(keys.MVD))
    assert [(401, "client.unknown_certificate")] * 2 == [alone, with_key]


async def test_a_certificate_of_an_unknown_subject_is_a_soap_authentication_fault(client, pki):
    """Over SOAP: Client.Authentication.UnknownCertificate."""
    response = await client.post(
        "/soap/crime-reports-soap",
        data=soap_push(),
        headers=SOAP11,
        ssl=pki.client_context("stranger"),
    )
    assert "soap:Client.Authentication.UnknownCertificate" in await response.text()


async def test_a_certificate_mapped_by_subject_is_its_system(client, pki):
    """The Interior's certificate without any key: the push is accepted as
    mvd.crime-registry."""
    with capture_logs() as logs:
        status = await push(client, pki.client_context("crime-registry"))
    [event] = [e for e in logs if e["event"] == "access"]
    assert ((202, None), "mvd.crime-registry") == (status, event["client"])


async def test_a_certificate_mapped_by_fingerprint_is_its_system(client, pki):
    """E-tergov's certificate (named by its SHA-256 fingerprint) gets the person over SOAP
    too: an answer, no Fault."""
    request = (
        '<?xml version="1.0"?><soap:Envelope '
        'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:s="urn:e-integratsiya:service:person.by-pinfl"><soap:Body>'
        f"<s:PersonByPinfl><s:pinfl>{PERSON['pinfl']}</s:pinfl></s:PersonByPinfl>"
        "</soap:Body></soap:Envelope>"
    )
    response = await client.post(
        "/soap/person.by-pinfl",
        data=request,
        headers=SOAP11,
        ssl=pki.client_context("e-tergov"),
    )
    assert (200, "Karimova") == (response.status, _last_name(await response.text()))


def _last_name(xml: str) -> str | None:
    found = etree.fromstring(xml.encode()).xpath("//*[local-name()='last_name']/text()")
    return str(found[0]) if found else None


async def test_a_key_and_a_certificate_of_two_systems_are_401(client, pki):
    """E-tergov's key with the Interior's certificate: 401 client.identity_mismatch."""
    status = await push(client, pki.client_context("crime-registry"), keys.bearer(keys.ETERGOV))
    assert (401, "client.identity_mismatch") == status


async def test_a_key_and_the_certificate_of_its_own_system_are_accepted(client, pki):
    """The Interior's key with the Interior's certificate: accepted."""
    status = await push(client, pki.client_context("crime-registry"), keys.bearer(keys.MVD))
    assert (202, None) == status


async def test_a_key_alone_still_works_over_https(client, pki):
    """The client certificate is optional: a key alone over HTTPS is accepted."""
    assert (202, None) == await push(client, pki.client_context(None), keys.bearer(keys.MVD))


async def test_a_certificate_of_an_untrusted_ca_is_refused_in_the_handshake(client, pki):
    """A certificate with the Interior's subject, issued by a CA not in the bundle: the TLS
    handshake fails, no request is served."""
    context = pki.client_context(None)
    context.load_cert_chain(pki.cert("forged"), pki.directory / "forged.key")
    with pytest.raises(aiohttp.ClientError):
        await push(client, context)


def test_a_key_without_a_certificate_setting_is_refused(settings, pki):
    """GATEWAY_TLS_KEY without GATEWAY_TLS_CERT: a ValueError naming the settings."""
    with pytest.raises(ValueError, match="GATEWAY_TLS_KEY is set, but GATEWAY_TLS_CERT is not"):
        server_ssl_context(settings.model_copy(update={"tls_key": str(pki.server_key)}))


def test_an_unreadable_certificate_is_named(settings, tmp_path):
    """A certificate file that cannot be loaded is named in the error."""
    missing = tmp_path / "missing.pem"
    with pytest.raises(ValueError, match=r"missing\.pem"):
        server_ssl_context(settings.model_copy(update={"tls_cert": str(missing)}))
