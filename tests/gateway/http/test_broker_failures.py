"""When RabbitMQ is away or refuses a message, the caller is told: 503, never a false 202."""

from urllib.parse import urlparse

import pytest
from structlog.testing import capture_logs

from tests.support import keys
from tests.support.amqp import take, until
from tests.support.proxy import CuttableProxy
from tests.support.records import load


@pytest.fixture
async def proxy(amqp_url):
    """A cuttable TCP path to the real RabbitMQ."""
    parsed = urlparse(amqp_url)
    proxy = CuttableProxy(parsed.hostname or "127.0.0.1", parsed.port or 5672)
    await proxy.start()
    yield proxy
    await proxy.cut()


@pytest.fixture
async def gateway_via_proxy(start_gateway, settings, proxy, amqp_url):
    """A gateway whose broker connection runs through the proxy."""
    port = urlparse(amqp_url).port or 5672
    url = amqp_url.replace(f":{port}", f":{proxy.port}", 1)
    return await start_gateway(settings.model_copy(update={"amqp_url": url}))


async def test_broker_outage_answers_503_with_retry_after(gateway_via_proxy, proxy):
    """With the broker connection cut, a push gets 503 gateway.broker_unavailable."""
    _, client = gateway_via_proxy
    await proxy.cut()
    response = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    error = (await response.json())["error"]
    assert 503 == response.status
    assert "3" == response.headers["Retry-After"]
    assert error["code"] in {"gateway.broker_unavailable", "gateway.publish_failed"}


async def test_readyz_fails_while_the_broker_is_away(gateway_via_proxy, proxy):
    """/readyz is 503 naming the broker while the connection is cut."""
    gateway, client = gateway_via_proxy
    assert 200 == (await client.get("/readyz")).status
    await proxy.cut()
    await until(lambda: not gateway.broker.ready)
    response = await client.get("/readyz")
    body = await response.json()
    assert 503 == response.status
    assert "ok" != body["checks"]["broker"]


async def test_gateway_recovers_when_the_broker_returns(gateway_via_proxy, proxy, amqp_channel):
    """After the outage the robust connection comes back by itself and pushes succeed."""
    gateway, client = gateway_via_proxy
    await proxy.cut()
    await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    await proxy.start()
    await gateway.broker.wait_ready(30)
    response = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    receipt = await response.json()
    assert 202 == response.status
    [message] = await take(
        amqp_channel, gateway.broker.topology.queue_of("etergov.crime-reports"), 1
    )
    assert receipt["message_id"] == message.message_id


async def test_gateway_starts_without_a_broker_and_is_not_ready(start_gateway, settings):
    """A gateway whose broker is unreachable serves, says not ready, and answers 503."""
    _, client = await start_gateway(
        settings.model_copy(update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/"}),
        wait_ready=False,
    )
    ready = await client.get("/readyz")
    push = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    assert (503, 503) == (ready.status, push.status)
    assert (await ready.json())["checks"]["broker"].startswith("cannot connect to RabbitMQ")


async def test_unroutable_message_is_503_naming_the_destination(gateway_client, amqp_channel):
    """If a destination's queue vanished, the mandatory publish comes back: 503, not 202."""
    gateway, client = gateway_client
    await amqp_channel.queue_delete(gateway.broker.topology.queue_of("etergov.crime-reports"))
    response = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    error = (await response.json())["error"]
    assert 503 == response.status
    assert "gateway.publish_failed" == error["code"]
    assert "etergov.crime-reports" in error["records"][0]["error"]


async def test_partly_published_batch_names_the_records_accepted(gateway_client, amqp_channel):
    """A batch of which only some records were confirmed: 503 saying exactly which."""
    gateway, client = gateway_client
    supervision = gateway.broker.topology.queue_of("raqamli-prokuror.supervision")
    await amqp_channel.queue_delete(supervision)
    response = await client.post(
        "/v1/feeds/crime-reports",
        json=load("mvd_crime_reports_batch"),  # record 1 is especially grave: supervision too
        headers=keys.bearer(keys.MVD),
    )
    error = (await response.json())["error"]
    assert 503 == response.status
    assert ["accepted", "failed"] == [r["status"] for r in error["records"]]
    assert "1 of 2 record(s) accepted" in error["message"]
    etergov = await take(amqp_channel, gateway.broker.topology.queue_of("etergov.crime-reports"), 2)
    assert [r["message_id"] for r in error["records"]] == [m.message_id for m in etergov]


async def test_partly_published_batch_is_partial_in_the_access_log(gateway_client, amqp_channel):
    """The access event of a batch of which some records were published says partial."""
    gateway, client = gateway_client
    await amqp_channel.queue_delete(
        gateway.broker.topology.queue_of("raqamli-prokuror.supervision")
    )
    with capture_logs() as logs:
        response = await client.post(
            "/v1/feeds/crime-reports",
            json=load("mvd_crime_reports_batch"),
            headers=keys.bearer(keys.MVD),
        )
    [event] = [e for e in logs if e["event"] == "access"]
    assert (503, "partial") == (response.status, event["outcome"])
