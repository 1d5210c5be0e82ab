"""Record requests: the latency the gateway adds to a ministry's service, in one run.

    direct    the bench calls the fake population registry itself, with the same provider
              adapter the gateway uses (zeep's async client), C requests in flight
    gateway   the bench asks `gateway run` for person.by-pinfl (HTTP → RabbitMQ → provider
              worker → the same fake registry → back), C requests in flight

Both at full load (C concurrent callers, closed loop: latency is mostly queueing behind the
slowest stage) and at a paced load (open loop, --rate requests/s, at most C in flight), which
shows the latency a request meets when the machine is not saturated. The fake ministries run in a
process of their own (python -m tests.support.ministries), like a ministry would.

The gateway runs twice: with the audit log off (the request-reply path itself, which the target
is about) and on (SQLite in a temporary directory: every answer waits until its audit record is
on the disk, one group commit and one fsync), so the cost of evidence-grade logging shows beside it.
Target: the gateway adds at most 3 ms at p50 and 10 ms at p99.
Usage: python bench/request_reply.py [--seconds 10] [--concurrency 100] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import orjson

from adapters.providers import PROVIDERS
from bench._load import free_port, percentiles, purge_and_delete, python, server
from gateway.routing import ProviderSpec
from schemas import PersonByPinfl

AMQP_URL = os.environ.get("GATEWAY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BENCH_KEY = "bench-asker-key-" + uuid.uuid4().hex
PINFL = "31205850123456"
ROUTING = """\
version: 1
systems:
  bench.asker: {{title: Bench asker, api_keys: ["${{BENCH_KEY}}"]}}
services:
  person.by-pinfl:
    provider: {{adapter: mvd.person_lookup, wsdl: "{wsdl}", timeout: 10s}}
    allow: [bench.asker]
    require: [user_id, issue]
    timeout: 30s
    prefetch: 200
"""


@dataclass
class Figures:
    """Latency and throughput of one scenario."""

    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int

    def row(self) -> str:
        """One aligned line of the report."""
        return (
            f"{self.name:<40} {self.requests_per_s:>8.0f} req/s   p50 {self.p50_ms:>7.2f} ms"
            f"   p99 {self.p99_ms:>7.2f} ms" + (f"   ERRORS {self.errors}" if self.errors else "")
        )


async def drive(
    name: str,
    call: Callable[[], Awaitable[bool]],
    *,
    concurrency: int,
    seconds: float,
    rate: float | None = None,
) -> Figures:
    """Closed loop: ``concurrency`` callers, each calling again as soon as answered, for
    ``seconds``. Open loop (``rate``): one call started every 1/rate s, whatever the answers
    do, at most ``concurrency`` in flight."""
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        t0 = time.perf_counter()
        ok = await call()
        latencies.append(time.perf_counter() - t0)
        errors += 0 if ok else 1

    started = time.perf_counter()
    deadline = started + seconds
    if rate is None:

        async def caller() -> None:
            while time.perf_counter() < deadline:
                await one()

        await asyncio.gather(*(caller() for _ in range(concurrency)))
    else:
        slots = asyncio.Semaphore(concurrency)
        tasks = []

        async def limited() -> None:
            async with slots:
                await one()

        n = 0
        while (due := started + n / rate) < deadline:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(limited()))
            n += 1
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return Figures(name, len(latencies) / elapsed, *percentiles(latencies), errors)


async def measure(
    args: argparse.Namespace, wsdl: str, gateway_url: str | None, label: str
) -> list[Figures]:
    """Every scenario at full and at paced load: direct calls to the ministry when
    ``gateway_url`` is None, else through the gateway (named ``label``)."""
    client = PROVIDERS["mvd.person_lookup"].connect(
        ProviderSpec(adapter="mvd.person_lookup", wsdl=wsdl, timeout=10)
    )
    query = PersonByPinfl(pinfl=PINFL)
    headers = {
        "Authorization": f"Bearer {BENCH_KEY}",
        "Content-Type": "application/json",
        "X-User-Id": "bench",
        "X-Issue": "1-1-2026",
    }
    body = orjson.dumps({"pinfl": PINFL})
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def direct() -> bool:
            answer = await client.call(query)
            return answer["pinfl"] == PINFL

        async def through_gateway() -> bool:
            assert gateway_url is not None
            async with session.post(gateway_url, data=body, headers=headers) as response:
                await response.read()
                return response.status == 200

        call = direct if gateway_url is None else through_gateway
        try:
            await client.prepare()
            c, seconds, rate = args.concurrency, args.seconds, args.rate
            await drive("warm-up", call, concurrency=c, seconds=2)
            full = await drive(f"{label}, {c} in flight", call, concurrency=c, seconds=seconds)
            paced = await drive(
                f"{label}, {rate:.0f} req/s paced", call, concurrency=c, seconds=seconds, rate=rate
            )
        finally:
            await client.aclose()
    return [full, paced]


def main() -> None:
    """Run the scenarios and print the figures and the latency the gateway adds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50, help="requests/s of the paced load")
    args = parser.parse_args()
    print(
        f"bench/request_reply.py: {args.seconds:g} s per scenario, {args.concurrency} "
        f"concurrent callers, {os.cpu_count()} CPUs"
    )
    fakes_port = free_port()
    wsdl = f"http://127.0.0.1:{fakes_port}/population?wsdl"
    fakes = [python(), "-m", "tests.support.ministries", "--port", str(fakes_port)]
    with tempfile.TemporaryDirectory() as tmp, server(fakes, fakes_port, ready_path="/_fakes"):
        direct = asyncio.run(measure(args, wsdl, None, "direct"))
        runs = {
            "audit off": _through_gateway(args, wsdl, Path(tmp), "none"),
            "audit on": _through_gateway(
                args, wsdl, Path(tmp), f"sqlite:///{Path(tmp) / 'audit.sqlite3'}"
            ),
        }
    for figures in (*direct, *(f for run in runs.values() for f in run)):
        print(figures.row())
    print("latency the gateway adds (gateway - direct; target +3 ms p50, +10 ms p99):")
    for run, through in runs.items():
        for load, d, g in zip(("full load", "paced load"), direct, through, strict=True):
            p50, p99 = g.p50_ms - d.p50_ms, g.p99_ms - d.p99_ms
            verdict = "meets" if p50 <= 3 and p99 <= 10 else "MISSES"
            print(f"  {run:<10} {load:<11} p50 {p50:+7.2f} ms, p99 {p99:+7.2f} ms  ({verdict})")


def _through_gateway(
    args: argparse.Namespace, wsdl: str, tmp: Path, audit_url: str
) -> list[Figures]:
    """The scenarios through a `gateway run` whose audit log is ``audit_url``; its stores
    live in ``tmp``, its queues are deleted afterwards."""
    namespace = f"bench.{uuid.uuid4().hex[:8]}"
    port = free_port()
    routing = tmp / "routing.yaml"
    routing.write_text(ROUTING.format(wsdl=wsdl))
    env = {
        "BENCH_KEY": BENCH_KEY,
        "GATEWAY_NAMESPACE": namespace,
        "GATEWAY_AMQP_URL": AMQP_URL,
        "GATEWAY_AUDIT_URL": audit_url,
        "GATEWAY_AUDIT_KEY": "bench-audit-key",
        "GATEWAY_DEDUP_SQLITE_PATH": str(tmp / "dedup.sqlite3"),
        "GATEWAY_DROP_ROOT": str(tmp / "drop"),
    }
    cmd = [python(), "-m", "gateway", "run", "--routing", str(routing), "--port", str(port)]
    label = f"gateway, {'audit off' if audit_url == 'none' else 'audit on'}"
    try:
        with server(cmd, port, env):
            url = f"http://127.0.0.1:{port}/v1/services/person.by-pinfl"
            return asyncio.run(measure(args, wsdl, url, label))
    finally:
        asyncio.run(
            purge_and_delete(
                AMQP_URL,
                [f"{namespace}.service.person.by-pinfl", f"{namespace}.unrouted"],
                [f"{namespace}.ingress"],
            )
        )


if __name__ == "__main__":
    main()
