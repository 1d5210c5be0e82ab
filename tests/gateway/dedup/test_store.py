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
