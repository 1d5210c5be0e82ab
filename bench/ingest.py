"""Ingest throughput and latency: the gateway's full path beside its baselines, in one run.

    (a) raw ceiling  aio-pika alone publishing 1 KiB persistent messages with confirms
                     to a durable queue (several in-flight counts; the best is the ceiling)
    (b) naive        a minimal aiohttp handler: pydantic validation + one confirmed publish
    (c) gateway      `gateway run`: auth, native→canonical mapping, validation, routing,
                     confirmed publish, access log; single records and batches of 100

Every scenario publishes to one durable queue of the same type (quorum by default), on the
same RabbitMQ, driven by the same load generator (wrk if installed, else a Python client).
Usage: python bench/ingest.py [--seconds 10] [--connections 32] [--queue-type quorum]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters import ADAPTERS
from bench._load import (
    ROOT,
    Figures,
    free_port,
    load,
    load_generator,
    purge_and_delete,
    python,
    raw_ceiling,
    server,
)
from gateway.ingest import canonicalize
from schemas import REGISTRY

AMQP_URL = os.environ.get("GATEWAY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BENCH_KEY = "bench-sender-key-" + uuid.uuid4().hex
ROUTING = """\
version: 1
systems:
  bench.sender: {{title: Bench sender, api_keys: ["${{BENCH_KEY}}"]}}
feeds:
  crime-reports:
    from: [bench.sender]
    adapter: mvd.crime_report
    schema: crime_report/1
routes:
  - {{name: all, when: {{schema: crime_report/1}}, to: [bench.inbox]}}
destinations:
  bench.inbox: {{queue: {{type: {queue_type}}}}}
"""


def main() -> None:
    """Run every scenario and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--queue-type", choices=["quorum", "classic"], default="quorum")
    args = parser.parse_args()
    run_id = uuid.uuid4().hex[:8]
    native = json.loads((ROOT / "tests/fixtures/records/mvd_crime_report.json").read_text())
    canonical = canonicalize(ADAPTERS["mvd.crime_report"], REGISTRY["crime_report/1"], native)
    single = json.dumps(native, ensure_ascii=False).encode()
    batch = json.dumps([native] * 100, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {BENCH_KEY}"}
    c, seconds = args.connections, args.seconds
    print(
        f"bench/ingest.py: {seconds:g} s per scenario, {c} connections, "
        f"{args.queue_type} queues, load generator: {load_generator()}, {os.cpu_count()} CPUs"
    )

    raws = [
        asyncio.run(
            raw_ceiling(
                AMQP_URL,
                f"bench.{run_id}.raw{n}",
                args.queue_type,
                body_size=1024,
                inflight=n,
                seconds=seconds,
            )
        )
        for n in (1, c, 4 * c)
    ]
    for figures in raws:
        print(figures.row())
    ceiling = max(raws, key=lambda f: f.records_per_s)

    port = free_port()
    naive_queue = f"bench.{run_id}.naive"
    with server(
        [
            python(),
            "bench/naive_server.py",
            "--amqp-url",
            AMQP_URL,
            "--queue",
            naive_queue,
            "--queue-type",
            args.queue_type,
            "--port",
            str(port),
        ],
        port,
    ):
        url = f"http://127.0.0.1:{port}/ingest"
        body = json.dumps(canonical, ensure_ascii=False).encode()
        load("warm-up", url, body, headers, connections=c, seconds=2)
        naive = load(
            "(b) naive aiohttp+pydantic+confirm", url, body, headers, connections=c, seconds=seconds
        )
    asyncio.run(purge_and_delete(AMQP_URL, [naive_queue], []))
    print(naive.row())

    namespace = f"bench.{run_id}"
    with tempfile.TemporaryDirectory() as tmp:
        routing = Path(tmp) / "routing.yaml"
        routing.write_text(ROUTING.format(queue_type=args.queue_type))
        port = free_port()
        env = {
            "BENCH_KEY": BENCH_KEY,
            "GATEWAY_NAMESPACE": namespace,
            "GATEWAY_AMQP_URL": AMQP_URL,
        }
        cmd = [python(), "-m", "gateway", "run", "--routing", str(routing), "--port", str(port)]
        with server(cmd, port, env):
            url = f"http://127.0.0.1:{port}/v1/feeds/crime-reports"
            load("warm-up", url, single, headers, connections=c, seconds=2)
            gw_single = load(
                "(c) gateway, single records", url, single, headers, connections=c, seconds=seconds
            )
            gw_batch = load(
                "(c) gateway, batches of 100",
                url,
                batch,
                headers,
                connections=max(1, c // 4),
                seconds=seconds,
                records_per_request=100,
            )
    asyncio.run(
        purge_and_delete(
            AMQP_URL,
            [f"{namespace}.bench.inbox", f"{namespace}.bench.inbox.dlq", f"{namespace}.unrouted"],
            [f"{namespace}.ingress", f"{namespace}.bench.inbox.dlx"],
        )
    )
    print(gw_single.row())
    print(gw_batch.row())
    _verdicts(ceiling, naive, gw_single, gw_batch)


def _verdicts(ceiling: Figures, naive: Figures, single: Figures, batch: Figures) -> None:
    def ratio(label: str, value: float, base: float, target: float) -> None:
        r = value / base if base else float("nan")
        verdict = "meets" if r >= target else "MISSES"
        print(f"  {label:<44} {r:5.2f}  (target ≥ {target:.1f}: {verdict})")

    print(f"ratios (ceiling = {ceiling.name}):")
    ratio("single records / naive baseline (b)", single.records_per_s, naive.records_per_s, 0.9)
    ratio("single records / raw ceiling (a)", single.records_per_s, ceiling.records_per_s, 0.6)
    ratio("batches of 100 / raw ceiling (a)", batch.records_per_s, ceiling.records_per_s, 0.8)
    if any(f.errors for f in (naive, single, batch)):
        print("  some requests failed: the figures above are not valid")


if __name__ == "__main__":
    main()
