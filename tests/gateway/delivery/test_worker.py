"""Delivery workers: exactly one delivery, a retry ladder, dead letters with the original."""

import aio_pika
import orjson

from gateway.delivery import headers as h
from tests.support import keys
from tests.support.amqp import take, until
from tests.support.records import load


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
    """The same message twice on the work queue reaches the receiver once."""
    gateway, _client = delivering_gateway
    work = gateway.broker.topology.queue_of("receiver.inbox")
    for _ in range(2):
        await amqp_channel.default_exchange.publish(
            aio_pika.Message(b'{"x": 1}', message_id="same-id-1"), routing_key=work
        )
    await receiver.wait_for(1)
    await until(
        lambda: gateway.metrics.deliveries.labels("receiver.inbox", "duplicate")._value.get() == 1
    )
    assert 1 == len(receiver.received)


async def test_failed_attempt_releases_the_key(delivering_gateway, receiver):
    """After a failed attempt the retry is delivered, not mistaken for a duplicate."""
    _, client = delivering_gateway
    receiver.answer(500, 500)
    await push(client)
    await receiver.wait_for(1)
    assert [500, 500, 200] == [r.status for r in receiver.received]


async def test_worker_killed_between_delivery_and_ack_causes_no_second_delivery(
    start_gateway, delivery_settings, delivery_table, receiver
):
    """A worker dies after delivering but before acking: the next worker only acks."""
    from adapters.outbound import deliverer_for

    first, client = await start_gateway(delivery_settings, delivery_table, deliverers=deliverer_for)
    await first.wait_workers(15)
    [worker] = first.workers

    async def die(_message):
        await worker._channel.close()  # the process is gone: nothing acks any more
        raise RuntimeError("killed")

    worker._before_ack = die
    await push(client)
    await receiver.wait_for(1)
    second, _ = await start_gateway(delivery_settings, delivery_table, deliverers=deliverer_for)
    await second.wait_workers(15)
    duplicates = second.metrics.deliveries.labels("receiver.inbox", "duplicate")
    await until(lambda: duplicates._value.get() == 1)
    assert 1 == len(receiver.received)
