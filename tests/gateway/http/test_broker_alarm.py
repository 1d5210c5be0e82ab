"""While RabbitMQ blocks publishers (a memory alarm), pushes get 503 and /readyz fails."""

from adapters.outbound import deliverer_for
from tests.support import keys
from tests.support.amqp import take, until
from tests.support.rabbitmqctl import check_local, memory_alarm
from tests.support.records import load


async def push(client, number):
    """Push a crime report numbered ``number``; (status, headers, body)."""
    record = load("mvd_crime_report")
    record["xabar_raqami"] = number
    response = await client.post(
        "/v1/feeds/crime-reports", json=record, headers=keys.bearer(keys.MVD)
    )
    return response.status, response.headers, await response.json()


async def test_blocked_publishers_get_503_and_readyz_fails_until_the_alarm_clears(
    amqp_url, gateway_client, amqp_channel
):
    """Under a memory alarm: 503 with Retry-After (never 202) and /readyz naming the alarm;
    once it clears, pushes are accepted again and arrive."""
    check_local(amqp_url)
    gateway, client = gateway_client
    async with memory_alarm():
        first, _, _ = await push(client, "IIV-2026-ALRM0001")
        await until(lambda: gateway.broker.blocked, timeout=30)
        second, headers, body = await push(client, "IIV-2026-ALRM0002")
        ready = await client.get("/readyz")
        readiness = await ready.json()
    await until(lambda: not gateway.broker.blocked, timeout=30)
    third, _, receipt = await push(client, "IIV-2026-ALRM0003")
    assert (503, 503, "3") == (first, second, headers["Retry-After"])
    assert "gateway.broker_unavailable" == body["error"]["code"]
    assert "blocking publishers" in body["error"]["message"]
    assert 503 == ready.status
    assert "blocking publishers" in readiness["checks"]["broker"]
    assert 202 == third
    queue = gateway.broker.topology.queue_of("etergov.crime-reports")
    arrived = [m.message_id for m in await take(amqp_channel, queue, 1, timeout=30)]
    while receipt["message_id"] not in arrived:  # the first push may have landed after all
        arrived += [m.message_id for m in await take(amqp_channel, queue, 1, timeout=30)]


async def test_gateway_started_under_an_alarm_serves_and_starts_its_workers(
    amqp_url, start_gateway, settings, delivery_table
):
    """A gateway whose delivery worker starts while RabbitMQ blocks publishers keeps serving
    (its loop is not held) and its worker consumes; it is ready once the alarm clears."""
    check_local(amqp_url)
    async with memory_alarm():
        gateway, client = await start_gateway(
            settings, delivery_table, deliverers=deliverer_for, wait_ready=False
        )
        await gateway.wait_workers(30)
        alive = await client.get("/healthz")
        consumers = (await gateway.readiness())["consumers"]
    await until(lambda: gateway.broker.ready, timeout=30)
    assert (200, None) == (alive.status, consumers)
