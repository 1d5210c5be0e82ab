"""File drop throughput and memory: a big CSV file from the drop to its receipt.

In one run, on the same RabbitMQ and queue type:
  (a) the raw publish ceiling: aio-pika alone publishing 1 KiB persistent messages with
      confirms, 1, 32, 128 and 512 in flight; the best is the ceiling;
  (b) `gateway run` with one file feed (the Register of Inspections' cp1251 CSV adapter,
      reject_file, batches of 500) routed to one queue: a generated CSV of --rows rows
      (about 200 bytes each: 1,000,000 rows is about 200 MB, written streamed into a
      temporary directory) is dropped into its inbox with its done marker; the figure is
      records per second from the marker to the receipt in archive/, and the gateway
      process's peak RSS (VmHWM in /proc/<pid>/status) and CPU time per record.
The run checks that the queue then holds exactly --rows messages and that the receipt
counts every record as accepted. Targets: (b) ≥ 0.7 × (a), peak RSS < 250 MB.

Usage: python bench/filedrop.py [--rows 1000000] [--seconds 10] [--queue-type quorum]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aio_pika

from bench._load import (
    Figures,
    cpu_seconds,
    free_port,
    purge_and_delete,
    python,
    raw_ceiling,
    server,
)

AMQP_URL = os.environ.get("GATEWAY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
HEADER = (
    "Номер проверки;Код органа;ИНН субъекта;Вид проверки;Статус;Основание;Дата начала;"
    "Дата окончания;Выявлено нарушений;ПИНФЛ инспектора;Фамилия инспектора;Имя инспектора;"
    "Отчество инспектора"
)
ROW = (
    "2026/BEN/{n:07d};soliq.toshkent-sh;{stir};{kind};завершена;"
    '"Приказ № 45 от 12.01.2026; план проверок на I квартал";15.01.2026;22.01.2026;{v};'
    "31205850123456;Каримов;Анвар;Алиевич"
)
KINDS = ("плановая", "внеплановая", "встречная")
ROUTING = """\
version: 1
systems:
  bench.agencies: {{title: Bench inspecting agencies}}
feeds:
  bench-inspections:
    from: [bench.agencies]
    channel: file
    adapter: registry.inspection_csv
    schema: inspection/1
    file:
      system: bench.agencies
      format: csv
      encoding: cp1251
      delimiter: ";"
      read_lock: {{done_marker: true}}
      on_bad_record: reject_file
      batch: {batch}
      poll: 100ms
routes:
  - {{name: all, to: [bench.inspections]}}
destinations:
  bench.inspections:
    queue: {{type: {queue_type}}}
"""
FEED = "bench-inspections"


def generate(path: Path, rows: int) -> int:
    """Write the CSV (cp1251, CRLF) streamed; its size in bytes."""
    with path.open("wb", buffering=1024 * 1024) as out:
        out.write((HEADER + "\r\n").encode("cp1251"))
        chunk: list[str] = []
        for n in range(rows):
            stir = f"{300000000 + n % 99999999:09d}"
            chunk.append(ROW.format(n=n, stir=stir, kind=KINDS[n % 3], v=n % 7))
            if len(chunk) == 10_000:
                out.write(("\r\n".join(chunk) + "\r\n").encode("cp1251"))
                chunk = []
        if chunk:
            out.write(("\r\n".join(chunk) + "\r\n").encode("cp1251"))
    return path.stat().st_size


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size of process ``pid`` so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def queue_depth(queue: str) -> int:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="per raw ceiling scenario")
    parser.add_argument("--queue-type", default="quorum", choices=["quorum", "classic"])
    parser.add_argument("--batch", type=int, default=500, help="the feed's batch")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after (s)")
    args = parser.parse_args()
    run_id = uuid.uuid4().hex[:8]

    print(f"file drop bench: {args.rows} rows, queue type {args.queue_type}, {os.cpu_count()} CPUs")
    raws = [
        asyncio.run(
            raw_ceiling(
                AMQP_URL,
                f"bench.{run_id}.raw{n}",
                args.queue_type,
                body_size=1024,
                inflight=n,
                seconds=args.seconds,
            )
        )
        for n in (1, 32, 128, 512)
    ]
    for figures in raws:
        print(figures.row())
    ceiling = max(raws, key=lambda f: f.records_per_s)

    namespace = f"bench.{run_id}"
    queue = f"{namespace}.bench.inspections"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        routing = root / "routing.yaml"
        routing.write_text(ROUTING.format(queue_type=args.queue_type, batch=args.batch))
        drop = root / "drop"
        port = free_port()
        env = {
            "GATEWAY_NAMESPACE": namespace,
            "GATEWAY_AMQP_URL": AMQP_URL,
            "GATEWAY_DROP_ROOT": str(drop),
            "GATEWAY_DEDUP_SQLITE_PATH": str(root / "dedup.sqlite3"),
            "GATEWAY_LOG_LEVEL": "warning",
        }
        cmd = [python(), "-m", "gateway", "run", "--routing", str(routing), "--port", str(port)]
        try:
            with server(cmd, port, env) as process:
                inbox = drop / FEED / "inbox"
                staged = inbox / "inspections.csv.tmp"  # a temporary name: never taken
                started = time.perf_counter()
                size = generate(staged, args.rows)
                print(f"generated {size / 1e6:.0f} MB in {time.perf_counter() - started:.1f} s")
                staged.rename(inbox / "inspections.csv")
                cpu_before = cpu_seconds(process.pid)
                dropped = time.perf_counter()
                (inbox / "inspections.csv.done").touch()
                receipt_path = drop / FEED / "archive" / "inspections.csv.receipt.json"
                failed = drop / FEED / "failed"
                deadline = dropped + args.timeout
                while not receipt_path.exists():
                    if any(failed.iterdir()) or time.perf_counter() > deadline:
                        raise SystemExit(f"the file was not archived: {list(failed.iterdir())}")
                    time.sleep(0.05)
                elapsed = time.perf_counter() - dropped
                cpu = cpu_seconds(process.pid) - cpu_before
                rss = peak_rss_mb(process.pid)
                receipt = json.loads(receipt_path.read_bytes())
                depth = asyncio.run(queue_depth(queue))
        finally:
            asyncio.run(
                purge_and_delete(
                    AMQP_URL,
                    [queue, f"{queue}.dlq", f"{namespace}.unrouted"],
                    [f"{namespace}.ingress", f"{queue}.dlx"],
                )
            )
    rate = args.rows / elapsed
    print(Figures("(b) gateway, file drop → receipt", rate, rate, float("nan"), float("nan")).row())
    print(
        f"  {args.rows} records in {elapsed:.1f} s; gateway CPU {cpu:.1f} s "
        f"({cpu / args.rows * 1e6:.0f} µs per record); peak RSS {rss:.0f} MB"
    )
    exact = receipt["accepted"] == args.rows and depth == args.rows
    print(
        f"  receipt: {receipt['accepted']} accepted, {receipt['duplicate']} duplicate, "
        f"{receipt['rejected']} rejected; queue holds {depth}"
        + ("" if exact else "  MISMATCH: the figures above are not valid")
    )
    ratio = rate / ceiling.records_per_s
    print(f"ratios (ceiling = {ceiling.name}, {ceiling.records_per_s:.0f} msg/s):")
    print(
        f"  file drop / raw ceiling                      {ratio:5.2f}  "
        f"(target ≥ 0.7: {'meets' if ratio >= 0.7 else 'MISSES'})"
    )
    print(
        f"  peak RSS of the gateway                      {rss:5.0f} MB "
        f"(target < 250 MB: {'meets' if rss < 250 else 'MISSES'})"
    )


if __name__ == "__main__":
    main()
