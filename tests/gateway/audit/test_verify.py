"""`verify_chain` names the record an intruder altered, deleted or moved, in SQLite and in
PostgreSQL alike (the tampering goes straight to the store's tables)."""

import hashlib

import orjson

from gateway.audit import verify_chain
from gateway.audit.record import checkpoint_mac
from tests.gateway.audit.conftest import KEY, cli_env, entry, write
from tests.support.cli import gateway
from tests.support.process import free_port


async def fill(backend, count=6, **options):
    """``count`` records written to the backend's store (records 1..count)."""
    return await write(backend.url, [entry(n) for n in range(1, count + 1)], **options)


async def verified(store_of, backend, key=KEY):
    return await verify_chain(store_of(backend.url), key)


def text_of(backend, seq):
    [(text,)] = backend.sql("SELECT text FROM audit_records WHERE seq = ?", (seq,))
    return text


async def test_an_untouched_chain_verifies(backend, store_of):
    """Every record and checkpoint as written: no problem, and the summary counts them."""
    await fill(backend)
    report = await verified(store_of, backend)
    assert [] == report.problems
    assert (6, 6) == (report.records, report.last.seq)
    assert report.checkpoints >= 1
    assert report.signatures_checked


async def test_altering_a_field_names_the_record(backend, store_of):
    """A field changed in a record's text breaks its hash: verify names that record."""
    await fill(backend)
    altered = text_of(backend, 3).replace('"status":202', '"status":403')
    backend.sql("UPDATE audit_records SET text = ? WHERE seq = 3", (altered,))
    report = await verified(store_of, backend)
    assert (3, "altered") == (report.first.seq, report.first.kind)
    assert "record 3 was altered" in report.first.message


async def test_altering_an_indexed_column_names_the_record(backend, store_of):
    """A column that queries read, changed beside an intact text, is caught too."""
    await fill(backend)
    backend.sql("UPDATE audit_records SET user_id = 'someone.else' WHERE seq = 4")
    report = await verified(store_of, backend)
    assert (4, "altered") == (report.first.seq, report.first.kind)
    assert "column user_id" in report.first.message


async def test_altering_and_rehashing_a_record_names_it(backend, store_of):
    """A record altered and given the hash of its new text no longer links to the next one."""
    await fill(backend)
    altered = text_of(backend, 2).replace("mvd.crime-registry", "gp.e-tergov")
    new_hash = hashlib.sha256(altered.encode()).hexdigest()
    backend.sql(
        "UPDATE audit_records SET text = ?, hash = ?, client = 'gp.e-tergov' WHERE seq = 2",
        (altered, new_hash),
    )
    report = await verified(store_of, backend)
    assert (2, "altered") == (report.first.seq, report.first.kind)


async def test_deleting_a_record_names_it_as_missing(backend, store_of):
    """A record deleted from the middle of the chain leaves a gap that verify names."""
    await fill(backend)
    backend.sql("DELETE FROM audit_records WHERE seq = 3")
    report = await verified(store_of, backend)
    assert (3, "missing") == (report.first.seq, report.first.kind)
    assert "record 3 is missing" in report.first.message


async def test_deleting_the_last_record_names_it_as_missing(backend, store_of):
    """The chain's head still names the record deleted from its end."""
    await fill(backend)
    backend.sql("DELETE FROM audit_records WHERE seq = 6")
    report = await verified(store_of, backend)
    assert (6, "missing") == (report.first.seq, report.first.kind)


async def test_swapping_two_records_names_the_first_of_them(backend, store_of):
    """Two records that trade places are out of place: verify names the first."""
    await fill(backend)
    backend.sql("UPDATE audit_records SET seq = -4 WHERE seq = 4")
    backend.sql("UPDATE audit_records SET seq = 4 WHERE seq = 3")
    backend.sql("UPDATE audit_records SET seq = 3 WHERE seq = -4")
    report = await verified(store_of, backend)
    assert (3, "reordered") == (report.first.seq, report.first.kind)
    assert {3, 4} == {p.seq for p in report.problems if p.kind == "reordered"}


async def test_swapping_two_records_contents_names_the_first_of_them(backend, store_of):
    """Rows that keep their places but trade their contents and hashes are caught too."""
    await fill(backend)
    [(text3, hash3)] = backend.sql("SELECT text, hash FROM audit_records WHERE seq = 3")
    [(text4, hash4)] = backend.sql("SELECT text, hash FROM audit_records WHERE seq = 4")
    backend.sql("UPDATE audit_records SET text = ?, hash = ? WHERE seq = 3", (text4, hash4))
    backend.sql("UPDATE audit_records SET text = ?, hash = ? WHERE seq = 4", (text3, hash3))
    report = await verified(store_of, backend)
    assert (3, "reordered") == (report.first.seq, report.first.kind)


async def test_a_forged_checkpoint_is_named(backend, store_of):
    """A checkpoint not signed with the key is reported as forged, with its record."""
    await fill(backend)
    [(last_hash,)] = backend.sql("SELECT hash FROM audit_records WHERE seq = 5")
    backend.sql(
        "INSERT INTO audit_checkpoints (seq, hash, time_us, mac) VALUES (5, ?, 1, ?)",
        (last_hash, checkpoint_mac(b"not the key", 5, last_hash, 1)),
    )
    report = await verified(store_of, backend)
    assert (5, "forged") == (report.first.seq, report.first.kind)
    assert "is forged or altered" in report.first.message


async def test_an_altered_checkpoint_is_named(backend, store_of):
    """Moving a genuine checkpoint to another record breaks its signature."""
    await fill(backend, checkpoint_every=3)
    backend.sql("UPDATE audit_checkpoints SET seq = 2 WHERE seq = 3")
    report = await verified(store_of, backend)
    assert (2, "forged") == (report.first.seq, report.first.kind)


async def test_a_chain_rewritten_with_fresh_hashes_is_caught_by_its_checkpoints(backend, store_of):
    """Rewriting every record from 2 on with recomputed hashes and links keeps the chain
    consistent, but not with the checkpoint signed before: verify names the record."""
    await fill(backend, checkpoint_every=3)
    [(prev,)] = backend.sql("SELECT hash FROM audit_records WHERE seq = 1")
    for seq in range(2, 7):
        record = orjson.loads(text_of(backend, seq))
        record["prev_hash"] = prev
        if seq == 2:
            record["exchange"]["status"] = 500
        text = (
            f'{{"seq":{seq},"prev_hash":"{prev}","exchange":'
            f"{orjson.dumps(record['exchange'], option=orjson.OPT_SORT_KEYS).decode()}}}"
        )
        prev = hashlib.sha256(text.encode()).hexdigest()
        backend.sql("UPDATE audit_records SET text = ?, hash = ? WHERE seq = ?", (text, prev, seq))
    backend.sql("UPDATE audit_head SET hash = ?", (prev,))
    report = await verified(store_of, backend)
    assert [(3, "altered"), (6, "altered")] == [(p.seq, p.kind) for p in report.problems]
    assert "checkpoint" in report.first.message


async def test_without_the_key_signatures_are_not_checked_and_say_so(backend, store_of):
    """Verify without GATEWAY_AUDIT_KEY still checks the chain, and says it skipped them."""
    await fill(backend)
    report = await verified(store_of, backend, key=None)
    assert [] == report.problems
    assert "NOT checked" in report.summary()


async def test_a_wrong_key_makes_every_checkpoint_forged(backend, store_of):
    """Verifying with another key than the writer's fails every checkpoint."""
    await fill(backend, checkpoint_every=2)
    report = await verified(store_of, backend, key=b"another key")
    assert {"forged"} == {p.kind for p in report.problems}
    assert report.checkpoints == len(report.problems)


async def test_verify_command_exits_0_with_a_summary_when_intact(backend):
    """`gateway audit verify --url` on an untouched chain: exit 0 and what it checked."""
    await fill(backend)
    finished = await gateway(
        "audit", "verify", "--url", backend.url, env=cli_env(GATEWAY_AUDIT_KEY=KEY.decode())
    )
    assert 0 == finished.status, finished.err
    assert finished.out.startswith("audit chain intact: 6 record(s), seq 1..6")
    assert "signatures checked" in finished.out


async def test_verify_command_exits_1_naming_the_first_bad_record(backend):
    """After a deletion and an alteration, verify exits 1 naming the first of them."""
    await fill(backend)
    backend.sql("DELETE FROM audit_records WHERE seq = 2")
    backend.sql("UPDATE audit_records SET issue = 'ISS-X' WHERE seq = 5")
    finished = await gateway(
        "audit", "verify", "--url", backend.url, env=cli_env(GATEWAY_AUDIT_KEY=KEY.decode())
    )
    assert 1 == finished.status
    first, *rest = finished.out.splitlines()
    assert first.startswith("audit chain BROKEN at record 2 (missing): record 2 is missing")
    assert any(line.startswith("  also record 5 (altered)") for line in rest)


async def test_verify_command_exits_3_when_the_store_is_unreachable():
    """A store that cannot be reached is exit 3, with the reason on stderr."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    finished = await gateway("audit", "verify", "--url", url, env=cli_env())
    assert 3 == finished.status
    assert "unavailable" in finished.err
