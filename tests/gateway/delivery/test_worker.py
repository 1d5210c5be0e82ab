"""Delivery workers: exactly one delivery, a retry ladder, dead letters with the original."""

import aio_pika
import orjson
from structlog.testing import capture_logs

from adapters import ADAPTERS
from adapters.outbound import deliverer_for
from gateway.delivery import headers as h
from gateway.routing import compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.amqp import depth, take, until
from tests.support.delivery import delivery_routing
from tests.support.metrics import sample
from tests.support.records import load


def duplicates(gateway):
    """How many redelivered messages the gateway's worker recognised as already delivered."""
    return sample(
        gateway, "gateway_deliveries_total", destination="receiver.inbox", outcome="duplicate"
    )


async def push(client, record=None, **headers):
    """Push one crime report (the fixture's, unless given); return the receipt."""
    response = await client.post(
        "/v1/feeds/crime-reports",
        json=record or load("mvd_crime_report"),
        headers={**keys.bearer(keys.MVD), **headers},
    )
    assert 202 == response.status, await response.text()
    return await response.json()


async def test_accepted_record_is_delivered_once_with_its_envelope(delivering_gateway, receiver):
    """The receiver gets the canonical JSON once, with message id and idempotency key."""
    _gateway, client = delivering_gateway
    receipt = await push(client, **{"X-Correlation-Id": "corr-9"})
    await receiver.wait_for(1)
    [got] = receiver.received
    assert "IIV-2026-0012345" == orjson.loads(got.body)["report_number"]
    assert (receipt["message_id"], receipt["message_id"]) == (
        got.headers["Idempotency-Key"],
        got.headers["X-Message-Id"],
    )
    assert ("corr-9", "crime_report/1", "1") == (
        got.headers["X-Correlation-Id"],
        got.headers["X-Schema"],
        got.headers["X-Attempt"],
    )


async def test_transient_failures_walk_the_ladder_then_succeed(delivering_gateway, receiver):
    """503s on two attempts (each tried twice in-process), then 200 on the third attempt."""
    _, client = delivering_gateway
    receiver.answer(503, 503, 500, 500)
    await push(client)
    await receiver.wait_for(1)
    assert [503, 503, 500, 500, 200] == [r.status for r in receiver.received]
    assert ["1", "1", "2", "2", "3"] == [r.headers["X-Attempt"] for r in receiver.received]


async def test_exhausted_ladder_dead_letters_the_original_with_reasons(
    delivering_gateway, receiver, amqp_channel
):
    """After the last step the message lands in the DLQ, body byte for byte, with headers."""
    gateway, client = delivering_gateway
    receiver.answer(*[500] * 6)
    receipt = await push(client)
    dlq = gateway.broker.topology.dead_letter_queue_of("receiver.inbox")
    [dead] = await take(amqp_channel, dlq, 1)
    assert receiver.received[0].body == dead.body
    assert receipt["message_id"] == dead.message_id
    assert {
        h.REASON: "retries_exhausted",
        h.ATTEMPTS: 3,
        h.DESTINATION: "receiver.inbox",
        "client": "mvd.crime-registry",
        "schema": "crime_report/1",
    }.items() <= dead.headers.items()
    assert "HTTP 500" in dead.headers[h.LAST_ERROR]
    assert dead.headers[h.FIRST_FAILED_AT] <= dead.headers[h.LAST_FAILED_AT]
    assert 6 == len(receiver.received)


async def test_permanent_failure_is_dead_lettered_at_once(
    delivering_gateway, receiver, amqp_channel
):
    """A 400 is not retried: one request, then the DLQ with reason rejected."""
    gateway, client = delivering_gateway
    receiver.answer(400)
    await push(client)
    dlq = gateway.broker.topology.dead_letter_queue_of("receiver.inbox")
    [dead] = await take(amqp_channel, dlq, 1)
    assert ("rejected", 1) == (dead.headers[h.REASON], dead.headers[h.ATTEMPTS])
    assert 1 == len(receiver.received)


async def test_poison_message_does_not_hold_back_the_messages_behind_it(
    delivering_gateway, receiver, amqp_channel
):
    """A message that cannot be handled goes to the DLQ; the next one is delivered."""
    gateway, client = delivering_gateway
    work = gateway.broker.topology.queue_of("receiver.inbox")
    await amqp_channel.default_exchange.publish(
        aio_pika.Message(b"\x00 not json, no message id"), routing_key=work
    )
    receipt = await push(client)
    await receiver.wait_for(1)
    dlq = gateway.broker.topology.dead_letter_queue_of("receiver.inbox")
    [dead] = await take(amqp_channel, dlq, 1)
    assert "malformed" == dead.headers[h.REASON]
    assert receipt["message_id"] == receiver.delivered()[0].headers["X-Message-Id"]


async def test_redelivered_message_already_delivered_is_not_sent_again(
    delivering_gateway, receiver, amqp_channel
):
    """The same message twice on the work queue reaches the receiver once; the second counts
    as a dedup hit of the destination."""
    gateway, _client = delivering_gateway
    work = gateway.broker.topology.queue_of("receiver.inbox")
    for _ in range(2):
        await amqp_channel.default_exchange.publish(
            aio_pika.Message(b'{"x": 1}', message_id="same-id-1"), routing_key=work
        )
    await receiver.wait_for(1)
    await until(lambda: 1 == duplicates(gateway))
    hits = sample(gateway, "gateway_dedup_hits_total", scope="destination:receiver.inbox")
    assert (1, 1.0) == (len(receiver.received), hits)


async def test_failed_attempt_releases_the_key(
    start_gateway, backend_settings, delivery_table, receiver
):
    """After a failed attempt the retry is delivered, not mistaken for a duplicate."""
    gateway, client = await start_gateway(
        backend_settings, delivery_table, deliverers=deliverer_for
    )
    await gateway.wait_workers(15)
    receiver.answer(500, 500)
    await push(client)
    await receiver.wait_for(1)
    assert [500, 500, 200] == [r.status for r in receiver.received]


async def test_worker_killed_between_delivery_and_ack_causes_no_second_delivery(
    start_gateway, backend_settings, delivery_table, receiver
):
    """A worker dies after delivering but before acking: the next worker only acks."""
    first, client = await start_gateway(backend_settings, delivery_table, deliverers=deliverer_for)
    await first.wait_workers(15)
    [worker] = first.workers

    async def die(_message):
        await worker._channel.close()  # the process is gone: nothing acks any more
        raise RuntimeError("killed")

    worker._before_ack = die
    await push(client)
    await receiver.wait_for(1)
    second, _ = await start_gateway(backend_settings, delivery_table, deliverers=deliverer_for)
    await second.wait_workers(15)
    await until(lambda: 1 == duplicates(second))
    assert 1 == len(receiver.received)


async def test_copy_the_broker_refuses_sends_the_message_back_not_to_the_dlq(
    delivering_gateway, receiver, amqp_channel
):
    """The ladder's queue is gone, so the retry copy comes back unroutable: the message returns
    to its work queue (the broker is at fault, not the message) and is delivered later."""
    gateway, client = delivering_gateway
    topology = gateway.broker.topology
    [step0, _] = topology.retry_queues["receiver.inbox"]
    await amqp_channel.queue_delete(step0)
    receiver.answer(500, 500)
    await push(client)
    await receiver.wait_for(1)
    assert [500, 500, 200] == [r.status for r in receiver.received]
    assert 0 == await depth(amqp_channel, topology.dead_letter_queue_of("receiver.inbox"))


async def test_empty_optional_key_field_falls_back_to_the_message_id(
    start_gateway, delivery_settings, receiver, amqp_channel
):
    """Deduplicating by a payload field the message leaves empty uses its message id: it is
    delivered (not dead-lettered), and a redelivery of it is still caught."""
    routing = delivery_routing(receiver.url).replace(
        "dedup: {key: message_id, window: 1d}", "dedup: {key: payload.incident_date, window: 1d}"
    )
    table = compile_routing_table(
        routing, "delivery.yaml", schemas=REGISTRY, adapters=ADAPTERS, env=keys.ENV
    )
    gateway, _ = await start_gateway(delivery_settings, table, deliverers=deliverer_for)
    await gateway.wait_workers(15)
    work = gateway.broker.topology.queue_of("receiver.inbox")
    for _ in range(2):
        await amqp_channel.default_exchange.publish(
            aio_pika.Message(b'{"report_number": "IIV-1"}', message_id="no-date-1"),
            routing_key=work,
        )
    await until(lambda: 1 == duplicates(gateway))
    assert ["no-date-1"] == [r.headers["X-Message-Id"] for r in receiver.received]


async def test_receivers_words_go_to_the_dead_letter_not_to_the_log(
    delivering_gateway, receiver, amqp_channel
):
    """A refusal's body may echo personal data: the DLQ's last_error quotes it, the log only
    names the status."""
    gateway, client = delivering_gateway
    receiver.answer(422)
    with capture_logs() as logs:
        await push(client)
        dlq = gateway.broker.topology.dead_letter_queue_of("receiver.inbox")
        [dead] = await take(amqp_channel, dlq, 1)
        await until(lambda: any(e["event"] == "delivery.dead_lettered" for e in logs))
    [event] = [e for e in logs if e["event"] == "delivery.dead_lettered"]
    assert "fake receiver says 422" in dead.headers[h.LAST_ERROR]
    assert event["error"].endswith("answered HTTP 422")
