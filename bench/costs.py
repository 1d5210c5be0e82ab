"""Where a record's CPU goes, and what the throughput targets leave for it on this machine.

Part 1 times each stage of the gateway's per-record path alone, in this process (the best of
several repetitions, CPU time per record): parsing, the ministry's mapping, canonical
validation, serialising, the envelope and routing, the AMQP frames of one publish, the access
log event, and a CSV row of the file feed.

Part 2 runs the raw publish ceiling of bench/ingest.py (aio-pika, 1 KiB persistent messages,
confirms) and measures the CPU it costs per message on both sides: this client, and RabbitMQ's
own process (beam.smp); then the same messages, as many in flight, through the gateway's
outbox (gateway/broker/outbox.py: one write per turn of the event loop). From those it prints,
for each throughput target, the CPU a record may cost the gateway at the target rate, beside
the least the gateway's path costs: the stages a record cannot skip plus the client's share of
one confirmed publish through the outbox.
Usage: python bench/costs.py [--seconds 10] [--queue-type quorum]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aio_pika
import aiormq
import orjson
import structlog

from adapters import ADAPTERS
from adapters.files.csv_reader import CsvReader
from bench._load import ROOT, Figures, cpu_seconds, percentiles, raw_ceiling
from gateway.broker.broker import APP_ID
from gateway.broker.frames import PublishFrames
from gateway.broker.outbox import Outbox
from gateway.broker.properties import record_properties
from gateway.ingest import IngestPipeline, IngestRequest
from gateway.log import configure_logging
from gateway.metrics import Metrics
from gateway.routing import compile_routing_table
from schemas import REGISTRY

AMQP_URL = os.environ.get("GATEWAY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ROUTING = """\
version: 1
systems:
  bench.sender: {title: Bench sender}
feeds:
  crime-reports:
    from: [bench.sender]
    adapter: mvd.crime_report
    schema: crime_report/1
routes:
  - {name: all, when: {schema: crime_report/1}, to: [bench.inbox]}
destinations:
  bench.inbox: {queue: {type: quorum}}
"""
#: the throughput targets of the issues, as fractions of the raw ceiling
TARGETS = (
    ("REST single records (≥ 0.6 × ceiling)", 0.6),
    ("file drop (≥ 0.7 × ceiling)", 0.7),
    ("REST batches of 100 (≥ 0.8 × ceiling)", 0.8),
)


def per_record_us(work: Callable[[], Any], *, n: int = 2000, repeat: int = 5) -> float:
    """CPU microseconds one call of ``work`` costs: the best of ``repeat`` runs of ``n``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(n):
            work()
        best = min(best, (time.process_time() - started) / n)
    return best * 1e6


def stages() -> dict[str, float]:
    """Part 1: each stage of the path alone, µs of CPU per record."""
    table = compile_routing_table(ROUTING, "costs.yaml", schemas=REGISTRY, adapters=ADAPTERS)
    feed = table.feeds["crime-reports"]
    adapter, model = ADAPTERS[feed.adapter], REGISTRY[feed.schema_id]
    raw = (ROOT / "tests/fixtures/records/mvd_crime_report.json").read_bytes()
    native = orjson.loads(raw)
    mapped = adapter.to_canonical(native)
    record = model.model_validate(mapped)
    payload = record.model_dump(mode="json")
    body = orjson.dumps(payload)
    pipeline = IngestPipeline(None, ADAPTERS, REGISTRY, Metrics())  # type: ignore[arg-type]
    request = IngestRequest("crime-reports", "bench.sender", str(uuid.uuid4()), [native])
    received = datetime.now(UTC)

    def envelope() -> Any:
        return pipeline.envelope(
            table, feed, request, 0, payload, str(uuid.uuid4()), received, dedup_key=None
        )

    message = envelope()

    def amqp_frames() -> None:
        properties = record_properties(
            message_id=message.envelope.message_id,
            correlation_id=message.envelope.correlation_id,
            schema_id=feed.schema_id,
            timestamp=received,
            headers=message.headers,
            app_id=APP_ID,
        )
        frames = PublishFrames(1, 131_064)
        frames.add("x.ingress", "bench.inbox", properties.marshal(), body, mandatory=True)
        frames.payload()

    stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 (closed below)
    try:
        configure_logging()
        access_log = structlog.get_logger("gateway.access")
        event = {
            "kind": "feed",
            "method": "POST",
            "path": "/v1/feeds/crime-reports",
            "client": "bench.sender",
            "feed": "crime-reports",
            "schema": feed.schema_id,
            "message_ids": [message.envelope.message_id],
            "record_count": 1,
            "outcome": "ok",
            "status": 202,
            "bytes_in": len(raw),
            "bytes_out": 180,
            "latency_ms": 3.2,
            "correlation_id": request.correlation_id,
        }
        log_us = per_record_us(lambda: access_log.info("access", **event))
    finally:
        sys.stdout.close()
        sys.stdout = stdout

    inspections = _csv_rows(2000)
    reader = CsvReader(encoding="cp1251", delimiter=";")
    file_adapter = ADAPTERS["registry.inspection_csv"]
    file_model = REGISTRY["inspection/1"]
    rows = list(reader.records(io.BytesIO(inspections)))

    def csv_read() -> None:
        for _ in reader.records(io.BytesIO(inspections)):
            pass

    csv_us = per_record_us(csv_read, n=1, repeat=5) / len(rows)
    row = rows[0].native

    return {
        "JSON parse (orjson)": per_record_us(lambda: orjson.loads(raw)),
        "mapping (Interior ministry → canonical)": per_record_us(
            lambda: adapter.to_canonical(native)
        ),
        "validation (pydantic, crime_report/1)": per_record_us(
            lambda: model.model_validate(mapped)
        ),
        "canonical dump (model_dump json mode)": per_record_us(
            lambda: record.model_dump(mode="json")
        ),
        "serialise (orjson)": per_record_us(lambda: orjson.dumps(payload)),
        "envelope and routing": per_record_us(envelope),
        "AMQP frames of one publish": per_record_us(amqp_frames),
        "access log event (structlog, redaction, JSON)": log_us,
        "CSV row read (cp1251, file feed)": csv_us,
        "file row mapping + validation (inspection/1)": per_record_us(
            lambda: file_model.model_validate(file_adapter.to_canonical(row))
        ),
    }


def _csv_rows(rows: int) -> bytes:
    """``rows`` rows of bench/filedrop.py's file (cp1251, CRLF), header first."""
    from bench.filedrop import HEADER, KINDS, ROW

    lines = [HEADER]
    for n in range(rows):
        lines.append(
            ROW.format(n=n, stir=f"{300000000 + n % 1000:09d}", kind=KINDS[n % 3], v=n % 4)
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def rabbitmq_pid() -> int | None:
    """RabbitMQ's Erlang VM (beam.smp), if it runs on this machine."""
    out = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True).stdout
    pids = [int(p) for p in out.split()]
    return pids[0] if pids else None


def ceiling_costs(seconds: float, queue_type: str) -> tuple[float, float, float]:
    """Part 2: the raw ceiling (msg/s) and the CPU µs per message of the client and of RabbitMQ."""
    beam = rabbitmq_pid()
    beam_before = cpu_seconds(beam) if beam else 0.0
    client_before = time.process_time()
    figures = asyncio.run(
        raw_ceiling(
            AMQP_URL,
            f"bench.costs.{uuid.uuid4().hex[:8]}",
            queue_type,
            body_size=1024,
            inflight=128,
            seconds=seconds,
        )
    )
    messages = figures.records_per_s * seconds
    client_us = (time.process_time() - client_before) / messages * 1e6
    broker_us = (cpu_seconds(beam) - beam_before) / messages * 1e6 if beam else float("nan")
    print(figures.row())
    return figures.records_per_s, client_us, broker_us


async def _through_outbox(queue: str, queue_type: str, inflight: int, seconds: float) -> Figures:
    """What raw_ceiling does, each publish through the gateway's outbox."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": queue_type})
        underlay = await channel.get_underlay_channel()
        assert isinstance(underlay, aiormq.Channel)
        outbox = Outbox()
        body = os.urandom(512).hex().encode()
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def publisher() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                message_id = str(uuid.uuid4())
                properties = aiormq.spec.Basic.Properties(delivery_mode=2, message_id=message_id)
                await outbox.publish(
                    underlay,
                    exchange="",
                    routing_key=queue,
                    message_id=message_id,
                    properties=properties.marshal(),
                    body=body,
                )
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(publisher() for _ in range(inflight)))
        elapsed = time.perf_counter() - started
        await channel.queue_delete(queue)
    rate = len(latencies) / elapsed
    return Figures(f"outbox, {inflight} in flight", rate, rate, *percentiles(latencies))


def outbox_costs(seconds: float, queue_type: str) -> tuple[float, float]:
    """Part 2, the gateway's way: msg/s and the client's CPU µs per message."""
    before = time.process_time()
    figures = asyncio.run(
        _through_outbox(f"bench.costs.{uuid.uuid4().hex[:8]}", queue_type, 128, seconds)
    )
    client_us = (time.process_time() - before) / (figures.records_per_s * seconds) * 1e6
    print(figures.row())
    return figures.records_per_s, client_us


def main() -> None:
    """Print both parts and the verdict of each target's budget."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--queue-type", choices=["quorum", "classic"], default="quorum")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"bench/costs.py: {cores} CPUs, {args.queue_type} queues")
    costs = stages()
    print("part 1: CPU per record of each stage alone (best of 5)")
    for name, us in costs.items():
        print(f"  {name:<48} {us:8.1f} µs")
    ceiling, client_us, broker_us = ceiling_costs(args.seconds, args.queue_type)
    print(
        f"part 2: one confirmed publish costs the client {client_us:.1f} µs and RabbitMQ "
        f"{broker_us:.1f} µs of CPU"
    )
    outbox_rate, outbox_us = outbox_costs(args.seconds, args.queue_type)
    print(
        f"        through the outbox: {outbox_rate:.0f} msg/s, the client {outbox_us:.1f} µs "
        "per message"
    )
    rest = sum(
        costs[k]
        for k in (
            "JSON parse (orjson)",
            "mapping (Interior ministry → canonical)",
            "validation (pydantic, crime_report/1)",
            "canonical dump (model_dump json mode)",
            "serialise (orjson)",
            "envelope and routing",
        )
    )
    file_path = (
        costs["CSV row read (cp1251, file feed)"]
        + costs["file row mapping + validation (inspection/1)"]
        + costs["serialise (orjson)"]
        + costs["envelope and routing"]
    )
    floors = {
        "REST single records (≥ 0.6 × ceiling)": rest
        + costs["access log event (structlog, redaction, JSON)"],
        "file drop (≥ 0.7 × ceiling)": file_path,
        "REST batches of 100 (≥ 0.8 × ceiling)": rest,
    }
    print(
        "budgets: at the target rate, the CPU left per record for the gateway (what the "
        "cores give, less RabbitMQ's share, at most one core for one process) beside the "
        "least its path costs (the stages above a record cannot skip, plus the client's "
        "share of a publish through the outbox; HTTP itself not counted)"
    )
    for name, fraction in TARGETS:
        rate = fraction * ceiling
        left = min(1e6, cores * 1e6 - broker_us * rate) / rate
        floor = floors[name] + outbox_us
        verdict = "fits" if floor <= left else "does not fit"
        print(
            f"  {name:<40} {rate:7.0f} rec/s: budget {left:6.1f} µs, "
            f"floor {floor:6.1f} µs ({verdict})"
        )


if __name__ == "__main__":
    main()
