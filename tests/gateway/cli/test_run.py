"""`gateway run` as a real process: serves, logs redacted JSON, stops cleanly on SIGTERM."""

import os
import subprocess

import aiohttp

from tests.support import keys
from tests.support.process import GATEWAY_RUN
from tests.support.records import ROUTING_YAML, load


async def test_run_serves_logs_redacted_json_and_stops_on_sigterm(run_gateway):
    """A push through the real process is accepted; logs are JSON without the PINFL; SIGTERM
    ends it with status 0."""
    process = await run_gateway(ROUTING_YAML.read_text(encoding="utf-8"))
    async with aiohttp.ClientSession() as session:
        status, receipt = await process.push(
            session, "crime-reports", load("mvd_crime_report"), keys.MVD
        )
    process.signal()
    assert 0 == await process.wait(30)
    events = process.events()
    [access] = [e for e in events if e["event"] == "access"]
    assert (202, [receipt["message_id"]], 202) == (status, access["message_ids"], access["status"])
    assert "gateway.stopped" == events[-1]["event"]
    assert b"31205850123456" not in process.log.read_bytes()


def test_run_refuses_an_invalid_routing_table(tmp_path):
    """`gateway run` with a broken routing.yaml prints the problems and exits 2."""
    broken = tmp_path / "routing.yaml"
    broken.write_text("version: 1\nfeeds: {x: {}}\n")
    result = subprocess.run(
        [*GATEWAY_RUN, "--routing", str(broken)],
        capture_output=True,
        text=True,
        env={**os.environ, **keys.ENV},
        check=False,
        timeout=60,
    )
    assert 2 == result.returncode
    assert f"{broken}:2: feeds.x.from: required key is missing" in result.stderr
