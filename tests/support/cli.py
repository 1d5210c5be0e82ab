"""Running the ``gateway`` command as a real process from async tests (the CLI runs its own
event loop, so it cannot run inside the test's)."""

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from tests.support import keys


@dataclass(frozen=True)
class Finished:
    """How a ``gateway`` process ended."""

    status: int
    out: str
    err: str


def command_env(amqp_url: str, namespace: str, **extra: str) -> dict[str, str]:
    """The environment of a ``gateway`` command against this test's broker and namespace
    (``extra`` variables override any of it)."""
    env = {**os.environ, **keys.ENV}
    env.pop("GATEWAY_ROUTING", None)
    env.update(GATEWAY_AMQP_URL=amqp_url, GATEWAY_NAMESPACE=namespace)
    env.update(extra)
    return env


async def gateway(
    *args: str, env: Mapping[str, str], stdin: str = "", timeout: float = 60
) -> Finished:
    """Run ``python -m gateway ARGS`` with ``stdin`` as its input; wait for it to end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        *args,
        env=dict(env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await process.communicate(stdin.encode())
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())
