"""/healthz, /readyz and /metrics."""

import aio_pika

from tests.support import keys
from tests.support.records import load


async def test_healthz_says_alive(gateway_client):
    """/healthz answers 200 while the process serves."""
    _, client = gateway_client
    response = await client.get("/healthz")
    assert (200, {"status": "alive"}) == (response.status, await response.json())


async def test_readyz_is_ready_with_broker_and_routing(gateway_client):
    """/readyz is 200 with every check ok once the broker is connected, the store answers
    and every consumer (provider workers, record request replies) runs."""
    _, client = gateway_client
    response = await client.get("/readyz")
    checks = {"routing": "ok", "broker": "ok", "dedup": "ok", "audit": "ok", "consumers": "ok"}
    assert 200 == response.status
    assert {"status": "ready", "checks": checks} == await response.json()


async def test_metrics_count_requests_by_feed_and_status(gateway_client):
    """/metrics exposes request counts per feed and status, publish latency, broker state."""
    _, client = gateway_client
    await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    text = await (await client.get("/metrics")).text()
    assert 'gateway_requests_total{feed="crime-reports",kind="feed",status="202"} 1.0' in text
    assert 'gateway_records_total{feed="crime-reports",outcome="accepted"} 1.0' in text
    assert "gateway_publish_seconds_count 2.0" in text
    assert "gateway_broker_connected 1.0" in text


async def test_metrics_count_errors_by_code(gateway_client):
    """Every error answer is counted under its error code, beside its feed."""
    _, client = gateway_client
    record = load("mvd_crime_report")
    record["hodisa_sanasi"] = "19.11.2099"  # an offence date in the future
    response = await client.post(
        "/v1/feeds/crime-reports", json=record, headers=keys.bearer(keys.MVD)
    )
    await client.post("/v1/feeds/crime-reports", json=record, headers=keys.bearer("x" * 24))
    text = await (await client.get("/metrics")).text()
    assert 422 == response.status
    assert (
        'gateway_errors_total{code="client.schema_violation",feed="crime-reports",kind="feed"} 1.0'
        in text
    )
    assert 'code="client.unknown_key"' in text


async def test_metrics_show_queue_depths_of_work_and_dead_letter_queues(
    gateway_client, amqp_channel
):
    """/metrics reads from the broker how many messages wait in each destination's work queue
    and dead-letter queue."""
    gateway, client = gateway_client
    response = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    dlq = gateway.broker.topology.dead_letter_queue_of("raqamli-prokuror.supervision")
    for n in range(3):
        await amqp_channel.default_exchange.publish(
            aio_pika.Message(b"{}", message_id=f"m{n}"), dlq
        )
    text = await (await client.get("/metrics")).text()
    assert 202 == response.status
    assert 'gateway_queue_messages{destination="etergov.crime-reports",queue="work"} 1.0' in text
    assert (
        'gateway_queue_messages{destination="raqamli-prokuror.supervision",queue="dead_letter"} 3.0'
        in text
    )
    assert 'gateway_queue_messages{destination="unrouted",queue="work"} 0.0' in text
