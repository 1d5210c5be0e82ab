"""rabbitmqctl on this machine, for the tests that take RabbitMQ down or raise its alarms.

They act on the RabbitMQ every test uses, so they refuse to run unless that one is on loopback
(the local node that rabbitmqctl controls), and they always put it back as they found it.
"""

import asyncio
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlparse

import pytest

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def check_local(amqp_url: str) -> None:
    """Fail with one clear line unless ``amqp_url`` is the node rabbitmqctl here controls."""
    host = urlparse(amqp_url).hostname or ""
    if host not in _LOOPBACK:
        pytest.fail(
            f"this test stops or alarms the local RabbitMQ; the tests use {host}, not loopback",
            pytrace=False,
        )
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("this test needs rabbitmqctl on PATH to control the local RabbitMQ")


async def rabbitmqctl(*args: str, timeout: float = 120) -> str:
    """Run ``rabbitmqctl ARGS``; its output, or AssertionError with it."""
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    async with asyncio.timeout(timeout):
        out, _ = await process.communicate()
    text = out.decode(errors="replace")
    if process.returncode != 0:
        raise AssertionError(f"rabbitmqctl {' '.join(args)} failed: {text}")
    return text


@asynccontextmanager
async def broker_stopped() -> AsyncIterator[None]:
    """RabbitMQ stopped (``stop_app``) inside the block, started again after it, whatever
    happens inside."""
    await rabbitmqctl("stop_app")
    try:
        yield
    finally:
        await rabbitmqctl("start_app")
        await rabbitmqctl("await_startup")


@asynccontextmanager
async def memory_alarm() -> AsyncIterator[None]:
    """RabbitMQ's memory alarm raised inside the block (every publisher blocked), and the
    original high watermark restored after it."""
    current = await rabbitmqctl(
        "eval", "vm_memory_monitor:get_vm_memory_high_watermark().", "--quiet"
    )
    absolute = re.search(r"\{absolute,\s*(\d+)\}", current)
    restore = ["absolute", absolute.group(1)] if absolute else [current.strip().splitlines()[-1]]
    await rabbitmqctl("set_vm_memory_high_watermark", "0")
    try:
        yield
    finally:
        await rabbitmqctl("set_vm_memory_high_watermark", *restore)
