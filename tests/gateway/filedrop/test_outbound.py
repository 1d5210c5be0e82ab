"""An outbound file destination, end to end: a dropped file's records go through the real
RabbitMQ to a delivery worker writing batches into a directory, and a reader polling that
directory the whole time only ever sees complete files."""

import asyncio
from pathlib import Path

import orjson
import pytest
from lxml import etree

from adapters.outbound import deliverer_for
from tests.gateway.filedrop.drops import CSV_CP1251, drop, inspections_csv, outcome, routing

RECORDS = 600
BATCH = 16


def delivering(out: Path, file_format: str) -> str:
    """The file feed routed to ``register.files``, delivered as ``file_format`` batches."""
    text = routing(
        CSV_CP1251,
        extra=f"""\
  register.files:
    queue: {{type: quorum}}
    prefetch: {BATCH}
    deliver:
      file: {{dir: "{out}", format: {file_format}, batch_size: {BATCH}, batch_seconds: 50ms}}
""",
    )
    return text.replace("to: [register.inbox]", "to: [register.files]")


def records_in(data: bytes, file_format: str) -> list[str]:
    """The inspection numbers of a whole batch file; AssertionError (or a parse error) for a
    file seen incomplete."""
    if file_format == "jsonl":
        assert data.endswith(b"\n")
        return [orjson.loads(line)["record"]["inspection_number"] for line in data.splitlines()]
    root = etree.fromstring(data)
    numbers = [r.findtext("inspection_number") for r in root.iter("record")]
    assert int(root.get("count")) == len(numbers)
    return numbers


async def read_while_written(out: Path, file_format: str) -> dict[str, bytes]:
    """Poll ``out`` as a receiving system does (hidden names skipped), reading every file it
    lists, until the files hold RECORDS records; each file as first read. A file seen
    incomplete, or changed after it was seen, fails the test."""
    seen: dict[str, bytes] = {}
    total = 0
    async with asyncio.timeout(60):
        while total < RECORDS:
            names = await asyncio.to_thread(
                lambda: sorted(p.name for p in out.iterdir()) if out.exists() else []
            )
            for name in names:
                if name.startswith("."):
                    continue
                data = await asyncio.to_thread((out / name).read_bytes)
                if name in seen:
                    assert seen[name] == data, f"{name} changed after it was seen"
                    continue
                seen[name] = data
                total += len(records_in(data, file_format))
            await asyncio.sleep(0)
    return seen


@pytest.mark.parametrize("file_format", ["jsonl", "xml"])
async def test_a_reader_polling_the_destination_only_ever_sees_complete_files(
    file_gateway, tmp_path, file_format
):
    """Every file the reader lists is whole when read and never changes after; together
    they hold each record once, at most BATCH per file."""
    out = tmp_path / "register-out"
    _, dirs = await file_gateway(delivering(out, file_format), deliverers=deliverer_for)
    drop(dirs, "many.csv", inspections_csv(RECORDS))
    seen = await read_while_written(out, file_format)
    receipt = await outcome(dirs, "many.csv")
    numbers = [n for data in seen.values() for n in records_in(data, file_format)]
    assert ("archive", RECORDS) == (receipt["to"], receipt["accepted"])
    assert sorted(f"2026/TST/{n:07d}" for n in range(RECORDS)) == sorted(numbers)
    assert max(len(records_in(data, file_format)) for data in seen.values()) <= BATCH
    assert all(name.endswith(f".{file_format}") for name in seen)
