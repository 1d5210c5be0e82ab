"""Each format and encoding of a file feed reaches the routed queue as canonical messages, and
the file is archived with its receipt only once every record is confirmed."""

import orjson
from structlog.testing import capture_logs

from gateway.filedrop import record_message_id
from tests.gateway.filedrop.drops import (
    CSV_CP1251,
    FEED,
    drop,
    every_file,
    inspections_csv,
    outcome,
    routing,
)
from tests.support.amqp import depth, take, until
from tests.support.records import FIXTURES

UTF8_BOM = """\
system: agencies.drop
format: csv
encoding: utf-8
delimiter: ";"
read_lock: {done_marker: true}
poll: 50ms
"""
JSONL = """\
system: agencies.drop
format: jsonl
read_lock: {done_marker: true}
poll: 50ms
"""
XML = """\
system: agencies.drop
format: xml
record: inspection
read_lock: {done_marker: true}
poll: 50ms
"""
CANONICAL = {
    "inspection_number": "2026/XML/000001",
    "inspecting_agency": "sanepid.andijon",
    "subject_stir": "304567890",
    "kind": "unplanned",
    "status": "completed",
    "legal_basis": "Обращение гражданина от 02.06.2026",
    "start_date": "2026-06-09",
    "end_date": "2026-06-11",
    "violations_found": 5,
    "inspector": {"pinfl": "30811790345678", "last_name": "Тошматов", "first_name": "Бобур"},
}


def queue_of(namespace):
    return f"{namespace}.register.inbox"


def given(record, like):
    """``record`` cut down to the fields ``like`` gives (nested objects alike): the canonical
    record adds the optional fields as null."""
    return {
        key: given(record[key], value) if isinstance(value, dict) else record[key]
        for key, value in like.items()
    }


async def test_the_sample_cp1251_csv_is_published_and_archived_with_its_receipt(
    file_gateway, amqp_channel, namespace
):
    """The shipped Windows-1251 sample: its six rows reach the queue as inspection/1 records
    (Cyrillic intact), each with the message id the receipt lists; the file is archived."""
    _, dirs = await file_gateway(routing(CSV_CP1251))
    data = (FIXTURES / "files" / "inspections.csv").read_bytes()
    drop(dirs, "sample.csv", data)
    receipt = await outcome(dirs, "sample.csv")
    messages = await take(amqp_channel, queue_of(namespace), 6)
    records = [orjson.loads(m.body) for m in messages]
    assert ("archive", 6, 6, 0, 0) == (
        receipt["to"],
        receipt["records"],
        receipt["accepted"],
        receipt["duplicate"],
        receipt["rejected"],
    )
    assert receipt["message_ids"] == [m.message_id for m in messages]
    assert "2026/TSH/000123" == records[0]["inspection_number"]
    assert "Каримов" == records[0]["inspector"]["last_name"]
    assert "Приказ № 45 от 12.01.2026; план проверок на I квартал" == records[0]["legal_basis"]
    assert {"inspection/1"} == {m.headers["schema"] for m in messages}
    assert {("sample.csv", FEED)} == {(m.headers["file"], m.headers["feed"]) for m in messages}
    assert [str(i) for i in range(6)] == [m.headers["record_index"] for m in messages]
    assert {
        "inbox": [],
        "processing": [],
        "archive": ["sample.csv", "sample.csv.done", "sample.csv.receipt.json"],
        "failed": [],
    } == every_file(dirs)
    assert data == (dirs.archive / "sample.csv").read_bytes()


async def test_a_utf8_csv_with_a_byte_order_mark_is_read(file_gateway, amqp_channel, namespace):
    """UTF-8 with a BOM: the mark is not part of the first column's name; every row is
    published."""
    _, dirs = await file_gateway(routing(UTF8_BOM))
    drop(dirs, "bom.csv", b"\xef\xbb\xbf" + inspections_csv(3, encoding="utf-8"))
    receipt = await outcome(dirs, "bom.csv")
    messages = await take(amqp_channel, queue_of(namespace), 3)
    assert ("archive", 3) == (receipt["to"], receipt["accepted"])
    assert ["2026/TST/0000000", "2026/TST/0000001", "2026/TST/0000002"] == [
        orjson.loads(m.body)["inspection_number"] for m in messages
    ]


async def test_json_lines_are_read(file_gateway, amqp_channel, namespace):
    """JSON Lines, one native record per line, blank lines skipped."""
    _, dirs = await file_gateway(routing(JSONL, adapter="canonical.inspection"))
    second = {**CANONICAL, "inspection_number": "2026/XML/000002", "kind": "planned"}
    data = orjson.dumps(CANONICAL) + b"\n\n" + orjson.dumps(second) + b"\n"
    drop(dirs, "batch.jsonl", data)
    receipt = await outcome(dirs, "batch.jsonl")
    messages = await take(amqp_channel, queue_of(namespace), 2)
    assert ("archive", 2) == (receipt["to"], receipt["accepted"])
    assert [CANONICAL, second] == [given(orjson.loads(m.body), CANONICAL) for m in messages]


async def test_xml_records_are_read(file_gateway, amqp_channel, namespace):
    """XML: each <inspection> under the root is one record, nested elements nested fields."""
    _, dirs = await file_gateway(routing(XML, adapter="canonical.inspection"))
    data = """<?xml version="1.0" encoding="windows-1251"?>
<inspections>
  <inspection>
    <inspection_number>2026/XML/000001</inspection_number>
    <inspecting_agency>sanepid.andijon</inspecting_agency>
    <subject_stir>304567890</subject_stir>
    <kind>unplanned</kind>
    <status>completed</status>
    <legal_basis>Обращение гражданина от 02.06.2026</legal_basis>
    <start_date>2026-06-09</start_date>
    <end_date>2026-06-11</end_date>
    <violations_found>5</violations_found>
    <inspector>
      <pinfl>30811790345678</pinfl><last_name>Тошматов</last_name><first_name>Бобур</first_name>
    </inspector>
  </inspection>
</inspections>
""".encode("cp1251")
    drop(dirs, "batch.xml", data)
    receipt = await outcome(dirs, "batch.xml")
    [message] = await take(amqp_channel, queue_of(namespace), 1)
    assert ("archive", 1) == (receipt["to"], receipt["accepted"])
    assert CANONICAL == given(orjson.loads(message.body), CANONICAL)


async def test_a_file_is_archived_only_once_every_record_is_confirmed(
    file_gateway, amqp_channel, namespace
):
    """With its queue gone the broker returns every record: the file stays in processing/,
    tried again, with no receipt; once the queue is back every record is published and the
    file archived."""
    gateway, dirs = await file_gateway(routing(CSV_CP1251))
    queue = queue_of(namespace)
    await amqp_channel.queue_delete(queue)
    with capture_logs() as logs:
        drop(dirs, "held.csv", inspections_csv(5))
        await until(lambda: any(e["event"] == "file.publish_retry" for e in logs))
        held = every_file(dirs)
        await gateway.broker.adopt(gateway.broker.topology)  # the queue declared again
        receipt = await outcome(dirs, "held.csv")
    assert ["held.csv", "held.csv.done", "held.csv.journal", "held.csv.spool"] == held["processing"]
    assert [] == held["archive"]
    messages = await take(amqp_channel, queue, 5)
    assert ("archive", 5) == (receipt["to"], receipt["accepted"])
    assert receipt["message_ids"] == [m.message_id for m in messages]
    assert 0 == await depth(amqp_channel, queue)


async def test_a_file_dropped_again_is_counted_duplicate_with_the_first_ids(
    file_gateway, amqp_channel, namespace
):
    """The same bytes dropped twice: the second receipt counts every record a duplicate,
    naming the first file's message ids; nothing more is published."""
    _, dirs = await file_gateway(routing(CSV_CP1251))
    data = inspections_csv(3)
    drop(dirs, "once.csv", data)
    first = await outcome(dirs, "once.csv")
    drop(dirs, "again.csv", data)
    second = await outcome(dirs, "again.csv")
    await take(amqp_channel, queue_of(namespace), 3)
    assert (0, 3) == (second["accepted"], second["duplicate"])
    assert first["message_ids"] == [d["message_id"] for d in second["duplicates"]]
    assert [2, 3, 4] == [d["line"] for d in second["duplicates"]]
    assert record_message_id(f"feed:{FEED}", first["sha256"], 0) == first["message_ids"][0]
    assert 0 == await depth(amqp_channel, queue_of(namespace))
