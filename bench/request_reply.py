"""Record requests: the latency the gateway adds to a ministry's service, in one run.

    direct    the bench calls the fake population registry itself, with the same provider
              adapter the gateway uses (zeep's async client), C requests in flight
    gateway   the bench asks `gateway run` for person.by-pinfl (HTTP → RabbitMQ → provider
              worker → the same fake registry → back), C requests in flight

Both at full load (C concurrent callers, closed loop: latency is mostly queueing behind the
slowest stage) and at a paced load (open loop, --rate requests/s, at most C in flight), which
shows the latency a request meets when the machine is not saturated. The fake ministries run in a
process of their own (python -m tests.support.ministries), like a ministry would.
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


async def measure(args: argparse.Namespace, wsdl: str, gateway_url: str) -> list[Figures]:
    """Every scenario, direct and through the gateway, at full and at paced load."""
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
            async with session.post(gateway_url, data=body, headers=headers) as response:
                await response.read()
                return response.status == 200

        try:
            await client.prepare()
            c, seconds = args.concurrency, args.seconds
            await drive("warm-up", direct, concurrency=c, seconds=2)
            await drive("warm-up", through_gateway, concurrency=c, seconds=2)
            full_direct = await drive(
                f"direct, {c} in flight", direct, concurrency=c, seconds=seconds
            )
            full_gateway = await drive(
                f"gateway, {c} in flight", through_gateway, concurrency=c, seconds=seconds
            )
            rate = args.rate
            paced_direct = await drive(
                f"direct, {rate:.0f} req/s paced", direct, concurrency=c, seconds=seconds, rate=rate
            )
            paced_gateway = await drive(
                f"gateway, {rate:.0f} req/s paced",
                through_gateway,
                concurrency=c,
                seconds=seconds,
                rate=rate,
            )
        finally:
            await client.aclose()
    return [full_direct, full_gateway, paced_direct, paced_gateway]


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
    namespace = f"bench.{uuid.uuid4().hex[:8]}"
    fakes_port, gateway_port = free_port(), free_port()
    wsdl = f"http://127.0.0.1:{fakes_port}/population?wsdl"
    with tempfile.TemporaryDirectory() as tmp:
        routing = Path(tmp) / "routing.yaml"
        routing.write_text(ROUTING.format(wsdl=wsdl))
        env = {"BENCH_KEY": BENCH_KEY, "GATEWAY_NAMESPACE": namespace, "GATEWAY_AMQP_URL": AMQP_URL}
        gateway = [python(), "-m", "gateway", "run", "--routing", str(routing)]
        fakes = [python(), "-m", "tests.support.ministries", "--port", str(fakes_port)]
        try:
            with (
                server(fakes, fakes_port, ready_path="/_fakes"),
                server([*gateway, "--port", str(gateway_port)], gateway_port, env),
            ):
                url = f"http://127.0.0.1:{gateway_port}/v1/services/person.by-pinfl"
                results = asyncio.run(measure(args, wsdl, url))
        finally:
            asyncio.run(
                purge_and_delete(
                    AMQP_URL,
                    [f"{namespace}.service.person.by-pinfl", f"{namespace}.unrouted"],
                    [f"{namespace}.ingress"],
                )
            )
    for figures in results:
        print(figures.row())
    full_direct, full_gateway, paced_direct, paced_gateway = results
    print("latency the gateway adds (gateway - direct):")
    for label, direct, through in (
        ("at full load", full_direct, full_gateway),
        ("at paced load", paced_direct, paced_gateway),
    ):
        p50 = through.p50_ms - direct.p50_ms
        p99 = through.p99_ms - direct.p99_ms
        verdict = "meets" if p50 <= 3 and p99 <= 10 else "MISSES"
        print(
            f"  {label:<16} p50 +{p50:6.2f} ms, p99 +{p99:6.2f} ms  (target +3 / +10 ms: {verdict})"
        )


if __name__ == "__main__":
    main()
