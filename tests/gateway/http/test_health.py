"""/healthz, /readyz and /metrics."""

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
    checks = {"routing": "ok", "broker": "ok", "dedup": "ok", "consumers": "ok"}
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
