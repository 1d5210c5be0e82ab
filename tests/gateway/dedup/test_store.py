"""The idempotency store's contract, held by SQLite and by Redis alike."""

import asyncio

from gateway.dedup import Claim

SCOPE = "feed:crime-reports"
LEASE = 30.0
RETENTION = 3600.0


async def claim(store, owner="a", *, key="m-1", scope=SCOPE, lease_s=LEASE):
    """Claim ``key`` in ``scope`` for ``owner`` with the usual retention."""
    return await store.claim(scope, key, owner=owner, lease_s=lease_s, retention_s=RETENTION)


async def complete(store, owner="a", *, key="m-1", message_id="msg-1", retention_s=RETENTION):
    """Complete ``key`` in SCOPE for ``owner`` with ``message_id``."""
    return await store.complete(
        SCOPE, key, owner=owner, message_id=message_id, retention_s=retention_s
    )


async def test_first_claim_is_granted(store):
    """A key nobody has seen is claimed."""
    assert Claim("claimed") == await claim(store)


async def test_second_claim_of_a_live_claim_is_busy(store):
    """While a claim is live, another owner's claim is told busy."""
    await claim(store, "a")
    assert Claim("busy") == await claim(store, "b")


async def test_the_same_owner_claiming_again_is_busy_too(store):
    """A live claim is busy for any owner, its own included."""
    await claim(store, "a")
    assert Claim("busy") == await claim(store, "a")


async def test_completed_key_is_done_with_its_message_id(store):
    """After complete(), a claim reports done with the recorded message id."""
    await claim(store, "a")
    assert await complete(store, "a", message_id="msg-42")
    assert Claim("done", "msg-42") == await claim(store, "b")


async def test_released_key_can_be_claimed_again(store):
    """A failed attempt released its claim: the key is not taken for a duplicate."""
    await claim(store, "a")
    await store.release(SCOPE, "m-1", owner="a")
    assert Claim("claimed") == await claim(store, "b")


async def test_release_by_another_owner_does_nothing(store):
    """Only the claimer can release its claim."""
    await claim(store, "a")
    await store.release(SCOPE, "m-1", owner="b")
    assert Claim("busy") == await claim(store, "c")


async def test_release_of_a_done_key_does_nothing(store):
    """release() never removes a done entry, even the completer's own."""
    await claim(store, "a")
    await complete(store, "a")
    await store.release(SCOPE, "m-1", owner="a")
    assert Claim("done", "msg-1") == await claim(store, "b")


async def test_complete_by_another_owner_of_a_live_claim_is_refused(store):
    """complete() returns False when someone else holds a live claim."""
    await claim(store, "a")
    assert False is await complete(store, "b")


async def test_refused_complete_changes_nothing(store):
    """A refused complete() leaves the other owner's claim as it was."""
    await claim(store, "a")
    await complete(store, "b")
    assert Claim("busy") == await claim(store, "c")


async def test_complete_of_a_done_key_with_the_same_message_id_succeeds(store):
    """Completing again with the recorded message id is acknowledged."""
    await claim(store, "a")
    await complete(store, "a", message_id="msg-1")
    assert True is await complete(store, "b", message_id="msg-1")


async def test_complete_of_a_done_key_with_another_message_id_is_refused(store):
    """A done entry is not overwritten with another message id."""
    await claim(store, "a")
    await complete(store, "a", message_id="msg-1")
    assert (False, Claim("done", "msg-1")) == (
        await complete(store, "b", message_id="msg-2"),
        await claim(store, "c"),
    )


async def test_different_scopes_do_not_collide(store):
    """The same key in two scopes is two entries."""
    await claim(store, "a", scope="feed:crime-reports")
    assert Claim("claimed") == await claim(store, "b", scope="destination:etergov.crime-reports")


async def test_different_keys_do_not_collide(store):
    """Two keys in one scope are two entries."""
    await claim(store, "a", key="m-1")
    assert Claim("claimed") == await claim(store, "b", key="m-2")


async def test_concurrent_claims_from_two_stores_grant_exactly_one(backend):
    """30 simultaneous claims of one key through two store instances: one wins, 29 are busy."""
    stores = [backend.open(), backend.open()]
    results = await asyncio.gather(*(claim(stores[i % 2], f"owner-{i}") for i in range(30)))
    assert {"claimed": 1, "busy": 29} == {
        state: sum(r.state == state for r in results) for state in ("claimed", "busy")
    }


async def test_concurrent_operations_on_one_store_are_each_answered(store):
    """Forty claims at once on one store, two per key, then the winners complete and the
    losers claim again: every answer is its own (20 claimed and 20 busy, then 20 done)."""
    first = await asyncio.gather(
        *(claim(store, f"owner-{i}", key=f"m-{i % 20}") for i in range(40))
    )
    winners = [i for i, r in enumerate(first) if r.state == "claimed"]
    await asyncio.gather(
        *(
            store.complete(
                SCOPE, f"m-{i % 20}", owner=f"owner-{i}", message_id=f"id-{i}", retention_s=60
            )
            for i in winners
        )
    )
    again = await asyncio.gather(*(claim(store, "late", key=f"m-{k}") for k in range(20)))
    assert (20, 20) == (len(winners), sum(r.state == "busy" for r in first))
    assert {i % 20 for i in winners} == set(range(20))
    done = {int(r.message_id.removeprefix("id-")) % 20 for r in again if r.state == "done"}
    assert set(range(20)) == done


async def test_claim_with_an_expired_lease_is_granted(backend, store):
    """A claim whose lease ran out counts as absent: its claimer is presumed dead."""
    await claim(store, "a", lease_s=0.05)
    await backend.elapse(0.2)
    assert Claim("claimed") == await claim(store, "b")


async def test_complete_after_the_lease_expired_succeeds(backend, store):
    """The claimer completes after its lease ran out, nobody else having claimed: recorded."""
    await claim(store, "a", lease_s=0.05)
    await backend.elapse(0.2)
    assert await complete(store, "a", message_id="msg-7")
    assert Claim("done", "msg-7") == await claim(store, "b")


async def test_done_entry_past_its_retention_is_claimable(backend, store):
    """A done entry older than its retention counts as absent."""
    await claim(store, "a")
    await complete(store, "a", retention_s=0.05)
    await backend.elapse(0.2)
    assert Claim("claimed") == await claim(store, "b")


async def test_long_keys_are_accepted(store):
    """A key of 512 characters is a key like any other."""
    key = "k" * 512
    await claim(store, "a", key=key)
    assert Claim("busy") == await claim(store, "b", key=key)


async def test_aclose_twice_is_harmless(backend):
    """aclose() is idempotent."""
    store = backend.open()
    await store.aclose()
    await store.aclose()


async def test_message_ids_may_contain_the_separator(store):
    """A message id with a "|" in it comes back whole."""
    await claim(store, "a")
    await complete(store, "a", message_id="msg|1|x")
    assert Claim("done", "msg|1|x") == await claim(store, "b")


async def test_claim_many_answers_each_key_as_claim_would(backend, store):
    """Absent, claimed by another, done, expired and repeated keys, in one call: each
    answered as ``claim`` answers it, in order."""
    await claim(store, "other", key="busy")
    await claim(store, "a", key="done")
    await complete(store, "a", key="done", message_id="msg-d")
    await claim(store, "gone", key="expired", lease_s=0.05)
    await backend.elapse(0.2)
    keys = ["new", "busy", "done", "expired", "new"]
    answers = await store.claim_many(SCOPE, keys, owner="b", lease_s=LEASE, retention_s=RETENTION)
    assert [
        Claim("claimed"),
        Claim("busy"),
        Claim("done", "msg-d"),
        Claim("claimed"),
        Claim("busy"),  # the second time in the same call: b's own live claim
    ] == answers
    assert Claim("busy") == await claim(store, "c", key="new")
    assert Claim("busy") == await claim(store, "c", key="expired")


async def test_claim_many_of_more_keys_than_one_query_takes(store):
    """A batch larger than one lookup's chunk: every key answered, the done ones found."""
    keys = [f"k-{n}" for n in range(1234)]
    for key in keys[::100]:
        await claim(store, "a", key=key)
        await complete(store, "a", key=key, message_id=f"msg-{key}")
    answers = await store.claim_many(SCOPE, keys, owner="b", lease_s=LEASE, retention_s=RETENTION)
    assert {k: Claim("done", f"msg-{k}") for k in keys[::100]} == {
        k: a for k, a in zip(keys, answers, strict=True) if a.state == "done"
    }
    assert 1234 - 13 == sum(a.state == "claimed" for a in answers)


async def test_complete_many_answers_each_entry_as_complete_would(store):
    """Its own claim, another's live claim, done with the same and with another message id,
    and absent: each answered as ``complete`` answers it; the refused ones unchanged."""
    await store.claim_many(
        SCOPE, ["mine", "same", "other-id"], owner="a", lease_s=LEASE, retention_s=RETENTION
    )
    await claim(store, "b", key="theirs")
    await complete(store, "a", key="same", message_id="msg-s")
    await complete(store, "a", key="other-id", message_id="msg-o")
    done = [
        ("mine", "msg-m"),
        ("theirs", "msg-t"),
        ("same", "msg-s"),
        ("other-id", "msg-x"),
        ("absent", "msg-a"),
    ]
    answers = await store.complete_many(SCOPE, done, owner="a", retention_s=RETENTION)
    assert [True, False, True, False, True] == answers
    assert Claim("done", "msg-m") == await claim(store, "c", key="mine")
    assert Claim("busy") == await claim(store, "c", key="theirs")
    assert Claim("done", "msg-o") == await claim(store, "c", key="other-id")
    assert Claim("done", "msg-a") == await claim(store, "c", key="absent")


async def test_release_many_releases_only_the_owners_claims(store):
    """Its own claims go; another's claim and a done entry stay."""
    await store.claim_many(SCOPE, ["m-1", "m-2"], owner="a", lease_s=LEASE, retention_s=RETENTION)
    await claim(store, "b", key="m-3")
    await claim(store, "a", key="m-4")
    await complete(store, "a", key="m-4", message_id="msg-4")
    await store.release_many(SCOPE, ["m-1", "m-2", "m-3", "m-4"], owner="a")
    answers = await store.claim_many(
        SCOPE, ["m-1", "m-2", "m-3", "m-4"], owner="c", lease_s=LEASE, retention_s=RETENTION
    )
    assert [Claim("claimed"), Claim("claimed"), Claim("busy"), Claim("done", "msg-4")] == answers


async def test_bulk_operations_of_nothing_answer_nothing(store):
    """Empty lists are answered at once."""
    assert [] == await store.claim_many(SCOPE, [], owner="a", lease_s=LEASE, retention_s=RETENTION)
    assert [] == await store.complete_many(SCOPE, [], owner="a", retention_s=RETENTION)
    await store.release_many(SCOPE, [], owner="a")
