"""The audit log of real `gateway run` processes: what was acknowledged survives a SIGKILL, a
SIGTERM signs a last checkpoint, and two instances on one PostgreSQL form one chain."""

import asyncio
import signal

import aiohttp

from gateway.audit import open_audit_store, verify_chain
from tests.gateway.audit.conftest import KEY
from tests.support import keys
from tests.support.records import ROUTING_YAML, load


def report(n):
    """A crime report numbered ``n`` (each test has a deduplication store of its own)."""
    record = load("mvd_crime_report")
    record["xabar_raqami"] = f"IIV-2026-{n:07d}"
    return record


async def chain(url, key=KEY):
    store = open_audit_store(url)
    try:
        return await verify_chain(store, key), await store.checkpoints()
    finally:
        await store.aclose()


async def test_every_acknowledged_exchange_survives_a_sigkill(run_gateway, tmp_path):
    """Ten pushes answered 202, then SIGKILL: all ten are in the audit file, chain intact."""
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    process = await run_gateway(ROUTING_YAML.read_text(encoding="utf-8"), GATEWAY_AUDIT_URL=url)
    async with aiohttp.ClientSession() as session:
        for n in range(10):
            status, _ = await process.push(session, "crime-reports", report(n), keys.MVD)
            assert 202 == status
    await process.kill()
    report_, _ = await chain(url, key=None)
    assert [] == report_.problems
    assert 10 == report_.records


async def test_sigterm_signs_a_last_checkpoint(run_gateway, tmp_path):
    """A graceful stop writes the records under way and a checkpoint of the last one."""
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    process = await run_gateway(
        ROUTING_YAML.read_text(encoding="utf-8"),
        GATEWAY_AUDIT_URL=url,
        GATEWAY_AUDIT_KEY=KEY.decode(),
    )
    async with aiohttp.ClientSession() as session:
        status, _ = await process.push(session, "crime-reports", report(50), keys.MVD)
    assert 202 == status
    process.signal(signal.SIGTERM)
    assert 0 == await process.wait(30)
    verified, checkpoints = await chain(url)
    assert [] == verified.problems
    assert [verified.last.seq] == [c.seq for c in checkpoints]


async def test_two_instances_append_to_one_postgres_chain(run_gateway, postgres_url):
    """Two `gateway run` processes on one PostgreSQL store: one gapless chain of every push."""
    routing = ROUTING_YAML.read_text(encoding="utf-8")
    first = await run_gateway(routing, GATEWAY_AUDIT_URL=postgres_url)
    second = await run_gateway(routing, GATEWAY_AUDIT_URL=postgres_url)
    async with aiohttp.ClientSession() as session:
        outcomes = await asyncio.gather(
            *(
                (first, second)[n % 2].push(session, "crime-reports", report(n), keys.MVD)
                for n in range(40)
            )
        )
    assert {202} == {status for status, _ in outcomes}
    verified, _ = await chain(postgres_url, key=None)
    assert ([], 40) == (verified.problems, verified.records)
