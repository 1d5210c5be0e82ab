"""`gateway run` as a real process on a free loopback port, for tests that need one."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from tests.support import keys

GATEWAY_RUN = [sys.executable, "-m", "gateway", "run"]


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GatewayProcess:
    """One ``gateway run`` subprocess; its stdout and stderr go to ``log``."""

    def __init__(self, routing: Path, log: Path, env: Mapping[str, str]) -> None:
        self.routing = routing
        self.log = log
        self.env = {**os.environ, **keys.ENV, "GATEWAY_REDACTION_KEY": "test-redaction-key", **env}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 30) -> None:
        """Start it and wait until /readyz answers 200."""
        with self.log.open("ab") as sink:
            self.process = await asyncio.create_subprocess_exec(
                *GATEWAY_RUN,
                "--routing",
                str(self.routing),
                "--port",
                str(self.port),
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        async with asyncio.timeout(timeout), aiohttp.ClientSession() as session:
            while True:
                if self.process.returncode is not None:
                    raise AssertionError(f"gateway run exited:\n{self.log.read_text()}")
                try:
                    async with session.get(self.base + "/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        """Send ``signum`` (SIGTERM by default)."""
        assert self.process is not None
        self.process.send_signal(signum)

    async def wait(self, timeout: float = 60) -> int:
        """Wait for the process to end; its exit status."""
        assert self.process is not None
        async with asyncio.timeout(timeout):
            return await self.process.wait()

    async def kill(self) -> None:
        """SIGKILL it if it still runs, and reap it."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    def events(self) -> list[dict[str, Any]]:
        """Every JSON log line it wrote so far."""
        lines = self.log.read_bytes().splitlines()
        return [orjson.loads(line) for line in lines if line.startswith(b"{")]

    async def push(
        self, session: aiohttp.ClientSession, feed: str, record: Any, key: str
    ) -> tuple[int, Any]:
        """POST ``record`` to ``feed`` with ``key``; (status, parsed body)."""
        async with session.post(
            f"{self.base}/v1/feeds/{feed}", json=record, headers=keys.bearer(key)
        ) as response:
            return response.status, await response.json()
