"""Access control over SOAP against a running gateway and the real RabbitMQ: the same checks
as over REST, in the same order, answered as Faults (Client.Authentication.*,
Client.AccessDenied, Server.Disabled, Client.RateLimited)."""

import pytest
from lxml import etree

from gateway.soap import FAULT_NAMESPACE
from tests.gateway.security.access import (
    PORTAL_KEY,
    REVOKED_KEY,
    SOAP11,
    STRANGER_KEY,
    access_table,
    soap_person_request,
    soap_push,
    soap_push_to,
)
from tests.support import keys

SOAP_ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"


@pytest.fixture
async def client(start_gateway, settings, provider):
    """A client of a gateway serving the access-control table (its provider worker runs)."""
    _, http = await start_gateway(
        settings, access_table(provider), providers={provider.name: provider}
    )
    return http


async def post(client, name, body, headers):
    """POST a SOAP 1.1 envelope to /soap/{name}; (HTTP status, fault code or None, response)."""
    response = await client.post(f"/soap/{name}", data=body, headers={**headers, **SOAP11})
    root = etree.fromstring(await response.read())
    fault = root.find(f"{SOAP_ENV}Body/{SOAP_ENV}Fault")
    code = None if fault is None else fault.findtext("faultcode").removeprefix("soap:")
    return response.status, code, response


def gateway_code(response_body: bytes) -> str:
    """The gateway's own code in the Fault's detail."""
    return etree.fromstring(response_body).findtext(f".//{{{FAULT_NAMESPACE}}}code")


@pytest.mark.parametrize(
    ("headers", "fault"),
    [
        ({}, "Client.Authentication.MissingKey"),
        (keys.bearer(STRANGER_KEY), "Client.Authentication.UnknownKey"),
        (keys.bearer(REVOKED_KEY), "Client.Authentication.KeyRevoked"),
    ],
    ids=["no-key", "wrong-key", "revoked-key"],
)
async def test_a_push_without_a_valid_key_is_an_authentication_fault(client, headers, fault):
    """No key, a wrong key, a revoked key: a Client.Authentication.* Fault of its own, with
    WWW-Authenticate."""
    status, code, response = await post(client, "crime-reports-soap", soap_push(), headers)
    assert (500, fault) == (status, code)
    assert "WWW-Authenticate" in response.headers


async def test_a_revoked_key_asking_a_service_is_key_revoked(client):
    """A revoked key on a SOAP service: Client.Authentication.KeyRevoked."""
    _, code, response = await post(
        client, "person.by-pinfl", soap_person_request("person.by-pinfl"), keys.bearer(REVOKED_KEY)
    )
    assert ("Client.Authentication.KeyRevoked", "client.key_revoked") == (
        code,
        gateway_code(await response.read()),
    )


async def test_a_system_not_allowed_to_push_gets_access_denied(client):
    """The portal's key on the Interior's SOAP feed: Client.AccessDenied."""
    _, code, _ = await post(client, "crime-reports-soap", soap_push(), keys.bearer(PORTAL_KEY))
    assert "Client.AccessDenied" == code


async def test_a_system_not_allowed_to_call_gets_access_denied(client):
    """The Interior's key on a service for the prosecutors' group: Client.AccessDenied."""
    _, code, _ = await post(
        client, "person.by-pinfl", soap_person_request("person.by-pinfl"), keys.bearer(keys.MVD)
    )
    assert "Client.AccessDenied" == code


async def test_a_group_grants_its_members_a_soap_feed(client):
    """from: ["@interior"]: the Interior's SOAP push gets its receipt (200, no Fault)."""
    status, code, _ = await post(client, "crime-reports-soap", soap_push(), keys.bearer(keys.MVD))
    assert (200, None) == (status, code)


async def test_a_group_grants_its_members_a_soap_service(client):
    """allow: ["@prosecutors"]: E-tergov gets the person over SOAP (200, no Fault)."""
    status, code, _ = await post(
        client,
        "person.by-pinfl",
        soap_person_request("person.by-pinfl"),
        keys.bearer(keys.ETERGOV),
    )
    assert (200, None) == (status, code)


async def test_a_disabled_soap_feed_is_server_disabled_with_retry_after(client, settings):
    """enabled: false on a SOAP feed: Server.Disabled (gateway.disabled), Retry-After."""
    _, code, response = await post(
        client, "crime-reports-paused", soap_push_to("crime-reports-paused"), keys.bearer(keys.MVD)
    )
    assert ("Server.Disabled", "gateway.disabled") == (code, gateway_code(await response.read()))
    assert str(settings.retry_after) == response.headers["Retry-After"]


async def test_a_disabled_soap_service_is_server_disabled(client, provider):
    """enabled: false on a service, over SOAP: Server.Disabled; the provider is not asked."""
    _, code, _ = await post(
        client,
        "person.disabled",
        soap_person_request("person.disabled"),
        keys.bearer(keys.ETERGOV),
    )
    assert "Server.Disabled" == code
    assert [] == provider.calls


@pytest.mark.parametrize(
    ("name", "key", "fault"),
    [
        ("no-such-feed", PORTAL_KEY, "Client.UnknownFeed"),
        ("crime-reports-paused", PORTAL_KEY, "Client.AccessDenied"),
        ("person.disabled", keys.MVD, "Client.AccessDenied"),
    ],
    ids=["unknown-then-denied", "feed-denied-then-disabled", "service-denied-then-disabled"],
)
async def test_checks_come_in_the_same_order_as_over_rest(client, name, key, fault):
    """Unknown → not allowed → disabled: the first that fails is the Fault."""
    _, code, _ = await post(client, name, soap_push_to(name), keys.bearer(key))
    assert fault == code


async def test_a_soap_feed_over_its_rate_limit_is_client_rate_limited(client):
    """crime-reports-limited takes 1 per hour: the second push is Client.RateLimited
    (client.rate_limited) with Retry-After."""
    push = soap_push_to("crime-reports-limited")
    first, _, _ = await post(client, "crime-reports-limited", push, keys.bearer(keys.MVD))
    _, code, response = await post(client, "crime-reports-limited", push, keys.bearer(keys.MVD))
    assert (200, "Client.RateLimited", "client.rate_limited") == (
        first,
        code,
        gateway_code(await response.read()),
    )
    assert 1 <= int(response.headers["Retry-After"]) <= 3600


async def test_a_soap_service_over_its_rate_limit_is_client_rate_limited(client, provider):
    """person.limited takes 1 per hour: the second SOAP request is Client.RateLimited, and
    the provider was asked once."""
    request = soap_person_request("person.limited")
    first, _, _ = await post(client, "person.limited", request, keys.bearer(keys.ETERGOV))
    _, code, response = await post(client, "person.limited", request, keys.bearer(keys.ETERGOV))
    assert (200, "Client.RateLimited") == (first, code)
    assert "Retry-After" in response.headers
    assert 1 == len(provider.calls)
