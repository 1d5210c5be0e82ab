"""The Gateway object's own duties: housekeeping of the idempotency store."""

import sqlite3

from tests.support.amqp import until


def keys_in(path):
    """The (scope, key) pairs an SQLite idempotency store file holds."""
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute("SELECT scope, key FROM idempotency").fetchall())


async def test_running_gateway_purges_expired_keys_and_keeps_live_ones(start_gateway, settings):
    """An expired claim disappears from the SQLite store by itself; a done key within its
    retention stays."""
    gateway, _ = await start_gateway(settings.model_copy(update={"dedup_purge_interval": 0.05}))
    store = gateway.store
    await store.claim("feed:a", "expired", owner="o1", lease_s=0.001, retention_s=60)
    await store.claim("feed:a", "kept", owner="o2", lease_s=60, retention_s=60)
    await store.complete("feed:a", "kept", owner="o2", message_id="m-1", retention_s=86400)
    await until(lambda: [("feed:a", "kept")] == keys_in(settings.dedup_sqlite_path))
