"""A dropped file is an exchange like any other: it is in the audit log before its receipt
is written, and no file is taken while the audit log cannot record it."""

import hashlib

from gateway.audit import AuditQuery, open_audit_store
from tests.gateway.filedrop.drops import CSV_CP1251, FEED, drop, every_file, outcome, routing
from tests.support.amqp import until
from tests.support.records import FIXTURES


async def audit_records(url):
    """Every exchange of the audit store at ``url``."""
    store = open_audit_store(url)
    try:
        return [row.record()["exchange"] for row in await store.query(AuditQuery())]
    finally:
        await store.aclose()


async def test_an_archived_file_is_on_record_with_its_hash_and_counts(file_gateway, settings):
    """kind file, the owning system, the feed, where the file went, its SHA-256 and counts."""
    _, dirs = await file_gateway(routing(CSV_CP1251))
    data = (FIXTURES / "files" / "inspections.csv").read_bytes()
    drop(dirs, "sample.csv", data)
    receipt = await outcome(dirs, "sample.csv")
    [exchange] = await audit_records(settings.audit_url)
    assert {
        "kind": "file",
        "client": "agencies.drop",
        "feed": FEED,
        "schema": "inspection/1",
        "path": "archive/sample.csv",
        "record_count": 6,
        "outcome": "ok",
        "request_sha256": hashlib.sha256(data).hexdigest(),
        "accepted": 6,
        "rejected": 0,
        "correlation_id": receipt["correlation_id"],
    }.items() <= exchange.items()


async def test_a_failed_file_is_on_record_with_its_reason(file_gateway, settings):
    """A file that cannot be read is recorded as an error, with the reason its error file
    gives."""
    _, dirs = await file_gateway(routing(CSV_CP1251))
    drop(dirs, "broken.csv", b'"unclosed;quote\n')
    error = await outcome(dirs, "broken.csv")
    [exchange] = await audit_records(settings.audit_url)
    assert ("failed", "error", "client.bad_file", error["reason"]) == (
        error["to"],
        exchange["outcome"],
        exchange["error_code"],
        exchange["reason"],
    )
    assert "failed/broken.csv" == exchange["path"]


async def test_no_file_is_taken_while_the_audit_log_cannot_record_it(
    bare_gateway, settings, tmp_path
):
    """With the audit store unavailable the file waits in the inbox, scan after scan; once the
    store is back it is taken, published and recorded."""
    blocker = tmp_path / "audit-volume"
    blocker.write_text("not a directory")
    url = f"sqlite:///{blocker / 'audit.sqlite3'}"
    gateway, watcher = await bare_gateway(
        routing(CSV_CP1251), settings=settings.model_copy(update={"audit_url": url})
    )
    dirs = watcher.directories
    drop(dirs, "sample.csv", (FIXTURES / "files" / "inspections.csv").read_bytes())
    assert gateway.audit.problem is not None
    taken = [await watcher.scan() for _ in range(3)]
    assert ([False] * 3, ["sample.csv", "sample.csv.done"]) == (taken, every_file(dirs)["inbox"])

    blocker.unlink()
    await until(lambda: gateway.audit.problem is None)
    assert await watcher.scan()
    receipt = await outcome(dirs, "sample.csv")
    assert ("archive", 6) == (receipt["to"], receipt["accepted"])
    assert 1 == len(await audit_records(url))
