"""Read locks: a file is taken only once complete (its done marker, or unchanged for the
configured time); temporary and hidden names are never taken. The watcher's scans are driven
one by one, on a gateway connected to the real RabbitMQ."""

import asyncio

import orjson

from tests.gateway.filedrop.drops import (
    CSV_CP1251,
    csv_rows,
    drop,
    every_file,
    inspections_csv,
    outcome,
    routing,
)
from tests.support.amqp import depth, take

CHANGED = """\
system: agencies.drop
format: csv
encoding: cp1251
delimiter: ";"
read_lock: {changed_for: 100ms}
"""


async def scan_until_taken(watcher, timeout: float = 15) -> int:
    """Scan until a file is taken (a deadline against hanging); how many scans it took."""
    scans = 0
    async with asyncio.timeout(timeout):
        while True:
            scans += 1
            if await watcher.scan():
                return scans
            await asyncio.sleep(0.02)


async def test_a_file_without_its_done_marker_is_not_taken(bare_gateway, amqp_channel, namespace):
    """Complete but unmarked, the file stays in the inbox scan after scan; its marker
    written, the next scan takes it."""
    _, watcher = await bare_gateway(routing(CSV_CP1251))
    dirs = watcher.directories
    drop(dirs, "marked.csv", inspections_csv(4), marker=False)
    taken = [await watcher.scan() for _ in range(3)]
    before = every_file(dirs)
    (dirs.inbox / "marked.csv.done").write_bytes(b"")
    taken_with_marker = await watcher.scan()
    receipt = await outcome(dirs, "marked.csv")
    assert [False, False, False] == taken
    assert ["marked.csv"] == before["inbox"]
    assert (True, "archive", 4) == (taken_with_marker, receipt["to"], receipt["accepted"])
    assert 4 == await depth(amqp_channel, f"{namespace}.register.inbox")


async def test_a_file_still_being_written_is_taken_only_once_it_stops_changing(
    bare_gateway, amqp_channel, namespace
):
    """changed_for: a file written in pieces, a row cut in the middle, is not taken by a scan
    after any piece; once it stops changing it is taken whole: every row published."""
    _, watcher = await bare_gateway(routing(CHANGED))
    dirs = watcher.directories
    data = inspections_csv(40)
    pieces = [data[i : i + 997] for i in range(0, len(data), 997)]
    path = dirs.inbox / "growing.csv"
    taken = []
    with path.open("wb") as sender:
        for piece in pieces:
            sender.write(piece)
            sender.flush()
            taken.append(await watcher.scan())  # it grew since the last scan: not taken
    await scan_until_taken(watcher)
    receipt = await outcome(dirs, "growing.csv")
    messages = await take(amqp_channel, f"{namespace}.register.inbox", 40)
    assert len(pieces) > 3
    assert not any(taken)
    assert ("archive", 40, 0) == (receipt["to"], receipt["accepted"], receipt["rejected"])
    assert data == (dirs.archive / "growing.csv").read_bytes()
    assert 40 == len(messages)


async def test_temporary_and_hidden_files_are_never_taken(bare_gateway, amqp_channel, namespace):
    """``*.tmp`` and ``.name`` files, complete and even marked done, stay in the inbox as
    they are while a regular file dropped after them is taken."""
    _, watcher = await bare_gateway(routing(CHANGED))
    dirs = watcher.directories
    for name in ("upload.csv.tmp", ".hidden.csv", ".~lock.report.csv#"):
        (dirs.inbox / name).write_bytes(inspections_csv(2))
        (dirs.inbox / f"{name}.done").write_bytes(b"")
    drop(dirs, "real.csv", inspections_csv(list(csv_rows(2, start=100))), marker=False)
    await scan_until_taken(watcher)
    receipt = await outcome(dirs, "real.csv")
    for _ in range(3):
        assert not await watcher.scan()
    messages = await take(amqp_channel, f"{namespace}.register.inbox", 2)
    assert ("archive", 2) == (receipt["to"], receipt["accepted"])
    assert {
        "inbox": [
            ".hidden.csv",
            ".hidden.csv.done",
            ".~lock.report.csv#",
            ".~lock.report.csv#.done",
            "upload.csv.tmp",
            "upload.csv.tmp.done",
        ],
        "processing": [],
        "archive": ["real.csv", "real.csv.receipt.json"],
        "failed": [],
    } == every_file(dirs)
    assert ["2026/TST/0000100", "2026/TST/0000101"] == [
        orjson.loads(m.body)["inspection_number"] for m in messages
    ]
