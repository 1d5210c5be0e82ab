"""SIGTERM stops `gateway run` gracefully: deliveries in hand finish, none is acked undelivered."""

import aiohttp
import pytest

from tests.support import keys
from tests.support.amqp import depth, until
from tests.support.delivery import delivery_routing
from tests.support.receiver import FakeReceiver
from tests.support.records import load

DESTINATION = "receiver.inbox"


@pytest.fixture
async def receiver():
    """The fake receiving system, holding every request until told to answer."""
    fake = FakeReceiver()
    await fake.start()
    fake.hold()
    yield fake
    await fake.stop()


async def push_reports(process, count):
    """Push ``count`` distinct crime reports; their receipts."""
    receipts = []
    async with aiohttp.ClientSession() as session:
        for n in range(count):
            record = load("mvd_crime_report")
            record["xabar_raqami"] = f"IIV-2026-SHUT{n:04d}"
            status, receipt = await process.push(session, "crime-reports", record, keys.MVD)
            assert 202 == status, receipt
            receipts.append(receipt)
    return receipts


async def test_sigterm_lets_deliveries_in_hand_finish_then_exits(
    run_gateway, receiver, amqp_channel, namespace
):
    """Two deliveries are in flight at SIGTERM: the gateway waits for them, acks them, exits 0."""
    process = await run_gateway(delivery_routing(receiver.url))
    receipts = await push_reports(process, 2)
    await receiver.wait_arrived(2)
    process.signal()
    await until(lambda: any(e["event"] == "delivery.draining" for e in process.events()))
    receiver.release()
    assert 0 == await process.wait()
    assert sorted(r["message_id"] for r in receipts) == sorted(
        r.headers["X-Message-Id"] for r in receiver.delivered()
    )
    assert 0 == await depth(amqp_channel, f"{namespace}.{DESTINATION}")


async def test_delivery_unfinished_at_the_deadline_goes_back_to_its_queue(
    run_gateway, receiver, amqp_channel, namespace
):
    """A receiver that never answers: after the shutdown timeout the gateway exits and the
    message is back in its work queue, neither acked nor dead-lettered."""
    process = await run_gateway(delivery_routing(receiver.url), GATEWAY_SHUTDOWN_TIMEOUT="1")
    await push_reports(process, 1)
    await receiver.wait_arrived(1)
    process.signal()
    assert 0 == await process.wait()
    assert "delivery.drain_timeout" in [e["event"] for e in process.events()]
    assert (1, 0) == (
        await depth(amqp_channel, f"{namespace}.{DESTINATION}"),
        await depth(amqp_channel, f"{namespace}.{DESTINATION}.dlq"),
    )
