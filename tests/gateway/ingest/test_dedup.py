"""Deduplication at ingest, on SQLite and on the real Redis: a record is accepted once."""

import asyncio

import pytest
from structlog.testing import capture_logs

from adapters import ADAPTERS
from gateway.dedup import SqliteIdempotencyStore
from gateway.ingest import canonicalize
from gateway.routing import compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.amqp import depth, take
from tests.support.clock import FakeClock
from tests.support.metrics import sample
from tests.support.records import load

ETERGOV = "etergov.crime-reports"


@pytest.fixture(params=["sqlite", "redis"])
async def dedup_gateway(request, start_gateway, settings):
    """(gateway, client) for the repository's routing.yaml, whose crime-reports feed
    deduplicates by report number, on the idempotency store backend under test."""
    return await start_gateway(settings.model_copy(update={"dedup_backend": request.param}))


async def push(client, record, feed="crime-reports", key=keys.MVD):
    """POST ``record`` (an object or a batch) to ``feed``; return (status, body)."""
    response = await client.post(f"/v1/feeds/{feed}", json=record, headers=keys.bearer(key))
    return response.status, await response.json()


async def test_second_push_is_a_duplicate_with_the_original_message_id(dedup_gateway, amqp_channel):
    """The same report pushed again: 200 "duplicate" naming the first message id; one copy;
    one dedup hit."""
    gateway, client = dedup_gateway
    first = await push(client, load("mvd_crime_report"))
    second = await push(client, load("mvd_crime_report"))
    assert (202, "accepted") == (first[0], first[1]["status"])
    assert (200, "duplicate", first[1]["message_id"]) == (
        second[0],
        second[1]["status"],
        second[1]["message_id"],
    )
    queue = gateway.broker.topology.queue_of(ETERGOV)
    [message] = await take(amqp_channel, queue, 1)
    assert (first[1]["message_id"], 0) == (message.message_id, await depth(amqp_channel, queue))
    assert 1 == sample(gateway, "gateway_dedup_hits_total", scope="feed:mvd-crime-reports")


async def test_concurrent_pushes_of_one_record_are_accepted_once(dedup_gateway, amqp_channel):
    """Eight pushes of one report at once: one 202, seven duplicates of it, one message queued."""
    gateway, client = dedup_gateway
    answers = await asyncio.gather(*(push(client, load("mvd_crime_report")) for _ in range(8)))
    statuses = sorted(status for status, _ in answers)
    [accepted] = [body for status, body in answers if status == 202]
    assert [200] * 7 + [202] == statuses
    assert {accepted["message_id"]} == {body["message_id"] for _, body in answers}
    queue = gateway.broker.topology.queue_of(ETERGOV)
    await take(amqp_channel, queue, 1)
    assert 0 == await depth(amqp_channel, queue)


async def test_record_twice_in_one_batch_is_published_once(dedup_gateway, amqp_channel):
    """A batch holding one report twice: the second is a duplicate of the first."""
    gateway, client = dedup_gateway
    status, body = await push(client, [load("mvd_crime_report"), load("mvd_crime_report")])
    first, second = body["records"]
    assert (202, "accepted") == (status, body["status"])
    assert ("accepted", "duplicate") == (first["status"], second["status"])
    assert first["message_id"] == second["message_id"]
    queue = gateway.broker.topology.queue_of(ETERGOV)
    await take(amqp_channel, queue, 1)
    assert 0 == await depth(amqp_channel, queue)


async def test_batch_with_an_accepted_record_publishes_only_the_new_one(dedup_gateway):
    """A batch whose first record was accepted before: duplicate, then accepted."""
    _, client = dedup_gateway
    batch = load("mvd_crime_reports_batch")
    _, earlier = await push(client, batch[0])
    status, body = await push(client, batch)
    assert 202 == status
    assert [("duplicate", earlier["message_id"]), "accepted"] == [
        (body["records"][0]["status"], body["records"][0]["message_id"]),
        body["records"][1]["status"],
    ]


async def test_all_duplicate_batch_is_200_duplicate(dedup_gateway):
    """A batch of records all accepted before is answered 200 with status duplicate."""
    _, client = dedup_gateway
    await push(client, load("mvd_crime_reports_batch"))
    status, body = await push(client, load("mvd_crime_reports_batch"))
    assert (200, "duplicate") == (status, body["status"])
    assert ["duplicate", "duplicate"] == [r["status"] for r in body["records"]]


async def test_failed_publish_releases_the_key(dedup_gateway, amqp_channel):
    """A push the broker could not take (503) is accepted when sent again, not a duplicate."""
    gateway, client = dedup_gateway
    topology = gateway.broker.topology
    [decl] = [q for q in topology.queues if q.name == topology.queue_of(ETERGOV)]
    await amqp_channel.queue_delete(decl.name)
    failed = await push(client, load("mvd_crime_report"))
    queue = await amqp_channel.declare_queue(
        decl.name, durable=True, arguments=decl.declare_arguments()
    )
    await queue.bind(topology.ingress, routing_key=decl.routing_key)
    again = await push(client, load("mvd_crime_report"))
    assert (503, 202, "accepted") == (failed[0], again[0], again[1]["status"])


async def test_feeds_keep_their_keys_apart(dedup_gateway):
    """One report number on two feeds is accepted on each: keys are per feed."""
    _, client = dedup_gateway
    native = load("mvd_crime_report")
    canonical = canonicalize(ADAPTERS["mvd.crime_report"], REGISTRY["crime_report/1"], native)
    interior = await push(client, native)
    portal = await push(client, canonical, feed="portal-crime-reports", key=keys.PORTAL)
    assert (202, 202) == (interior[0], portal[0])


async def test_duplicate_is_in_the_access_log_with_its_outcome(dedup_gateway):
    """The access event of a duplicate push says outcome duplicate, status 200, and names the
    original message; nothing new was published."""
    _, client = dedup_gateway
    await push(client, load("mvd_crime_report"))
    with capture_logs() as logs:
        _, body = await push(client, load("mvd_crime_report"))
    [event] = [e for e in logs if e["event"] == "access"]
    assert ("duplicate", 200, [], [body["message_id"]]) == (
        event["outcome"],
        event["status"],
        event["message_ids"],
        event["duplicate_of"],
    )


async def test_caller_message_id_deduplicates_a_resend(start_gateway, settings):
    """On a feed keyed by message id, a resend with the same X-Message-Id is a duplicate."""
    _, client = await start_gateway(settings)
    headers = {**keys.bearer(keys.SOLIQ), "X-Message-Id": "soliq-2026-000981"}
    answers = [
        await client.post(
            "/v1/feeds/organizations", json=load("soliq_organization"), headers=headers
        )
        for _ in range(2)
    ]
    bodies = [await a.json() for a in answers]
    assert [(202, "accepted"), (200, "duplicate")] == [
        (a.status, b["status"]) for a, b in zip(answers, bodies, strict=True)
    ]
    assert ["soliq-2026-000981"] * 2 == [b["message_id"] for b in bodies]


async def test_record_is_accepted_again_once_its_window_has_passed(
    start_gateway, settings, tmp_path
):
    """After the dedup window (30 days for crime reports) the same report is new again."""
    clock = FakeClock()
    store = SqliteIdempotencyStore(tmp_path / "clocked.sqlite3", clock=clock)
    _, client = await start_gateway(settings, store=store)
    try:
        first = await push(client, load("mvd_crime_report"))
        clock.advance(30 * 86400 + 1)
        again = await push(client, load("mvd_crime_report"))
    finally:
        await store.aclose()
    assert (202, 202) == (first[0], again[0])
    assert first[1]["message_id"] != again[1]["message_id"]


async def test_unreachable_store_is_503_and_nothing_is_published(
    start_gateway, settings, amqp_channel
):
    """With Redis unreachable a push gets 503 gateway.dedup_unavailable and is not published;
    /readyz names the store."""
    gateway, client = await start_gateway(
        settings.model_copy(update={"dedup_backend": "redis", "redis_url": "redis://127.0.0.1:1/0"})
    )
    status, body = await push(client, load("mvd_crime_report"))
    ready = await client.get("/readyz")
    assert (503, "gateway.dedup_unavailable") == (status, body["error"]["code"])
    assert 503 == ready.status
    assert "Redis is unreachable" in (await ready.json())["checks"]["dedup"]
    assert 0 == await depth(amqp_channel, gateway.broker.topology.queue_of(ETERGOV))


async def test_copies_of_an_accepted_record_in_a_batch_name_the_original(dedup_gateway):
    """A batch holding twice a report accepted before: both are duplicates of the original
    message, not of an id that was never published."""
    _, client = dedup_gateway
    _, original = await push(client, load("mvd_crime_report"))
    status, body = await push(client, [load("mvd_crime_report"), load("mvd_crime_report")])
    assert (200, [original["message_id"]] * 2) == (
        status,
        [r["message_id"] for r in body["records"]],
    )


async def test_feeds_sharing_a_scope_share_their_keys(start_gateway, settings):
    """Two feeds with one dedup scope: a report accepted on one is a duplicate on the other
    (the same registry pushing over two channels)."""
    table = compile_routing_table(
        SHARED,
        "shared.yaml",
        schemas=REGISTRY,
        adapters=ADAPTERS,
        env=keys.ENV,
    )
    _, client = await start_gateway(settings, table)
    first = await push(client, load("mvd_crime_report"), feed="reports-a")
    second = await push(client, load("mvd_crime_report"), feed="reports-b")
    assert (202, 200, first[1]["message_id"]) == (first[0], second[0], second[1]["message_id"])


SHARED = """\
version: 1
systems:
  mvd.crime-registry: {title: Interior, api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]}
feeds:
  reports-a:
    from: [mvd.crime-registry]
    adapter: mvd.crime_report
    schema: crime_report/1
    dedup: {key: payload.report_number, scope: mvd-reports}
  reports-b:
    from: [mvd.crime-registry]
    adapter: mvd.crime_report
    schema: crime_report/1
    dedup: {key: payload.report_number, scope: mvd-reports}
routes:
  - {name: all, to: [etergov.inbox]}
destinations:
  etergov.inbox: {queue: {type: classic}}
"""
