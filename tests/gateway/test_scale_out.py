"""Two `gateway run` processes sharing one RabbitMQ and one Redis act as one gateway."""

import asyncio

import aiohttp

from tests.support import keys
from tests.support.amqp import depth, take
from tests.support.records import load

ROUTING = """\
version: 1
systems:
  mvd.crime-registry: {title: Interior, api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]}
feeds:
  crime-reports:
    from: [mvd.crime-registry]
    adapter: mvd.crime_report
    schema: crime_report/1
    dedup: {key: payload.report_number, window: 1d}
routes:
  - {name: all, to: [etergov.inbox]}
destinations:
  etergov.inbox: {queue: {type: quorum}}
"""


async def test_a_record_pushed_to_both_instances_at_once_is_accepted_once(
    run_gateway, amqp_channel, namespace
):
    """Five reports, each pushed to both instances at the same moment: per report one 202 and
    one 200 duplicate naming the same message id; five messages in the queue."""
    first = await run_gateway(ROUTING, GATEWAY_DEDUP_BACKEND="redis")
    second = await run_gateway(ROUTING, GATEWAY_DEDUP_BACKEND="redis")
    outcomes = []
    async with aiohttp.ClientSession() as session:
        for n in range(5):
            record = load("mvd_crime_report")
            record["xabar_raqami"] = f"IIV-2026-PAIR{n:04d}"
            outcomes.append(
                await asyncio.gather(
                    first.push(session, "crime-reports", record, keys.MVD),
                    second.push(session, "crime-reports", record, keys.MVD),
                )
            )
    for pair in outcomes:
        assert [200, 202] == sorted(status for status, _ in pair)
        assert 1 == len({body["message_id"] for _, body in pair})
    queue = f"{namespace}.etergov.inbox"
    messages = await take(amqp_channel, queue, 5)
    accepted = {body["message_id"] for pair in outcomes for status, body in pair if status == 202}
    assert accepted == {m.message_id for m in messages}
    assert 0 == await depth(amqp_channel, queue)
