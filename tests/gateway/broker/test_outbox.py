"""The outbox, against the real RabbitMQ: publishes of one turn written together, each settled
with its own outcome (confirmed, returned, nacked), a message id never in flight twice."""

import asyncio
from datetime import UTC, datetime

import aio_pika
import aiormq
import pytest

from gateway.broker.outbox import Outbox
from gateway.broker.properties import record_properties


def properties(message_id: str) -> bytes:
    return record_properties(
        message_id=message_id,
        correlation_id="c-outbox",
        schema_id="inspection/1",
        timestamp=datetime(2026, 11, 23, 12, 30, tzinfo=UTC),
        headers={"feed": "inspections"},
        app_id="e-integratsiya",
    ).marshal()


@pytest.fixture
async def rabbit(amqp_url, namespace):
    """A confirm-mode channel as the broker's (returns raise), its underlay, and queues of the
    test's own, deleted afterwards."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    queues = {
        "plain": await channel.declare_queue(f"{namespace}.outbox", durable=True),
        "full": await channel.declare_queue(
            f"{namespace}.outbox.full",
            durable=True,
            arguments={"x-max-length": 0, "x-overflow": "reject-publish"},
        ),
    }
    underlay = await channel.get_underlay_channel()
    try:
        yield underlay, queues
    finally:
        cleanup = await connection.channel()
        for queue in queues.values():
            await cleanup.queue_delete(queue.name)
        await connection.close()


def publish(outbox, underlay, routing_key, message_id, body=b"{}"):
    return outbox.publish(
        underlay,
        exchange="",
        routing_key=routing_key,
        message_id=message_id,
        properties=properties(message_id),
        body=body,
    )


async def drain(queue, count):
    got = []
    for _ in range(count):
        message = await queue.get(timeout=5, fail=True)
        await message.ack()
        got.append(message)
    assert await queue.get(fail=False) is None
    return got


async def test_publishes_of_one_turn_go_out_in_one_write_and_are_each_confirmed(rabbit):
    underlay, queues = rabbit
    writes = []
    put = underlay.write_queue.put

    async def counting_put(frame):
        writes.append(frame)
        await put(frame)

    underlay.write_queue.put = counting_put
    try:
        outbox = Outbox()
        futures = [
            publish(outbox, underlay, queues["plain"].name, f"m-{n}", b'{"n": %d}' % n)
            for n in range(50)
        ]
        await asyncio.gather(*futures)
    finally:
        underlay.write_queue.put = put
    assert len(writes) == 1
    got = await drain(queues["plain"], 50)
    assert [m.body for m in got] == [b'{"n": %d}' % n for n in range(50)]
    assert [m.message_id for m in got] == [f"m-{n}" for n in range(50)]
    assert all(m.delivery_mode == aio_pika.DeliveryMode.PERSISTENT for m in got)
    assert got[0].headers == {"feed": "inspections"}
    await outbox.aclose()


async def test_each_publish_of_a_write_gets_its_own_outcome(rabbit, namespace):
    """In one write: confirmed ones, one no queue takes (returned), one the queue refuses
    (nacked). Only those two fail, each with its own error."""
    underlay, queues = rabbit
    outbox = Outbox()
    futures = {
        "a": publish(outbox, underlay, queues["plain"].name, "a"),
        "nowhere": publish(outbox, underlay, f"{namespace}.no-such-queue", "nowhere"),
        "b": publish(outbox, underlay, queues["plain"].name, "b"),
        "full": publish(outbox, underlay, queues["full"].name, "full"),
        "c": publish(outbox, underlay, queues["plain"].name, "c"),
    }
    await asyncio.wait(futures.values(), timeout=10)
    assert futures["a"].result() is None
    assert futures["b"].result() is None
    assert futures["c"].result() is None
    assert isinstance(futures["nowhere"].exception(), aiormq.exceptions.PublishError)
    error = futures["full"].exception()
    assert isinstance(error, aiormq.exceptions.DeliveryError)
    assert not isinstance(error, aiormq.exceptions.PublishError)
    assert [m.message_id for m in await drain(queues["plain"], 3)] == ["a", "b", "c"]
    assert underlay.message_id_delivery_tag == {}  # every id forgotten once settled


async def test_a_message_id_in_flight_holds_back_the_next_message_with_it(rabbit, namespace):
    """The same id twice in one turn: the first is unroutable, the second routable. The
    second goes out after the first is settled, so the return fails the first only."""
    underlay, queues = rabbit
    outbox = Outbox()
    first = publish(outbox, underlay, f"{namespace}.no-such-queue", "same", b"1")
    second = publish(outbox, underlay, queues["plain"].name, "same", b"2")
    third = publish(outbox, underlay, queues["plain"].name, "other", b"3")
    await asyncio.wait([first, second, third], timeout=10)
    assert isinstance(first.exception(), aiormq.exceptions.PublishError)
    assert second.result() is None
    assert third.result() is None
    assert sorted(m.body for m in await drain(queues["plain"], 2)) == [b"2", b"3"]


async def test_a_caller_that_stops_waiting_does_not_disturb_the_others(rabbit):
    """Given up before its turn's write, a publish is not sent (as basic_publish sends
    nothing when cancelled before its frames are queued); the others go on."""
    underlay, queues = rabbit
    outbox = Outbox()
    gone = publish(outbox, underlay, queues["plain"].name, "gone")
    kept = publish(outbox, underlay, queues["plain"].name, "kept")
    gone.cancel()
    assert await kept is None
    assert [m.message_id for m in await drain(queues["plain"], 1)] == ["kept"]


async def test_a_name_amqp_cannot_carry_fails_its_own_publish_only(rabbit):
    underlay, queues = rabbit
    outbox = Outbox()
    bad = publish(outbox, underlay, "q" * 256, "bad")
    good = publish(outbox, underlay, queues["plain"].name, "good")
    with pytest.raises(ValueError, match="at most 255 bytes"):
        await bad
    assert await good is None
    assert [m.message_id for m in await drain(queues["plain"], 1)] == ["good"]


async def test_a_channel_without_confirms_is_refused(amqp_url):
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=False)
        underlay = await channel.get_underlay_channel()
        with pytest.raises(ValueError, match="confirm mode"):
            publish(Outbox(), underlay, "anything", "m")


async def test_a_connection_that_takes_no_frames_fails_the_publishes_in_time(rabbit):
    """The writer's queue stays full (a stuck socket): the write gives up after its
    timeout, the callers get TimeoutError, the delivery tags are given back, and closing the
    outbox does not wait for anything."""
    underlay, queues = rabbit
    stuck = asyncio.Queue(maxsize=1)
    stuck.put_nowait(None)
    real, underlay.write_queue = underlay.write_queue, stuck
    tag = underlay.delivery_tag
    try:
        outbox = Outbox(write_timeout=0.2)
        futures = [publish(outbox, underlay, queues["plain"].name, f"m-{n}") for n in range(3)]
        await asyncio.wait(futures, timeout=10)
        for future in futures:
            assert isinstance(future.exception(), TimeoutError)
        assert underlay.delivery_tag == tag
        assert underlay.confirmations == {}
        assert underlay.message_id_delivery_tag == {}
        await asyncio.wait_for(outbox.aclose(), timeout=5)
    finally:
        underlay.write_queue = real


async def test_a_closed_channel_fails_every_publish_waiting_for_it(rabbit):
    underlay, queues = rabbit
    outbox = Outbox()
    tag = underlay.delivery_tag
    await underlay.close()
    futures = [publish(outbox, underlay, queues["plain"].name, f"m-{n}") for n in range(3)]
    await asyncio.wait(futures, timeout=10)
    for future in futures:
        assert isinstance(future.exception(), aiormq.exceptions.ChannelInvalidStateError)
    assert underlay.delivery_tag == tag
    assert underlay.confirmations == {}
