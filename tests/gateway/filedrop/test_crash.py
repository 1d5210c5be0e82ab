"""A gateway killed (SIGKILL) in the middle of a file, then started again: the file is resumed
from processing/ and every record is in the queue exactly once."""

import asyncio
from collections import Counter
from pathlib import Path

import aiormq
import pytest
from aio_pika.abc import AbstractIncomingMessage
from structlog.testing import capture_logs

from gateway.filedrop import FeedDirectories, FileDropWatcher
from gateway.filedrop.ledger import FileLedger, LedgerUndecidedError
from tests.gateway.filedrop.drops import FEED, drop, every_file, inspections_csv, outcome, routing
from tests.support.amqp import depth

RECORDS = 3000
BATCH = 50
CRASH = f"""\
system: agencies.drop
format: csv
encoding: cp1251
delimiter: ";"
read_lock: {{done_marker: true}}
batch: {BATCH}
poll: 50ms
"""


async def test_a_file_resumed_after_a_sigkill_is_published_exactly_once(
    run_gateway, amqp_channel, namespace, tmp_path: Path
):
    """Killed once the queue holds some but not all of the file's records, the gateway
    leaves the file in processing/; restarted, it resumes it: the queue then holds each of
    the RECORDS records exactly once, under the message ids the receipt lists, and the
    file's ledger queue is gone."""
    text = routing(CRASH)
    dirs = FeedDirectories.of(tmp_path / "drop", FEED)
    queue = f"{namespace}.register.inbox"
    first = await run_gateway(text)
    drop(dirs, "big.csv", inspections_csv(RECORDS))
    async with asyncio.timeout(60):
        while not 0 < await depth(amqp_channel, queue) < RECORDS:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    await first.kill()
    published_before = await depth(amqp_channel, queue)
    left = every_file(dirs)
    second = await run_gateway(text)
    receipt = await outcome(dirs, "big.csv", timeout=120)
    messages = await everything_in(amqp_channel, queue)
    copies = Counter(int(m.headers["record_index"]) for m in messages)
    assert 0 < published_before < RECORDS
    assert "big.csv" in left["processing"]
    assert ("archive", RECORDS, RECORDS, 0) == (
        receipt["to"],
        receipt["records"],
        receipt["accepted"],
        receipt["duplicate"],
    )
    assert set(range(RECORDS)) == set(copies)
    assert {1} == set(copies.values())
    by_index = {int(m.headers["record_index"]): m.message_id for m in messages}
    assert receipt["message_ids"] == [by_index[i] for i in range(RECORDS)]
    assert ["file.resumed"] == [e["event"] for e in second.events() if e["event"] == "file.resumed"]
    ledger = f"{namespace}.filedrop.{FEED}.{receipt['sha256'][:32]}"
    with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
        await amqp_channel.declare_queue(ledger, passive=True)


async def everything_in(channel, queue: str) -> list[AbstractIncomingMessage]:
    """Every message ``queue`` holds now (acked), in queue order."""
    q = await channel.get_queue(queue, ensure=True)
    messages = []
    while (message := await q.get(no_ack=True, fail=False)) is not None:
        messages.append(message)
    return messages


async def test_a_batch_whose_commit_went_unanswered_is_not_published_again(
    bare_gateway, amqp_channel, namespace, monkeypatch
):
    """The first batch's transaction is committed but its answer lost (the run ends
    undecided, the file left in processing/): the resumed run reads the file's ledger, does
    not publish what it names again, and each record is in the queue once."""
    gateway, watcher = await bare_gateway(routing(CRASH))
    real_publish = FileLedger.publish
    calls = 0

    async def commit_then_lose_the_answer(self, messages, marker_id):
        nonlocal calls
        calls += 1
        first = calls == 1
        await real_publish(self, messages, marker_id)
        if first:
            raise LedgerUndecidedError("the connection dropped before commit-ok")

    monkeypatch.setattr(FileLedger, "publish", commit_then_lose_the_answer)
    drop(watcher.directories, "undecided.csv", inspections_csv(120))
    with pytest.raises(LedgerUndecidedError):
        await watcher.scan()
    left = every_file(watcher.directories)
    monkeypatch.setattr(FileLedger, "publish", real_publish)
    resumed = FileDropWatcher(FEED, gateway, watcher.directories.root)
    with capture_logs() as logs:
        await resumed.start(None)
        try:
            receipt = await outcome(watcher.directories, "undecided.csv")
        finally:
            await resumed.stop(5)
    messages = await everything_in(amqp_channel, f"{namespace}.register.inbox")
    copies = Counter(int(m.headers["record_index"]) for m in messages)
    assert "undecided.csv" in left["processing"]
    [ledgered] = [e["ledgered"] for e in logs if e["event"] == "file.ledger_read"]
    assert BATCH <= ledgered <= 120  # the batches committed alongside it may be there too
    assert ("archive", 120) == (receipt["to"], receipt["accepted"])
    assert set(range(120)) == set(copies)
    assert {1} == set(copies.values())
