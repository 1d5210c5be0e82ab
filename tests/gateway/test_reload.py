"""Live reload of routing.yaml: POST /admin/reload, SIGHUP, the file watch; a bad edit changes
nothing, a removed destination keeps its queue, the diff is logged."""

import asyncio
import signal
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from structlog.testing import capture_logs

from adapters import ADAPTERS
from adapters.outbound import deliverer_for
from adapters.providers import PROVIDERS
from gateway.broker import topology_for
from gateway.routing import compile_routing_table
from schemas import REGISTRY
from tests.support import keys
from tests.support.amqp import delete_topology, depth, until
from tests.support.delivery import delivery_routing
from tests.support.receiver import FakeReceiver
from tests.support.records import ROUTING_YAML, load

ADMIN_KEY = "test-admin-key-0123456789"
ADMIN = keys.bearer(ADMIN_KEY)

ARCHIVE_ROUTE = """\
  - name: crime-reports-archive
    when: {schema: crime_report/1}
    to: [archive.crime-reports]
"""
ARCHIVE_DESTINATION = """\
  archive.crime-reports:
    queue: {type: classic}
"""

SMALL = """\
version: 1
systems:
  mvd.crime-registry: {title: Interior, api_keys: ["${MVD_CRIME_REGISTRY_KEY}"]}
feeds:
  crime-reports:
    from: [mvd.crime-registry]
    adapter: mvd.crime_report
    schema: crime_report/1
routes:
  - {name: to-etergov, to: [etergov.crime-reports]}
  - {name: to-supervision, to: [raqamli-prokuror.supervision]}
destinations:
  etergov.crime-reports: {queue: {type: quorum}}
  raqamli-prokuror.supervision: {queue: {type: classic}}
"""


def with_archive(text: str) -> str:
    """``text`` (the repository's routing.yaml) with one more route and destination."""
    lines = text.splitlines(keepends=True)
    out = []
    for line in lines:
        out.append(line)
        if line.startswith("routes:"):
            out.append(ARCHIVE_ROUTE)
        elif line.startswith("destinations:"):
            out.append(ARCHIVE_DESTINATION)
    return "".join(out)


def table_at(path: Path):
    """The table in ``path``, compiled as the gateway compiles it."""
    return compile_routing_table(
        path.read_text(encoding="utf-8"),
        str(path),
        schemas=REGISTRY,
        adapters=ADAPTERS,
        providers=PROVIDERS,
        env=keys.ENV,
    )


@pytest.fixture
def routing_file(tmp_path: Path) -> Path:
    """A copy of the repository's routing.yaml that the test may edit."""
    path = tmp_path / "routing.yaml"
    path.write_text(ROUTING_YAML.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture
def admin_settings(settings):
    """The test's settings with an admin key, and no file watch (reloads are asked for)."""
    return settings.model_copy(update={"admin_key": ADMIN_KEY, "reload_interval": 0})


def report(number: str) -> dict:
    record = load("mvd_crime_report")
    record["xabar_raqami"] = number
    return record


async def test_valid_edit_takes_effect_under_load_with_no_failed_request(
    start_gateway, admin_settings, routing_file, amqp_channel
):
    """Four pushers run through a reload that adds a route and a destination: every push is
    accepted; every push after the reload answered takes the new route; the new queue holds
    exactly the records whose receipts name the new destination."""
    gateway, client = await start_gateway(admin_settings, table_at(routing_file))
    statuses: Counter[int] = Counter()
    receipts: list[tuple[bool, dict]] = []  # (sent after the reload answered, receipt)
    reloaded = asyncio.Event()
    stop = asyncio.Event()

    async def pusher(lane: int) -> None:
        for n in range(100_000):
            if stop.is_set():
                return
            after = reloaded.is_set()
            response = await client.post(
                "/v1/feeds/crime-reports",
                json=report(f"IIV-2026-L{lane}{n:05d}"),
                headers=keys.bearer(keys.MVD),
            )
            statuses[response.status] += 1
            receipts.append((after, await response.json()))

    pushers = [asyncio.create_task(pusher(lane)) for lane in range(4)]
    try:
        await until(lambda: len(receipts) >= 40)
        routing_file.write_text(with_archive(routing_file.read_text()), encoding="utf-8")
        response = await client.post("/admin/reload", headers=ADMIN)
        body = await response.json()
        reloaded.set()
        pushed = len(receipts)
        await until(lambda: len(receipts) >= pushed + 40)
    finally:
        stop.set()
        await asyncio.gather(*pushers)

    assert 200 == response.status, body
    assert "reloaded" == body["status"]
    assert {
        "routes": {"added": ["crime-reports-archive"]},
        "destinations": {"added": ["archive.crime-reports"]},
    } == body["diff"]
    assert {202: len(receipts)} == dict(statuses)
    after = [r for sent_after, r in receipts if sent_after]
    assert after
    assert all("archive.crime-reports" in r["routes"] for r in after)
    archived = [r for _, r in receipts if "archive.crime-reports" in r["routes"]]
    queue = gateway.broker.topology.queue_of("archive.crime-reports")
    assert len(archived) == await depth(amqp_channel, queue)
    assert gateway.table.sha256 == body["sha256"]


async def test_invalid_edit_changes_nothing_and_is_shown_beside_the_version_in_force(
    start_gateway, admin_settings, routing_file
):
    """A route to an unknown destination: 422 naming file:line:key; the old table keeps
    serving; GET /admin/routing shows the error beside the hash and load time in force;
    fixing the file clears the error."""
    gateway, client = await start_gateway(admin_settings, table_at(routing_file))
    in_force = gateway.table
    good = routing_file.read_text()
    broken = good.replace(
        "    to: [raqamli-prokuror.registry-updates]", "    to: [raqamli-prokuror.registry-update]"
    )
    assert broken != good
    routing_file.write_text(broken, encoding="utf-8")
    with capture_logs() as logs:
        response = await client.post("/admin/reload", headers=ADMIN)
    body = await response.json()

    assert 422 == response.status
    assert "client.routing_refused" == body["error"]["code"]
    [problem] = body["error"]["problems"]
    line = 1 + broken.splitlines().index("    to: [raqamli-prokuror.registry-update]")
    assert problem.startswith(f"{routing_file}:{line}: routes[4].to[0]:"), problem
    assert "raqamli-prokuror.registry-update" in problem
    assert in_force is gateway.table
    [refused] = [e for e in logs if e["event"] == "routing.reload_refused"]
    assert [problem] == refused["problems"]
    assert "error" == refused["log_level"]

    status = await client.get("/admin/routing", headers=ADMIN)
    shown = await status.json()
    assert 200 == status.status
    assert in_force.sha256 == shown["sha256"]
    assert in_force.loaded_at.isoformat() == shown["loaded_at"]
    assert str(routing_file) == shown["source"]
    assert [problem] == shown["last_error"]["problems"]
    assert shown["last_error"]["sha256"] not in (None, in_force.sha256)

    pushed = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    assert 202 == pushed.status

    routing_file.write_text(good.replace("version: 1", "version: 1  # fixed"), encoding="utf-8")
    again = await client.post("/admin/reload", headers=ADMIN)
    assert 200 == again.status
    assert {} == (await again.json())["diff"]  # a comment changes the hash, not the table
    shown = await (await client.get("/admin/routing", headers=ADMIN)).json()
    assert shown["last_error"] is None
    assert gateway.table.sha256 == shown["sha256"] != in_force.sha256


async def test_unreadable_yaml_is_refused_with_its_line(
    start_gateway, admin_settings, routing_file
):
    """A half-written file (cut in the middle of a mapping) is refused, naming its line."""
    gateway, client = await start_gateway(admin_settings, table_at(routing_file))
    in_force = gateway.table
    text = routing_file.read_text()
    routing_file.write_text(
        text[: text.index("destinations:")] + "destinations:\n  a: {queue: [", "utf-8"
    )
    response = await client.post("/admin/reload", headers=ADMIN)
    body = await response.json()
    assert 422 == response.status
    assert any(p.startswith(f"{routing_file}:") for p in body["error"]["problems"])
    assert in_force is gateway.table


async def test_removed_destination_keeps_its_queue_and_messages_and_the_diff_is_logged(
    start_gateway, admin_settings, tmp_path, amqp_channel
):
    """Removing a destination (and its route) from the table leaves its queue and what it
    holds on the broker; the reload logs what was removed."""
    path = tmp_path / "routing.yaml"
    path.write_text(SMALL, encoding="utf-8")
    gateway, client = await start_gateway(admin_settings, table_at(path))
    supervision = gateway.broker.topology.queue_of("raqamli-prokuror.supervision")
    for n in range(3):
        response = await client.post(
            "/v1/feeds/crime-reports", json=report(f"IIV-2026-K{n}"), headers=keys.bearer(keys.MVD)
        )
        assert 202 == response.status
    assert 3 == await depth(amqp_channel, supervision)

    path.write_text(
        SMALL.replace(
            "  - {name: to-supervision, to: [raqamli-prokuror.supervision]}\n", ""
        ).replace("  raqamli-prokuror.supervision: {queue: {type: classic}}\n", ""),
        encoding="utf-8",
    )
    with capture_logs() as logs:
        response = await client.post("/admin/reload", headers=ADMIN)
    assert 200 == response.status

    [reloaded] = [e for e in logs if e["event"] == "routing.reloaded"]
    assert {
        "routes": {"removed": ["to-supervision"]},
        "destinations": {"removed": ["raqamli-prokuror.supervision"]},
    } == reloaded["diff"]
    assert (
        "routes -to-supervision; destinations -raqamli-prokuror.supervision"
        == (reloaded["changes"])
    )
    assert "POST /admin/reload" == reloaded["reason"]
    assert 3 == await depth(amqp_channel, supervision)  # the queue and its messages stay
    response = await client.post(
        "/v1/feeds/crime-reports", json=report("IIV-2026-K9"), headers=keys.bearer(keys.MVD)
    )
    assert ["etergov.crime-reports"] == (await response.json())["routes"]
    assert 3 == await depth(amqp_channel, supervision)


async def test_changed_destination_delivers_to_its_new_receiver(
    start_gateway, admin_settings, tmp_path, receiver
):
    """A destination whose deliver: URL changes: its old worker stops, a new one delivers to
    the new receiver, and nothing is delivered twice or lost."""
    second = FakeReceiver()
    await second.start()
    try:
        path = tmp_path / "routing.yaml"
        path.write_text(delivery_routing(receiver.url), encoding="utf-8")
        gateway, client = await start_gateway(
            admin_settings, table_at(path), deliverers=deliverer_for
        )

        async def push(number: str) -> None:
            response = await client.post(
                "/v1/feeds/crime-reports", json=report(number), headers=keys.bearer(keys.MVD)
            )
            assert 202 == response.status

        await push("IIV-2026-D1")
        await receiver.wait_for(1)
        path.write_text(delivery_routing(second.url), encoding="utf-8")
        response = await client.post("/admin/reload", headers=ADMIN)
        assert {"destinations": {"changed": ["receiver.inbox"]}} == (await response.json())["diff"]
        await until(lambda: len(gateway.workers) == 1 and gateway.workers[0].running)
        for n in range(2, 5):
            await push(f"IIV-2026-D{n}")
        await second.wait_for(3)
        assert 1 == len(receiver.delivered())
    finally:
        await second.stop()


async def test_file_watch_reloads_when_the_file_changes(start_gateway, settings, routing_file):
    """With GATEWAY_RELOAD_INTERVAL set, saving the file is enough."""
    gateway, client = await start_gateway(
        settings.model_copy(update={"reload_interval": 0.05}), table_at(routing_file)
    )
    before = gateway.table.sha256
    routing_file.write_text(with_archive(routing_file.read_text()), encoding="utf-8")
    await until(lambda: gateway.table.sha256 != before)
    assert "archive.crime-reports" in gateway.table.destinations
    response = await client.post(
        "/v1/feeds/crime-reports", json=load("mvd_crime_report"), headers=keys.bearer(keys.MVD)
    )
    assert "archive.crime-reports" in (await response.json())["routes"]


async def test_admin_api_needs_the_admin_key(start_gateway, admin_settings, settings):
    """No key or a wrong one (a system's key included): 401; no admin key configured: 403."""
    _, client = await start_gateway(admin_settings)
    for headers in ({}, keys.bearer("wrong"), keys.bearer(keys.ETERGOV)):
        for method, path in (("POST", "/admin/reload"), ("GET", "/admin/routing")):
            response = await client.request(method, path, headers=headers)
            assert 401 == response.status, (headers, path)
    _, disabled = await start_gateway(settings)
    response = await disabled.post("/admin/reload", headers=ADMIN)
    assert 403 == response.status
    assert "client.admin_disabled" == (await response.json())["error"]["code"]


async def test_unchanged_file_reloads_nothing(start_gateway, admin_settings, routing_file):
    """A reload of the very file in force says so and keeps the table object."""
    gateway, client = await start_gateway(admin_settings, table_at(routing_file))
    in_force = gateway.table
    response = await client.post("/admin/reload", headers=ADMIN)
    assert {"status": "unchanged", "sha256": in_force.sha256, "diff": {}} == await response.json()
    assert in_force is gateway.table


async def test_sighup_reloads_a_running_gateway(run_gateway, routing_file, amqp_url, namespace):
    """`gateway run` reloads on SIGHUP (the file watch off) and logs the diff."""
    process = await run_gateway(
        routing_file.read_text(), GATEWAY_RELOAD_INTERVAL="0", GATEWAY_ADMIN_KEY=ADMIN_KEY
    )
    process.routing.write_text(with_archive(process.routing.read_text()), encoding="utf-8")
    process.signal(signal.SIGHUP)
    try:
        await _until_archived(process)
    finally:
        await delete_topology(amqp_url, topology_for(table_at(process.routing), namespace))
    log = process.log.read_text()
    assert '"event": "routing.reloaded"' in log or '"event":"routing.reloaded"' in log
    assert "routes +crime-reports-archive; destinations +archive.crime-reports" in log
    assert '"reason": "SIGHUP"' in log or '"reason":"SIGHUP"' in log


async def _until_archived(process) -> None:
    """Wait until the process serves the table with the archive, then push through it."""
    async with aiohttp.ClientSession() as session:

        async def destinations() -> list[str]:
            async with session.get(process.base + "/admin/routing", headers=ADMIN) as response:
                return (await response.json())["destinations"]

        async with asyncio.timeout(15):
            while "archive.crime-reports" not in await destinations():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        async with session.post(
            process.base + "/v1/feeds/crime-reports",
            json=load("mvd_crime_report"),
            headers=keys.bearer(keys.MVD),
        ) as response:
            assert "archive.crime-reports" in (await response.json())["routes"]
