"""The audit writer: group commit, bounded backlog, failures that fail their exchanges (never
silently), recovery, checkpoints, and one chain from several writers."""

import asyncio

import pytest

from gateway.audit import AuditWriter, open_audit_store, verify_chain
from gateway.errors import AuditUnavailableError
from gateway.metrics import Metrics
from tests.gateway.audit.conftest import KEY, entry, write
from tests.support.amqp import until


class Interposed:
    """A real store with a hand on its appends: counts batches, can hold them or fail them."""

    def __init__(self, store):
        self.store = store
        self.batches = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.down = False

    def __getattr__(self, name):
        return getattr(self.store, name)

    async def append(self, records):
        await self.gate.wait()
        if self.down:
            raise AuditUnavailableError("audit store test: down")
        self.batches.append(len(records))
        return await self.store.append(records)

    async def ping(self):
        if self.down:
            raise AuditUnavailableError("audit store test: down")
        await self.store.ping()


@pytest.fixture
async def interposed(backend):
    store = Interposed(open_audit_store(backend.url))
    yield store
    await store.store.aclose()


async def test_concurrent_appends_share_transactions_and_keep_one_chain(
    backend, interposed, store_of
):
    """200 exchanges at once are written in fewer transactions than records, each answered
    with its own place; the chain verifies."""
    writer = AuditWriter(interposed, key=KEY)
    await writer.start()
    sealed = await asyncio.gather(*(writer.append(entry(n)) for n in range(200)))
    await writer.aclose()
    assert list(range(1, 201)) == sorted(s.seq for s in sealed)
    assert 200 == sum(interposed.batches)
    assert len(interposed.batches) < 200
    report = await verify_chain(store_of(backend.url), KEY)
    assert ([], 200) == (report.problems, report.records)


async def test_a_batch_never_exceeds_the_batch_size(tmp_path):
    """Records queued beyond ``batch_size`` go into the following transactions."""
    store = Interposed(open_audit_store(f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    writer = AuditWriter(store, batch_size=50)
    await writer.start()
    await asyncio.gather(*(writer.append(entry(n)) for n in range(120)))
    await writer.aclose()
    assert 120 == sum(store.batches)
    assert max(store.batches) <= 50


async def test_a_lone_exchange_does_not_wait_for_the_commit_window(tmp_path):
    """With nobody else about, a record is written at once, whatever the window; once
    exchanges come together, a batch waits its window for more to join (here the window is
    an hour: only closing the writer ends it)."""
    store = Interposed(open_audit_store(f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    writer = AuditWriter(store, commit_window=3600)
    await writer.start()
    async with asyncio.timeout(30):  # against hanging for the hour, not a timing check
        assert 1 == (await writer.append(entry(1))).seq
        assert 2 == (await writer.append(entry(2))).seq
    assert [1, 1] == store.batches
    store.gate.clear()  # the disk stalls under a batch of one; two more exchanges come
    first = asyncio.create_task(writer.append(entry(3)))
    await until(lambda: writer.backlog == 1 and not writer._queue)
    others = [asyncio.create_task(writer.append(entry(n))) for n in (4, 5)]
    await until(lambda: writer.backlog == 3)
    store.gate.set()
    assert 3 == (await first).seq
    await asyncio.sleep(0.1)
    assert [1, 1, 1] == store.batches  # the two wait in the window for company
    assert not any(task.done() for task in others)
    await writer.aclose()  # closing ends the window: they are written together
    assert [4, 5] == sorted(s.seq for s in await asyncio.gather(*others))
    assert [1, 1, 1, 2] == store.batches


async def test_a_full_backlog_refuses_at_once_and_recovers_when_it_drains(tmp_path):
    """With ``max_backlog`` records waiting on a slow store, one more is refused (503) at once
    and ``problem`` says why; once they are written, records are taken again."""
    store = Interposed(open_audit_store(f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    metrics = Metrics()
    writer = AuditWriter(store, max_backlog=3, metrics=metrics)
    await writer.start()
    store.gate.clear()  # the disk stalls
    waiting = [asyncio.create_task(writer.append(entry(n))) for n in range(3)]
    await until(lambda: writer.backlog == 3)
    with pytest.raises(AuditUnavailableError, match="backlog is full"):
        await writer.append(entry(9))
    assert "backlog is full" in writer.problem
    assert 1 == metrics.registry.get_sample_value(
        "gateway_audit_failures_total", {"reason": "backlog_full"}
    )
    assert 3 == metrics.registry.get_sample_value("gateway_audit_backlog")
    store.gate.set()
    assert [1, 2, 3] == sorted(s.seq for s in await asyncio.gather(*waiting))
    assert writer.problem is None
    assert 4 == (await writer.append(entry(10))).seq
    await writer.aclose()


async def test_the_backlog_is_bounded_in_bytes_too(tmp_path):
    """Records whose bodies exceed ``max_backlog_bytes`` together are refused, not queued."""
    store = Interposed(open_audit_store(f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    writer = AuditWriter(store, max_backlog_bytes=100_000)
    await writer.start()
    store.gate.clear()
    first = asyncio.create_task(writer.append(entry(1, request_body=b"x" * 80_000)))
    await until(lambda: writer.backlog == 1)
    with pytest.raises(AuditUnavailableError, match="bytes waiting"):
        await writer.append(entry(2, request_body=b"y" * 80_000))
    store.gate.set()
    assert 1 == (await first).seq
    await writer.aclose()


async def test_a_failed_batch_fails_every_record_in_it_and_behind_it(tmp_path):
    """When the store fails, every record waiting gets the error (nothing dropped silently),
    and ``problem`` names the store's failure."""
    store = Interposed(open_audit_store(f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    metrics = Metrics()
    writer = AuditWriter(store, metrics=metrics, probe_interval=3600)
    await writer.start()
    store.down = True
    outcomes = await asyncio.gather(
        *(writer.append(entry(n)) for n in range(10)), return_exceptions=True
    )
    assert 10 == sum(isinstance(o, AuditUnavailableError) for o in outcomes)
    assert "audit store test: down" in writer.problem
    assert 10 == metrics.registry.get_sample_value(
        "gateway_audit_failures_total", {"reason": "unavailable"}
    )
    assert 0 == writer.backlog
    with pytest.raises(AuditUnavailableError, match="audit store test: down"):
        writer.refuse_if_unavailable()
    await writer.aclose()


async def test_the_writer_recovers_when_the_store_answers_again(tmp_path):
    """After a failure the writer probes the store and clears ``problem`` once it answers;
    the next record continues the chain."""
    store = Interposed(open_audit_store(f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    writer = AuditWriter(store, probe_interval=0.01)
    await writer.start()
    assert 1 == (await writer.append(entry(1))).seq
    store.down = True
    with pytest.raises(AuditUnavailableError):
        await writer.append(entry(2))
    store.down = False
    await until(lambda: writer.problem is None)
    assert 2 == (await writer.append(entry(3))).seq
    await writer.aclose()


async def test_a_store_down_at_start_is_a_problem_not_a_crash(tmp_path):
    """Starting on a store that cannot be opened leaves the writer up, with the reason."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    writer = AuditWriter(open_audit_store(f"sqlite:///{blocker / 'audit.sqlite3'}"))
    await writer.start()
    assert "cannot be opened" in writer.problem or "unavailable" in writer.problem
    await writer.aclose()


async def test_checkpoints_every_n_records_and_at_close(backend, store_of):
    """With ``checkpoint_every=10``, 25 records give checkpoints of records 10, 20 and, at
    close, 25; each signed with the key."""
    await write(backend.url, [entry(n) for n in range(25)], checkpoint_every=10)
    store = store_of(backend.url)
    assert [10, 20, 25] == [c.seq for c in await store.checkpoints()]
    assert [] == (await verify_chain(store, KEY)).problems


async def test_checkpoints_every_interval_when_records_were_written(tmp_path):
    """A quiet writer signs what it wrote once ``checkpoint_interval`` has passed."""
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    store = open_audit_store(url)
    writer = AuditWriter(store, key=KEY, checkpoint_every=1000, checkpoint_interval=0.05)
    await writer.start()
    await writer.append(entry(1))
    reader = open_audit_store(url)
    checkpoints = []
    while not checkpoints:  # bounded by pytest's timeout; no timing is asserted
        await asyncio.sleep(0.02)
        checkpoints = await reader.checkpoints()
    assert [1] == [c.seq for c in checkpoints]
    await writer.aclose()
    await reader.aclose()


async def test_without_a_key_no_checkpoint_is_written(tmp_path, store_of):
    """No GATEWAY_AUDIT_KEY: the chain alone, no unsigned checkpoints."""
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    await write(url, [entry(n) for n in range(5)], key=None, checkpoint_every=2)
    assert [] == await store_of(url).checkpoints()


async def test_a_closed_writer_refuses(tmp_path):
    """After ``aclose`` (twice is harmless), appends are refused, not lost."""
    writer = AuditWriter(open_audit_store(f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    await writer.start()
    await writer.aclose()
    await writer.aclose()
    with pytest.raises(AuditUnavailableError, match="closed"):
        await writer.append(entry(1))


async def test_several_writers_append_to_one_chain(backend, store_of):
    """Three gateways' writers on one store, appending at once, form one gapless chain."""
    writers = [AuditWriter(open_audit_store(backend.url), key=KEY) for _ in range(3)]
    for writer in writers:
        await writer.start()
    sealed = await asyncio.gather(
        *(writers[n % 3].append(entry(n)) for n in range(300)),
    )
    for writer in writers:
        await writer.aclose()
    assert list(range(1, 301)) == sorted(s.seq for s in sealed)
    report = await verify_chain(store_of(backend.url), KEY)
    assert ([], 300) == (report.problems, report.records)


async def test_postgres_connection_terminated_by_the_server_is_replaced(postgres_url, store_of):
    """An administrator's pg_terminate_backend on the writer's connection: the next batch,
    which had written nothing, goes through on a fresh connection."""
    writer = AuditWriter(open_audit_store(postgres_url))
    await writer.start()
    assert 1 == (await writer.append(entry(1))).seq
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as admin:
        [(terminated,)] = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'e-integratsiya-audit' AND datname = current_database()"
        ).fetchall()
    assert 1 == terminated
    assert 2 == (await writer.append(entry(2))).seq
    assert writer.problem is None
    await writer.aclose()
    assert [] == (await verify_chain(store_of(postgres_url))).problems


async def test_postgres_unreachable_is_unavailable(store_of):
    """A PostgreSQL URL where nothing listens: AuditUnavailableError naming the store."""
    from tests.support.process import free_port

    url = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/audit"
    with pytest.raises(AuditUnavailableError) as caught:
        await store_of(url).ping()
    assert "127.0.0.1" in caught.value.message
    assert "secret" not in caught.value.message


async def test_sqlite_locked_by_another_writer_is_unavailable_after_the_timeout(tmp_path):
    """Another process holding the file's write lock longer than the timeout makes the
    append fail with a reason, not hang; once it lets go, appends go through."""
    import sqlite3

    path = tmp_path / "a.sqlite3"
    writer = AuditWriter(open_audit_store(f"sqlite:///{path}", timeout_s=0.2))
    await writer.start()
    intruder = sqlite3.connect(path, isolation_level=None)
    intruder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(AuditUnavailableError, match="locked by another writer"):
            await writer.append(entry(1))
    finally:
        intruder.execute("ROLLBACK")
        intruder.close()
    await until(lambda: writer.problem is None)
    assert 1 == (await writer.append(entry(2))).seq
    await writer.aclose()
