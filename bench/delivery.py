"""End-to-end delivery throughput with deduplication off, on SQLite and on Redis, in one run.

Each scenario runs `gateway run` with one feed routed to one destination that delivers by
HTTP POST to a receiving system (bench/receiver.py, a process of its own). A load generator
(wrk if installed, else a Python client) pushes distinct crime reports for --seconds; the
figure is records delivered per second from the first push to the last delivery. Every
accepted record must reach the receiver exactly once, or the run says so.

    off     no dedup: the baseline
    sqlite  dedup at ingest (by report number) and at delivery (by message id), SQLite file
    redis   the same on Redis, as several gateway instances would share it

Target: deduplication costs at most 20 % of the baseline's throughput.
The scenarios alternate for --rounds rounds, each going first in turn, and the best round of
each counts, so that neither a moment of noise on the machine nor the order decides.
Usage: python bench/delivery.py [--seconds 10] [--connections 16] [--rounds 2] [--queue-type quorum]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bench._load import (
    ROOT,
    cpu_seconds,
    free_port,
    load,
    load_generator,
    purge_and_delete,
    python,
    server,
)

AMQP_URL = os.environ.get("GATEWAY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("GATEWAY_REDIS_URL", "redis://127.0.0.1:6379/0")
BENCH_KEY = "bench-sender-key-" + uuid.uuid4().hex
PLACEHOLDER = b"__REPORT_NUMBER__"
ROUTING = """\
version: 1
systems:
  bench.sender: {{title: Bench sender, api_keys: ["${{BENCH_KEY}}"]}}
feeds:
  crime-reports:
    from: [bench.sender]
    adapter: mvd.crime_report
    schema: crime_report/1
{feed_dedup}routes:
  - {{name: all, to: [bench.receiver]}}
destinations:
  bench.receiver:
    queue: {{type: {queue_type}}}
    deliver: {{http: {{url: "{url}", timeout: 10s}}}}
    prefetch: 64
{destination_dedup}"""
FEED_DEDUP = "    dedup: {key: payload.report_number, window: 1d}\n"
DESTINATION_DEDUP = "    dedup: {key: message_id, window: 1d}\n"


@dataclass
class Result:
    """One scenario's figures."""

    name: str
    pushed_per_s: float
    delivered_per_s: float
    accepted: int  # answered 202 while the load generator counted (more were in flight)
    delivered: int
    distinct: int
    drain_s: float  # from the end of the load to the last delivery
    errors: int
    cpu_us: float  # the gateway process's CPU per delivered record

    def row(self) -> str:
        """One aligned line of the report."""
        problems = []
        if self.delivered < self.accepted:
            problems.append(f"LOST {self.accepted - self.delivered} of {self.accepted} accepted")
        if self.distinct != self.delivered:
            problems.append(f"DELIVERED TWICE {self.delivered - self.distinct}")
        if self.errors:
            problems.append(f"ERRORS {self.errors}")
        return (
            f"{self.name:<34} pushed {self.pushed_per_s:>7.0f} rec/s   "
            f"delivered {self.delivered_per_s:>7.0f} rec/s   {self.delivered:>6} records, "
            f"drained {self.drain_s:4.1f} s, gateway CPU {self.cpu_us:5.0f} µs/record"
            + (f"  {'; '.join(problems)}" if problems else "")
        )


def _stats(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
        stats: dict[str, float] = json.loads(response.read())
    return stats


def _reset(port: int) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/reset", method="POST")
    with urllib.request.urlopen(request, timeout=5):
        pass


def _wait_delivered(port: int, count: int, timeout: float = 300) -> dict[str, float]:
    """The receiver's stats once it has ``count`` deliveries and no more arrive for a second
    (a load generator stops with some requests in flight: the gateway accepts those too)."""
    deadline = time.monotonic() + timeout
    stats, quiet_since = _stats(port), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        latest = _stats(port)
        if latest["count"] != stats["count"]:
            stats, quiet_since = latest, time.monotonic()
        elif stats["count"] >= count and time.monotonic() - quiet_since >= 1.0:
            break
    return stats


def scenario(
    mode: str, args: argparse.Namespace, template: bytes, namespace: str, tmp: Path
) -> Result:
    """Run the gateway with ``mode``'s dedup, push for args.seconds, wait for every delivery."""
    receiver_port, gateway_port = free_port(), free_port()
    url = f"http://127.0.0.1:{receiver_port}/inbox"
    dedup = mode != "off"
    routing = tmp / f"routing-{mode}.yaml"
    routing.write_text(
        ROUTING.format(
            queue_type=args.queue_type,
            url=url,
            feed_dedup=FEED_DEDUP if dedup else "",
            destination_dedup=DESTINATION_DEDUP if dedup else "",
        )
    )
    env = {
        "BENCH_KEY": BENCH_KEY,
        "GATEWAY_NAMESPACE": namespace,
        "GATEWAY_AMQP_URL": AMQP_URL,
        "GATEWAY_DEDUP_BACKEND": "redis" if mode == "redis" else "sqlite",
        "GATEWAY_DEDUP_SQLITE_PATH": str(tmp / f"dedup-{namespace}.sqlite3"),
        "GATEWAY_REDIS_URL": REDIS_URL,
        "GATEWAY_REDIS_PREFIX": namespace,
    }
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {BENCH_KEY}"}
    push_url = f"http://127.0.0.1:{gateway_port}/v1/feeds/crime-reports"
    gateway = [python(), "-m", "gateway", "run", "--routing", str(routing)]
    with (
        server([python(), "bench/receiver.py", "--port", str(receiver_port)], receiver_port),
        server([*gateway, "--port", str(gateway_port)], gateway_port, env) as process,
    ):
        warm = load(
            "warm-up",
            push_url,
            template,
            headers,
            connections=args.connections,
            seconds=2,
            unique=(PLACEHOLDER, f"W-{namespace}-"),
        )
        _wait_delivered(receiver_port, warm.requests - warm.errors)
        _reset(receiver_port)
        cpu_before = cpu_seconds(process.pid)
        started = time.time()
        figures = load(
            f"{mode}",
            push_url,
            template,
            headers,
            connections=args.connections,
            seconds=args.seconds,
            unique=(PLACEHOLDER, f"B-{namespace}-"),
        )
        load_ended = time.time()
        accepted = figures.requests - figures.errors
        stats = _wait_delivered(receiver_port, accepted)
        cpu = cpu_seconds(process.pid) - cpu_before
    names = {
        "off": "dedup off (baseline)",
        "sqlite": "dedup on SQLite",
        "redis": "dedup on Redis",
    }
    elapsed = max(stats["last_at"], load_ended) - started
    return Result(
        names[mode],
        figures.requests_per_s,
        stats["count"] / elapsed if elapsed > 0 else 0.0,
        accepted,
        int(stats["count"]),
        int(stats["distinct"]),
        max(0.0, stats["last_at"] - load_ended),
        figures.errors,
        cpu / stats["count"] * 1e6 if stats["count"] else float("nan"),
    )


def _clean(ns: str, mode: str) -> None:
    work = f"{ns}.bench.receiver"
    queues = [work, f"{work}.dlq", f"{ns}.unrouted"]
    queues += [f"{work}.retry.{n}" for n in range(4)]
    asyncio.run(purge_and_delete(AMQP_URL, queues, [f"{ns}.ingress", f"{ns}.bench.receiver.dlx"]))
    if mode == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{ns}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def main() -> None:
    """Run the three scenarios and print their figures and the cost of deduplication."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--queue-type", choices=["quorum", "classic"], default="quorum")
    parser.add_argument("--rounds", type=int, default=2, help="the best round of each counts")
    args = parser.parse_args()
    native = json.loads((ROOT / "tests/fixtures/records/mvd_crime_report.json").read_text())
    native["xabar_raqami"] = PLACEHOLDER.decode()
    template = json.dumps(native, ensure_ascii=False).encode()
    namespace = f"bench.{uuid.uuid4().hex[:8]}"
    print(
        f"bench/delivery.py: {args.seconds:g} s per scenario, {args.connections} connections, "
        f"{args.queue_type} queues, load generator: {load_generator()}, {os.cpu_count()} CPUs"
    )
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory() as tmp:
        modes = ["off", "sqlite", "redis"]
        for round_ in range(1, args.rounds + 1):
            shift = (round_ - 1) % len(modes)  # each mode goes first in turn
            for mode in modes[shift:] + modes[:shift]:
                time.sleep(3)  # let RabbitMQ settle after the previous scenario's queues
                name = f"{mode}-{round_}"
                try:
                    result = scenario(mode, args, template, f"{namespace}.{name}", Path(tmp))
                finally:
                    _clean(f"{namespace}.{name}", mode)
                print(f"round {round_}: {result.row()}", flush=True)
                best = results.get(mode)
                if best is None or result.delivered_per_s > best.delivered_per_s:
                    results[mode] = result
    print(f"best of {args.rounds} round(s):")
    for result in results.values():
        print(f"  {result.row()}")
    base = results["off"]
    print("cost of deduplication: throughput (1 - scenario / baseline), and gateway CPU per record")
    for mode in ("sqlite", "redis"):
        result = results[mode]
        cost = 1 - result.delivered_per_s / base.delivered_per_s
        cpu = result.cpu_us / base.cpu_us - 1
        verdict = "meets" if cost <= 0.20 else "MISSES"
        print(
            f"  {result.name:<32} throughput {cost:6.1%} (target ≤ 20 %: {verdict}), "
            f"CPU per record +{cpu:.1%}"
        )


if __name__ == "__main__":
    main()
