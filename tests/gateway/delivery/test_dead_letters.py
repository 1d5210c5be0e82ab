"""Dead-letter queues for operators: list, show, replay and purge, never losing a message."""

import asyncio
from datetime import UTC, datetime, timedelta

import aio_pika
import orjson
import pytest
import structlog

from gateway.broker import topology_for
from gateway.delivery import (
    DeadLetterQueue,
    QueueMissingError,
    UnknownDeadLetterError,
)
from gateway.delivery import headers as h
from gateway.delivery.dead_letters import derived_id
from tests.support import keys
from tests.support.amqp import delete_topology, depth, take
from tests.support.cli import command_env, gateway
from tests.support.dead_letters import (
    dead_letter_by_broker,
    declare_topology,
    put_dead_letter,
    record_body,
    until_depth,
)
from tests.support.delivery import delivery_routing
from tests.support.gateway import repository_table
from tests.support.records import load

DEST = "etergov.crime-reports"
NOW = datetime.now(UTC)
ENVELOPE_HEADERS = {"client", "feed", "schema", "received_at"}
#: what the quorum work queue adds to every message it delivers
DELIVERY_COUNT = "x-delivery-count"


@pytest.fixture
async def topology(amqp_url, namespace):
    """The repository table's topology, declared in this test's namespace, deleted after."""
    topology = topology_for(repository_table(), namespace)
    await declare_topology(amqp_url, topology)
    yield topology
    await delete_topology(amqp_url, topology)


@pytest.fixture
async def connection(amqp_url):
    """A connection of the operator's tool."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        yield connection


@pytest.fixture
def dlq(connection, topology):
    """DEST's dead-letter queue, as operator.test sees it."""
    return DeadLetterQueue(connection, topology, DEST, operator="operator.test")


@pytest.fixture
async def three(amqp_channel, dlq):
    """Three dead letters: m-1 (rejected 10 days ago), m-2 (retries exhausted 2 hours ago,
    replayed once before), m-3 (malformed 8 days ago)."""
    await put_dead_letter(
        amqp_channel, dlq.queue, record_body(1), message_id="m-1", failed_at=NOW - timedelta(10)
    )
    await put_dead_letter(
        amqp_channel,
        dlq.queue,
        record_body(2),
        message_id="m-2",
        reason="retries_exhausted",
        attempts=3,
        first_failed_at=NOW - timedelta(hours=3),
        failed_at=NOW - timedelta(hours=2),
        last_error="HTTP 503 from the receiver",
        headers={h.REPLAYS: 1, h.REPLAYED_AT: (NOW - timedelta(hours=4)).isoformat()},
    )
    await put_dead_letter(
        amqp_channel,
        dlq.queue,
        record_body(3),
        message_id="m-3",
        reason="malformed",
        attempts=0,
        failed_at=NOW - timedelta(8),
        last_error="the body has no message_id",
    )
    return ["m-1", "m-2", "m-3"]


async def queued_ids(channel, queue, count):
    """Take every message of ``queue`` (``count`` of them, acked): their message ids in order."""
    messages = await take(channel, queue, count)
    assert 0 == await depth(channel, queue)
    return [m.message_id for m in messages]


async def test_list_returns_every_message_with_its_fields_in_order(dlq, three):
    """Each message is listed in queue order with its failure headers and properties."""
    letters = await dlq.list()
    assert three == [letter.id for letter in letters]
    assert [1, 2, 3] == [letter.position for letter in letters]
    second = letters[1]
    assert {
        "id": "m-2",
        "message_id": "m-2",
        "correlation_id": "corr-m-2",
        "schema": "crime_report/1",
        "reason": "retries_exhausted",
        "attempts": 3,
        "first_failed_at": (NOW - timedelta(hours=3)).isoformat(),
        "last_failed_at": (NOW - timedelta(hours=2)).isoformat(),
        "last_error": "HTTP 503 from the receiver",
        "replays": 1,
        "size": len(record_body(2)),
    } == second.summary()
    assert record_body(2) == second.body


async def test_list_leaves_the_queue_exactly_as_it_was(dlq, three, amqp_channel):
    """After listing (twice) the queue has the same messages, in the same order."""
    await dlq.list()
    await dlq.list()
    assert 3 == await depth(amqp_channel, dlq.queue)
    messages = await take(amqp_channel, dlq.queue, 3)
    assert three == [m.message_id for m in messages]
    assert [record_body(n) for n in (1, 2, 3)] == [m.body for m in messages]


async def test_list_with_a_limit_reads_the_oldest_only(dlq, three, amqp_channel):
    """--limit 2 lists the first two and leaves all three queued."""
    assert three[:2] == [letter.id for letter in await dlq.list(limit=2)]
    assert 3 == await depth(amqp_channel, dlq.queue)


async def test_list_stops_at_what_the_queue_held_when_it_began(
    dlq, three, amqp_channel, connection, monkeypatch
):
    """A publisher adding a message for every one read cannot keep list reading forever."""
    publisher = await connection.channel(publisher_confirms=True)
    get = aio_pika.Queue.get

    async def get_while_another_arrives(self, **kwargs):
        message = await get(self, **kwargs)
        await publisher.default_exchange.publish(
            aio_pika.Message(b"late", message_id="late"), routing_key=dlq.queue
        )
        return message

    monkeypatch.setattr(aio_pika.Queue, "get", get_while_another_arrives)
    async with asyncio.timeout(20):  # reading until the queue is empty would never end
        letters = await dlq.list()
    monkeypatch.undo()
    assert three == [letter.id for letter in letters]
    assert [*three, "late", "late", "late"] == await queued_ids(amqp_channel, dlq.queue, 6)


async def test_get_finds_a_message_by_its_id_or_a_unique_prefix(amqp_channel, dlq):
    """An exact id, or a prefix of 4+ characters that starts exactly one id, names a message."""
    for message_id in ("a1b2c3d4-0001", "a1b2c3d4-0002", "ffee0000-0003"):
        await put_dead_letter(amqp_channel, dlq.queue, b"{}", message_id=message_id)
    assert "a1b2c3d4-0002" == (await dlq.get("a1b2c3d4-0002")).id
    assert "ffee0000-0003" == (await dlq.get("ffee")).id


@pytest.mark.parametrize(
    ("wanted", "problem"),
    [
        ("a1b2", "is ambiguous"),
        ("ffe", "no dead letter with id 'ffe'"),
        ("0000-0003", "no dead letter with id"),
    ],
)
async def test_get_refuses_an_unknown_or_ambiguous_id(amqp_channel, dlq, wanted, problem):
    """A prefix of several ids, one shorter than 4 characters, or no id at all: an error."""
    for message_id in ("a1b2c3d4-0001", "a1b2c3d4-0002", "ffee0000-0003"):
        await put_dead_letter(amqp_channel, dlq.queue, b"{}", message_id=message_id)
    with pytest.raises(UnknownDeadLetterError, match=problem):
        await dlq.get(wanted)
    assert 3 == await depth(amqp_channel, dlq.queue)


async def test_replay_of_one_id_puts_exactly_that_message_back_reset_and_marked(
    dlq, three, amqp_channel
):
    """The copy on the work queue: body byte for byte, properties kept, failure headers gone,
    replayed_at and replays + 1; the original leaves the DLQ, the others stay in order."""
    before = datetime.now(UTC)
    assert ["m-2"] == [letter.id for letter in await dlq.replay(["m-2"])]
    [copy] = await take(amqp_channel, dlq.work_queue, 1)
    assert record_body(2) == copy.body
    assert (
        "m-2",
        "corr-m-2",
        "crime_report/1",
        "application/json",
        "utf-8",
        "e-integratsiya",
        aio_pika.DeliveryMode.PERSISTENT,
        (NOW - timedelta(hours=3)).replace(microsecond=0),
    ) == (
        copy.message_id,
        copy.correlation_id,
        copy.type,
        copy.content_type,
        copy.content_encoding,
        copy.app_id,
        copy.delivery_mode,
        copy.timestamp,
    )
    assert {*ENVELOPE_HEADERS, h.REPLAYED_AT, h.REPLAYS} == set(copy.headers) - {DELIVERY_COUNT}
    assert 2 == copy.headers[h.REPLAYS]
    assert before <= datetime.fromisoformat(copy.headers[h.REPLAYED_AT]) <= datetime.now(UTC)
    assert 0 == await depth(amqp_channel, dlq.work_queue)
    assert ["m-1", "m-3"] == await queued_ids(amqp_channel, dlq.queue, 2)


async def test_replay_of_several_ids_keeps_queue_order_and_replays_each_once(
    dlq, three, amqp_channel
):
    """--id m-3 --id m-1 --id m-1 replays m-1 then m-3, once each."""
    assert ["m-1", "m-3"] == [letter.id for letter in await dlq.replay(["m-3", "m-1", "m-1"])]
    assert ["m-1", "m-3"] == await queued_ids(amqp_channel, dlq.work_queue, 2)
    assert ["m-2"] == await queued_ids(amqp_channel, dlq.queue, 1)


async def test_replay_all_moves_every_message_in_order(dlq, three, amqp_channel):
    """--all: every message on the work queue in the DLQ's order, the DLQ empty."""
    assert three == [letter.id for letter in await dlq.replay()]
    copies = await take(amqp_channel, dlq.work_queue, 3)
    assert three == [m.message_id for m in copies]
    assert [1, 2, 1] == [m.headers[h.REPLAYS] for m in copies]
    assert 0 == await depth(amqp_channel, dlq.queue)


async def test_replay_dry_run_changes_nothing(dlq, three, amqp_channel):
    """A dry run says what would go and leaves both queues as they were."""
    assert three == [letter.id for letter in await dlq.replay(dry_run=True)]
    assert ["m-2"] == [letter.id for letter in await dlq.replay(["m-2"], dry_run=True)]
    assert 0 == await depth(amqp_channel, dlq.work_queue)
    assert three == await queued_ids(amqp_channel, dlq.queue, 3)


async def test_replay_with_an_unknown_id_replays_nothing(dlq, three, amqp_channel):
    """One unknown id among several: an error, and no message moved."""
    with pytest.raises(UnknownDeadLetterError, match="'m-9'"):
        await dlq.replay(["m-1", "m-9"])
    assert 0 == await depth(amqp_channel, dlq.work_queue)
    assert three == await queued_ids(amqp_channel, dlq.queue, 3)


async def test_messages_with_the_same_id_are_numbered_and_replayed_one_by_one(dlq, amqp_channel):
    """Two copies of one message are m-1 and m-1#2; replaying m-1#2 leaves m-1."""
    await put_dead_letter(amqp_channel, dlq.queue, record_body(1), message_id="m-1")
    await put_dead_letter(amqp_channel, dlq.queue, record_body(11), message_id="m-1")
    assert ["m-1", "m-1#2"] == [letter.id for letter in await dlq.list()]
    await dlq.replay(["m-1#2"])
    [copy] = await take(amqp_channel, dlq.work_queue, 1)
    assert record_body(11) == copy.body
    [left] = await take(amqp_channel, dlq.queue, 1)
    assert record_body(1) == left.body


async def test_purge_removes_exactly_the_older_ones(dlq, three, amqp_channel):
    """Older than 7 days: m-1 (10 days) and m-3 (8 days) go, m-2 (2 hours) stays."""
    purged = await dlq.purge(NOW - timedelta(days=7))
    assert ["m-1", "m-3"] == [letter.id for letter in purged]
    assert ["m-2"] == await queued_ids(amqp_channel, dlq.queue, 1)


async def test_purge_with_a_limit_removes_no_more(dlq, three, amqp_channel):
    """limit=1 removes the first of the older ones only; the rest stay in order."""
    assert ["m-1"] == [letter.id for letter in await dlq.purge(NOW - timedelta(7), limit=1)]
    assert ["m-2", "m-3"] == await queued_ids(amqp_channel, dlq.queue, 2)


async def test_purge_dry_run_changes_nothing(dlq, three, amqp_channel):
    """A dry run names what would go and deletes nothing."""
    would = await dlq.purge(NOW - timedelta(days=7), dry_run=True)
    assert ["m-1", "m-3"] == [letter.id for letter in would]
    assert three == await queued_ids(amqp_channel, dlq.queue, 3)


async def test_message_dead_lettered_by_rabbitmq_is_listed_shown_and_replayed(dlq, amqp_channel):
    """x-death only, no message id: listed under its derived id, and replayed without the
    broker's bookkeeping, with the derived id as message id."""
    body = b'{"raw": "\xd1\x8f", "n": 1}'
    await dead_letter_by_broker(amqp_channel, dlq.work_queue, dlq.queue, body)
    [letter] = await dlq.list()
    assert (derived_id(body), None, "broker:rejected", 0) == (
        letter.id,
        letter.message_id,
        letter.reason,
        letter.attempts,
    )
    assert letter.last_failed_at is not None
    assert NOW - timedelta(minutes=1) <= letter.last_failed_at <= datetime.now(UTC)
    shown = await dlq.get(letter.id[:12])
    assert "x-death" in shown.headers
    assert body == shown.body
    await dlq.replay([letter.id])
    [copy] = await take(amqp_channel, dlq.work_queue, 1)
    assert body == copy.body
    assert {h.REPLAYED_AT, h.REPLAYS} == set(copy.headers) - {DELIVERY_COUNT}
    assert derived_id(body) == copy.message_id
    assert 0 == await depth(amqp_channel, dlq.queue)


async def test_a_dead_letter_queue_never_declared_is_reported(connection, namespace):
    """Without the topology on the broker: QueueMissingError naming the queue."""
    topology = topology_for(repository_table(), namespace)
    dlq = DeadLetterQueue(connection, topology, DEST, operator="operator.test")
    with pytest.raises(QueueMissingError, match=f"'{namespace}.{DEST}.dlq' does not exist"):
        await dlq.list()


def test_an_unknown_destination_is_refused(topology):
    """A destination the topology does not have: ValueError naming the known ones."""
    with pytest.raises(ValueError, match=r"unknown destination 'nowhere' .*etergov\.crime-reports"):
        DeadLetterQueue(None, topology, "nowhere")


async def test_replay_and_purge_log_one_event_per_message_with_the_operator(dlq, three):
    """dlq.replayed and dlq.purged: destination, message id, reason and operator."""
    with structlog.testing.capture_logs() as logs:
        await dlq.replay(["m-2"])
        await dlq.purge(NOW - timedelta(days=9))
    assert [
        ("dlq.replayed", DEST, "m-2", "retries_exhausted", "operator.test"),
        ("dlq.purged", DEST, "m-1", "rejected", "operator.test"),
    ] == [(e["event"], e["destination"], e["message_id"], e["reason"], e["operator"]) for e in logs]


async def test_replay_delivers_a_message_the_receiver_had_rejected(
    delivering_gateway, receiver, amqp_channel, amqp_url, namespace, tmp_path
):
    """400 → dead letter; `gateway dlq replay` → the receiver, now answering 200, gets the
    same bytes; the DLQ is empty."""
    gateway_, client = delivering_gateway
    dead_letter_queue = gateway_.broker.topology.dead_letter_queue_of("receiver.inbox")
    receiver.answer(400)
    response = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    assert 202 == response.status, await response.text()
    message_id = (await response.json())["message_id"]
    await until_depth(amqp_channel, dead_letter_queue, 1)
    routing = tmp_path / "routing.yaml"
    routing.write_text(delivery_routing(receiver.url), encoding="utf-8")

    done = await gateway(
        "dlq",
        "replay",
        "receiver.inbox",
        "--id",
        message_id,
        "--routing",
        str(routing),
        env=command_env(amqp_url, namespace),
    )

    assert 0 == done.status, done.err
    await receiver.wait_for(1)
    rejected, delivered = receiver.received
    assert (400, 200) == (rejected.status, delivered.status)
    assert rejected.body == delivered.body
    assert message_id == delivered.headers["X-Message-Id"]
    assert "1" == delivered.headers["X-Attempt"]
    assert 0 == await depth(amqp_channel, dead_letter_queue)
    [event] = [orjson.loads(line) for line in done.err.splitlines()]
    assert ("dlq.replayed", message_id, "rejected") == (
        event["event"],
        event["message_id"],
        event["reason"],
    )
