"""RabbitMQ restarted while records are pushed and delivered: nothing accepted is lost or
delivered twice, and the consumers come back without restarting the gateway."""

import asyncio
from collections import Counter

from adapters.outbound import deliverer_for
from tests.support import keys
from tests.support.amqp import until
from tests.support.rabbitmqctl import broker_stopped, check_local
from tests.support.records import load


async def test_broker_restart_loses_nothing_accepted_and_delivers_it_once(
    amqp_url, start_gateway, delivery_settings, delivery_table, receiver
):
    """Three pushers run through `rabbitmqctl stop_app` / `start_app`: each push is 202 or 503;
    every 202 is delivered exactly once; deliveries resume after the restart by themselves."""
    check_local(amqp_url)
    gateway, client = await start_gateway(
        delivery_settings, delivery_table, deliverers=deliverer_for
    )
    await gateway.wait_workers(15)
    outcomes: dict[str, tuple[int, str | None]] = {}
    stop = asyncio.Event()

    async def pusher(lane: int) -> None:
        for n in range(100_000):
            if stop.is_set():
                return
            record = load("mvd_crime_report")
            record["xabar_raqami"] = f"IIV-2026-R{lane}{n:05d}"
            response = await client.post(
                "/v1/feeds/crime-reports", json=record, headers=keys.bearer(keys.MVD)
            )
            body = await response.json()
            outcomes[record["xabar_raqami"]] = (response.status, body.get("message_id"))
            await asyncio.sleep(0.01)

    def delivered() -> Counter[str]:
        return Counter(r.headers["X-Message-Id"] for r in receiver.delivered())

    pushers = [asyncio.create_task(pusher(lane)) for lane in range(3)]
    try:
        await until(lambda: len(receiver.delivered()) >= 30, timeout=60)
        async with broker_stopped():
            await until(lambda: not gateway.broker.ready, timeout=30)
            pushed = len(outcomes)
            await until(lambda: len(outcomes) >= pushed + 10, timeout=30)  # pushed while down
        await gateway.broker.wait_ready(60)
        await until(lambda: all(w.running for w in gateway.workers), timeout=60)
        after_restart = len(receiver.delivered())
        await until(lambda: len(receiver.delivered()) >= after_restart + 30, timeout=60)
    finally:
        stop.set()
        await asyncio.gather(*pushers)
    accepted = {mid for status, mid in outcomes.values() if status == 202}
    await until(lambda: accepted <= set(delivered()), timeout=60)
    assert {202, 503} == {status for status, _ in outcomes.values()}
    assert [] == [mid for mid, count in delivered().items() if count > 1]
