"""Shared bench machinery: a load generator (wrk, else Python), servers in subprocesses,
and the raw aio-pika publish ceiling."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import aiohttp

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figures:
    """Throughput and latency of one scenario."""

    name: str
    requests_per_s: float
    records_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    requests: int = 0  # requests answered in all

    def row(self) -> str:
        """One aligned line of the report."""
        latency = (
            ""  # a scenario without requests to time (a whole file) has no latency to show
            if math.isnan(self.p50_ms)
            else f"  p50 {self.p50_ms:>7.2f} ms  p99 {self.p99_ms:>7.2f} ms"
        )
        return (
            f"{self.name:<46} {self.records_per_s:>10.0f} rec/s {self.requests_per_s:>9.0f} req/s"
            + latency
            + (f"  ERRORS {self.errors}" if self.errors else "")
        )


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(
    args: list[str],
    port: int,
    env: Mapping[str, str] | None = None,
    *,
    ready_path: str = "/readyz",
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server subprocess until ``ready_path`` answers 200, yield it; stop it afterwards."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(
        args, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited: {log.read().decode()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    pass
                if _ready(port, ready_path):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready in 30 s")
            time.sleep(0.1)
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _ready(port: int, path: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as response:
            return bool(response.status == 200)
    except Exception:
        return False


def load(
    name: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    connections: int,
    seconds: float,
    records_per_request: int = 1,
    unique: tuple[bytes, str] | None = None,
) -> Figures:
    """Drive ``url`` with POSTs of ``body`` from ``connections`` connections for ``seconds``.

    With ``unique=(placeholder, prefix)`` every request's body has ``placeholder`` replaced by
    ``prefix`` and a running number, so that no two requests carry the same record.
    """
    if shutil.which("wrk"):
        return _wrk(name, url, body, headers, connections, seconds, records_per_request, unique)
    return asyncio.run(
        _python_load(name, url, body, headers, connections, seconds, records_per_request, unique)
    )


def load_generator() -> str:
    """Which load generator ``load`` uses."""
    return "wrk" if shutil.which("wrk") else "python (aiohttp client)"


def _wrk(
    name: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    connections: int,
    seconds: float,
    per_request: int,
    unique: tuple[bytes, str] | None = None,
) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        script = Path(tmp) / "post.lua"
        lines = [
            'wrk.method = "POST"',
            f'local f = io.open("{body_file}", "rb"); wrk.body = f:read("*all"); f:close()',
        ]
        lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
        if unique is not None:  # one thread (-t1), so one counter numbers every request
            placeholder, prefix = unique
            lines += [
                "local n = 0",
                "request = function()",
                "  n = n + 1",
                f'  local body = string.gsub(wrk.body, "{placeholder.decode()}", '
                f'string.format("{prefix}%09d", n))',
                "  return wrk.format(nil, nil, nil, body)",
                "end",
            ]
        script.write_text("\n".join(lines) + "\n")
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-s",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*", out)
    return Figures(
        name,
        rps,
        rps * per_request,
        _wrk_ms(out, "50%"),
        _wrk_ms(out, "99%"),
        (int(errors.group(1)) if errors else 0) + (1 if socket_errors else 0),
        total,
    )


def _wrk_ms(out: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


async def _python_load(
    name: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    connections: int,
    seconds: float,
    per_request: int,
    unique: tuple[bytes, str] | None = None,
) -> Figures:
    latencies: list[float] = []
    errors = 0
    numbers = itertools.count(1)
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                data = body
                if unique is not None:
                    placeholder, prefix = unique
                    data = body.replace(placeholder, f"{prefix}{next(numbers):09d}".encode())
                started = time.perf_counter()
                async with session.post(url, data=data, headers=dict(headers)) as response:
                    await response.read()
                    if response.status != 202:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    rps = len(latencies) / elapsed
    return Figures(name, rps, rps * per_request, *_percentiles(latencies), errors, len(latencies))


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p99 of ``latencies`` (seconds) in milliseconds."""
    return _percentiles(latencies)


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    if len(latencies) < 2:
        return float("nan"), float("nan")
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


async def raw_ceiling(
    url: str, queue: str, queue_type: str, *, body_size: int, inflight: int, seconds: float
) -> Figures:
    """aio-pika alone: persistent messages with publisher confirms, ``inflight`` at a time."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": queue_type})
        body = os.urandom(body_size // 2).hex().encode()
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def publisher() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await channel.default_exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=queue,
                    mandatory=True,
                )
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(publisher() for _ in range(inflight)))
        elapsed = time.perf_counter() - started
        await channel.queue_delete(queue)
    rate = len(latencies) / elapsed
    return Figures(f"(a) raw aio-pika, {inflight} in flight", rate, rate, *_percentiles(latencies))


async def purge_and_delete(url: str, queues: list[str], exchanges: list[str]) -> None:
    """Remove what a scenario declared."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
        for exchange in exchanges:
            await channel.exchange_delete(exchange)


def python() -> str:
    """The interpreter running the bench (the project's venv under make)."""
    return sys.executable


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
