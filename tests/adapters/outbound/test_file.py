"""FileDeliverer: batches of records in files that are whole when seen, answered only once
their file is durable."""

import asyncio

import orjson
import pytest
from lxml import etree

from adapters.outbound import Delivery, FileDeliverer, deliverer_for
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.routing.spec import DeliverySpec
from tests.support.amqp import until

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


@pytest.fixture
async def make_deliverer(tmp_path):
    """``make_deliverer(**options)``: a FileDeliverer writing into tmp_path/out, closed after
    the test."""
    made = []

    def make(**options):
        deliverer = FileDeliverer(tmp_path / "out", **options)
        made.append(deliverer)
        return deliverer

    yield make
    for deliverer in made:
        await deliverer.aclose()


def delivery(n, record=None):
    """Message ``n`` as the delivery worker hands it over."""
    body = {"inspection_number": f"A-{n}", "violations_found": n} if record is None else record
    return Delivery(
        body=orjson.dumps(body),
        message_id=f"msg-{n}",
        correlation_id="corr-1",
        schema_id="inspection/1",
        envelope={"client": "agencies.x", "feed": "inspections", "payload_sha256": "ab"},
        attempt=1,
    )


def files(directory):
    """The visible (not hidden) files of ``directory``, sorted; none while it does not exist."""
    if not directory.exists():
        return []
    return sorted(p for p in directory.iterdir() if not p.name.startswith("."))


async def test_a_full_batch_is_one_file_of_json_lines(make_deliverer, tmp_path):
    """batch_size deliveries make one file, one line per record with its envelope."""
    deliverer = make_deliverer(batch_size=3, batch_seconds=60)
    await asyncio.gather(*(deliverer.deliver(delivery(n)) for n in range(3)))
    [path] = files(tmp_path / "out")
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert {
        "message_id": "msg-0",
        "correlation_id": "corr-1",
        "schema": "inspection/1",
        "client": "agencies.x",
        "feed": "inspections",
        "record": {"inspection_number": "A-0", "violations_found": 0},
    } == lines[0]
    assert ([".jsonl"], 3) == ([path.suffix], len(lines))


async def test_a_delivery_is_answered_only_once_its_file_is_written(make_deliverer, tmp_path):
    """Until its batch is full, no delivery returns and no file exists."""
    deliverer = make_deliverer(batch_size=3, batch_seconds=60)
    waiting = [asyncio.create_task(deliverer.deliver(delivery(n))) for n in range(2)]
    await asyncio.sleep(0.05)
    assert ([False, False], []) == ([t.done() for t in waiting], files(tmp_path / "out"))
    await deliverer.deliver(delivery(2))
    await asyncio.gather(*waiting)
    assert 1 == len(files(tmp_path / "out"))


async def test_a_batch_that_does_not_fill_is_written_after_batch_seconds(make_deliverer, tmp_path):
    """One record alone is written once batch_seconds have passed since it came."""
    deliverer = make_deliverer(batch_size=100, batch_seconds=0.05)
    await deliverer.deliver(delivery(1))
    [path] = files(tmp_path / "out")
    assert 1 == len(path.read_bytes().splitlines())


async def test_records_beyond_a_batch_go_into_the_next_file(make_deliverer, tmp_path):
    """Five records in batches of two: three files, every record once, in order of names."""
    deliverer = make_deliverer(batch_size=2, batch_seconds=0.05)
    await asyncio.gather(*(deliverer.deliver(delivery(n)) for n in range(5)))
    written = [
        orjson.loads(line)["message_id"]
        for path in files(tmp_path / "out")
        for line in path.read_bytes().splitlines()
    ]
    assert (3, [f"msg-{n}" for n in range(5)]) == (
        len(files(tmp_path / "out")),
        sorted(written),
    )


async def test_no_temporary_file_is_left_behind(make_deliverer, tmp_path):
    """After a write only the finished file is in the directory."""
    deliverer = make_deliverer(batch_size=1)
    await deliverer.deliver(delivery(1))
    assert 1 == len(list((tmp_path / "out").iterdir()))


async def test_xml_batches_hold_the_fields_as_elements(make_deliverer, tmp_path):
    """XML: <records count> of <record> with the envelope as attributes; lists repeat their
    element, nested objects nest, null is xsi:nil."""
    deliverer = make_deliverer(format="xml", batch_size=1)
    record = {"n": "A-1", "tags": ["x", "y"], "inspector": {"last_name": "Karimov"}, "end": None}
    await deliverer.deliver(delivery(1, record))
    [path] = files(tmp_path / "out")
    root = etree.fromstring(path.read_bytes())
    element = root.find("record")
    assert (
        "1",
        "msg-1",
        "inspection/1",
        ["x", "y"],
        "Karimov",
        "true",
    ) == (
        root.get("count"),
        element.get("message_id"),
        element.get("schema"),
        [t.text for t in element.findall("tags")],
        element.findtext("inspector/last_name"),
        element.find("end").get(XSI_NIL),
    )


async def test_a_write_that_fails_fails_every_record_of_the_batch(make_deliverer, tmp_path):
    """A directory that cannot be made: each delivery of the batch gets a transient error."""
    (tmp_path / "out").write_text("a file where the directory should be")
    deliverer = make_deliverer(batch_size=2)
    results = await asyncio.gather(
        *(deliverer.deliver(delivery(n)) for n in range(2)), return_exceptions=True
    )
    assert [TransientDeliveryError, TransientDeliveryError] == [type(r) for r in results]


async def test_a_cancelled_delivery_is_not_written(make_deliverer, tmp_path):
    """A delivery cancelled while its batch is open leaves it; the others are written."""
    deliverer = make_deliverer(batch_size=2, batch_seconds=60)
    cancelled = asyncio.create_task(deliverer.deliver(delivery(1)))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    await asyncio.gather(deliverer.deliver(delivery(2)), deliverer.deliver(delivery(3)))
    [path] = files(tmp_path / "out")
    assert ["msg-2", "msg-3"] == [
        orjson.loads(line)["message_id"] for line in path.read_bytes().splitlines()
    ]


async def test_a_body_that_is_not_a_json_object_is_permanent(make_deliverer):
    """Nothing to write a record from: refused for good."""
    deliverer = make_deliverer()
    bad = Delivery(b"[1, 2]", "msg-1", None, None, {}, 1)
    with pytest.raises(PermanentDeliveryError):
        await deliverer.deliver(bad)


async def test_aclose_writes_what_is_still_open(tmp_path):
    """Closing writes the open batch, and its deliveries are answered."""
    deliverer = FileDeliverer(tmp_path / "out", batch_size=10, batch_seconds=60)
    waiting = asyncio.create_task(deliverer.deliver(delivery(1)))
    await until(lambda: deliverer._open is not None)
    await deliverer.aclose()
    await waiting
    assert 1 == len(files(tmp_path / "out"))


def test_the_factory_builds_a_file_deliverer(tmp_path):
    """deliver: {file: ...} gives a FileDeliverer."""
    spec = DeliverySpec.model_validate({"file": {"dir": str(tmp_path), "format": "xml"}})
    assert isinstance(deliverer_for(spec), FileDeliverer)
