"""Access control over REST against a running gateway and the real RabbitMQ: identities,
grants (ids, wildcards, groups), the order of the checks, disabled feeds and services, and
rate limits (in this process and shared through Redis)."""

import orjson
import pytest
from structlog.testing import capture_logs

from tests.gateway.security.access import (
    JSON,
    PORTAL_KEY,
    REVOKED_KEY,
    STRANGER_KEY,
    access_table,
    canonical_crime_report,
)
from tests.support import keys
from tests.support.providers import PERSON
from tests.support.records import load


@pytest.fixture
async def client(start_gateway, settings, provider):
    """A client of a gateway serving the access-control table (its provider worker runs)."""
    _, http = await start_gateway(
        settings, access_table(provider), providers={provider.name: provider}
    )
    return http


async def push(client, feed, record, headers):
    """POST ``record`` to the feed; (status, error code or None, response)."""
    response = await client.post(
        f"/v1/feeds/{feed}", data=orjson.dumps(record), headers={**headers, **JSON}
    )
    body = orjson.loads(await response.read())
    return response.status, body.get("error", {}).get("code"), response


async def ask(client, service, headers):
    """Ask the service for the stub's person; (status, error code or None, response)."""
    response = await client.post(
        f"/v1/services/{service}",
        data=orjson.dumps({"pinfl": PERSON["pinfl"]}),
        headers={**headers, **JSON},
    )
    body = orjson.loads(await response.read())
    return response.status, body.get("error", {}).get("code"), response


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "client.missing_key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "client.missing_key"),
        (keys.bearer(STRANGER_KEY), "client.unknown_key"),
        (keys.bearer(REVOKED_KEY), "client.key_revoked"),
    ],
    ids=["no-key", "not-bearer", "wrong-key", "revoked-key"],
)
async def test_a_push_without_a_valid_key_is_401(client, headers, code):
    """No key, a key of no system, a revoked key: 401 with its own code and
    WWW-Authenticate."""
    status, got, response = await push(client, "crime-reports", load("mvd_crime_report"), headers)
    assert (401, code) == (status, got)
    assert "WWW-Authenticate" in response.headers


@pytest.mark.parametrize(
    ("key", "code"),
    [(STRANGER_KEY, "client.unknown_key"), (REVOKED_KEY, "client.key_revoked")],
    ids=["wrong-key", "revoked-key"],
)
async def test_a_record_request_without_a_valid_key_is_401(client, key, code):
    """A wrong or revoked key asking a service: 401 with its own code."""
    assert (401, code) == (await ask(client, "person.by-pinfl", keys.bearer(key)))[:2]


async def test_the_revoked_key_is_named_in_the_access_log_as_revoked(client):
    """The access event of a revoked key says client.key_revoked and names no client."""
    with capture_logs() as logs:
        await push(client, "crime-reports", load("mvd_crime_report"), keys.bearer(REVOKED_KEY))
    [event] = [e for e in logs if e["event"] == "access"]
    assert ("client.key_revoked", None) == (event["error_code"], event.get("client"))


async def test_a_key_of_a_system_not_allowed_to_push_is_403(client):
    """The portal's key on the Interior's feed: 403 client.access_denied."""
    status, code, _ = await push(
        client, "crime-reports", load("mvd_crime_report"), keys.bearer(PORTAL_KEY)
    )
    assert (403, "client.access_denied") == (status, code)


async def test_a_key_of_a_system_not_allowed_to_call_is_403(client):
    """The Interior's key on a service for the prosecutors' group: 403."""
    status, code, _ = await ask(client, "person.by-pinfl", keys.bearer(keys.MVD))
    assert (403, "client.access_denied") == (status, code)


async def test_a_group_grants_its_members_a_feed(client):
    """from: ["@interior"] (interior: [mvd.*]): the Interior's push is accepted."""
    status, code, _ = await push(
        client, "crime-reports", load("mvd_crime_report"), keys.bearer(keys.MVD)
    )
    assert (202, None) == (status, code)


async def test_a_group_grants_its_members_a_service(client):
    """allow: ["@prosecutors"] (prosecutors: [gp.*]): E-tergov gets the person."""
    status, code, _ = await ask(client, "person.by-pinfl", keys.bearer(keys.ETERGOV))
    assert (200, None) == (status, code)


async def test_a_wildcard_grants_a_feed_to_a_key_given_as_its_digest(client):
    """from: [portal.*], the portal's key in the table only as sha256:<digest>: accepted."""
    status, code, _ = await push(
        client, "portal-crime-reports", canonical_crime_report(), keys.bearer(PORTAL_KEY)
    )
    assert (202, None) == (status, code)


async def test_a_disabled_feed_is_503_with_retry_after(client, settings):
    """enabled: false on a feed: 503 gateway.disabled, Retry-After, for a system allowed."""
    status, code, response = await push(
        client, "case-events", {"event": "opened"}, keys.bearer(keys.ETERGOV)
    )
    assert (503, "gateway.disabled") == (status, code)
    assert str(settings.retry_after) == response.headers["Retry-After"]


async def test_a_disabled_service_is_503_with_retry_after(client, provider, settings):
    """enabled: false on a service: 503 gateway.disabled, Retry-After; the provider is not
    asked."""
    status, code, response = await ask(client, "person.disabled", keys.bearer(keys.ETERGOV))
    assert (503, "gateway.disabled") == (status, code)
    assert str(settings.retry_after) == response.headers["Retry-After"]
    assert [] == provider.calls


@pytest.mark.parametrize(
    ("feed", "key", "expected"),
    [
        ("no-such-feed", PORTAL_KEY, (404, "client.unknown_feed")),  # unknown before denied
        ("case-events", PORTAL_KEY, (403, "client.access_denied")),  # denied before disabled
        ("case-events", REVOKED_KEY, (401, "client.key_revoked")),  # the key before all
    ],
    ids=["unknown-then-denied", "denied-then-disabled", "key-first"],
)
async def test_feed_checks_come_in_a_fixed_order(client, feed, key, expected):
    """Unknown feed → not allowed → disabled, after the key: the first that fails answers."""
    status, code, _ = await push(client, feed, {"event": "opened"}, keys.bearer(key))
    assert expected == (status, code)


@pytest.mark.parametrize(
    ("service", "key", "expected"),
    [
        ("person.by-name", keys.MVD, (404, "client.unknown_service")),
        ("person.disabled", keys.MVD, (403, "client.access_denied")),
    ],
    ids=["unknown-then-denied", "denied-then-disabled"],
)
async def test_service_checks_come_in_a_fixed_order(client, service, key, expected):
    """Unknown service → not allowed → disabled: the first that fails answers."""
    assert expected == (await ask(client, service, keys.bearer(key)))[:2]


async def test_a_system_over_its_rate_limit_gets_429_with_retry_after(client):
    """sud.e-xsud may send 1 per hour (burst 1): the first push is accepted, the next is 429
    client.rate_limited with Retry-After in whole seconds, at most the hour a token takes."""
    first, _, _ = await push(
        client, "court-decisions", load("court_decision"), keys.bearer(keys.EXSUD)
    )
    status, code, response = await push(
        client, "court-decisions", load("court_decision"), keys.bearer(keys.EXSUD)
    )
    assert (202, 429, "client.rate_limited") == (first, status, code)
    assert 1 <= int(response.headers["Retry-After"]) <= 3600


async def test_a_service_over_its_rate_limit_gets_429_and_its_provider_is_not_asked(
    client, provider
):
    """person.limited takes 1 per hour from everyone together: the second request is 429 and
    only one reached the provider."""
    first = await ask(client, "person.limited", keys.bearer(keys.ETERGOV))
    status, code, response = await ask(client, "person.limited", keys.bearer(keys.ETERGOV))
    body = orjson.loads(await response.read())
    assert (200, 429, "client.rate_limited", "service") == (
        first[0],
        status,
        code,
        body["error"]["limit"],
    )
    assert "Retry-After" in response.headers
    assert [PERSON["pinfl"]] == provider.calls


async def test_refused_requests_take_no_token(client):
    """A push refused before the rate limit (403, 503) does not spend the system's token."""
    await push(client, "crime-reports", load("mvd_crime_report"), keys.bearer(keys.EXSUD))
    status, _, _ = await push(
        client, "court-decisions", load("court_decision"), keys.bearer(keys.EXSUD)
    )
    assert 202 == status


async def test_instances_share_redis_buckets(start_gateway, settings, provider):
    """With GATEWAY_RATE_LIMIT_BACKEND=redis two gateways take from one bucket: the token
    spent at the first is missing at the second (429 there)."""
    shared = settings.model_copy(update={"rate_limit_backend": "redis"})
    options = {"providers": {provider.name: provider}}
    _, first = await start_gateway(shared, access_table(provider), **options)
    _, second = await start_gateway(shared, access_table(provider), **options)
    accepted, _, _ = await push(
        first, "court-decisions", load("court_decision"), keys.bearer(keys.EXSUD)
    )
    status, code, response = await push(
        second, "court-decisions", load("court_decision"), keys.bearer(keys.EXSUD)
    )
    assert (202, 429, "client.rate_limited") == (accepted, status, code)
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
