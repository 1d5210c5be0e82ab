"""`gateway run` as a real process: serves, logs redacted JSON, stops cleanly on SIGTERM."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import orjson
import pytest

from gateway.broker import topology_for
from tests.support import keys
from tests.support.amqp import delete_topology
from tests.support.gateway import repository_table
from tests.support.records import FIXTURES, ROUTING_YAML

GATEWAY_RUN = [sys.executable, "-m", "gateway", "run"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return None, b""


@pytest.fixture
def running_gateway(amqp_url, namespace, tmp_path):
    """A `gateway run` subprocess on a free port; yields (base url, stdout path)."""
    port = _free_port()
    out = tmp_path / "stdout.log"
    env = {
        **os.environ,
        **keys.ENV,
        "GATEWAY_AMQP_URL": amqp_url,
        "GATEWAY_NAMESPACE": namespace,
        "GATEWAY_REDACTION_KEY": "test-redaction-key",
    }
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [*GATEWAY_RUN, "--routing", str(ROUTING_YAML), "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while _get(base + "/readyz")[0] != 200:
        assert process.poll() is None, out.read_text()
        assert time.monotonic() < deadline, "gateway run did not become ready"
        time.sleep(0.1)
    yield process, base, out
    if process.poll() is None:
        process.kill()
        process.wait()
    asyncio.run(delete_topology(amqp_url, topology_for(repository_table(), namespace)))


def test_run_serves_logs_redacted_json_and_stops_on_sigterm(running_gateway):
    """A push through the real process is accepted; logs are JSON without the PINFL; SIGTERM
    ends it with status 0."""
    process, base, out = running_gateway
    request = urllib.request.Request(
        base + "/v1/feeds/crime-reports",
        data=(FIXTURES / "records" / "mvd_crime_report.json").read_bytes(),
        headers={**keys.bearer(keys.MVD), "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        receipt = json.loads(response.read())
    process.send_signal(signal.SIGTERM)
    assert 0 == process.wait(30)
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines() if line.strip()]
    [access] = [line for line in lines if line["event"] == "access"]
    assert ([receipt["message_id"]], 202) == (access["message_ids"], access["status"])
    assert "gateway.stopped" == lines[-1]["event"]
    assert b"31205850123456" not in out.read_bytes()


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
