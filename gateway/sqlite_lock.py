"""Waiting out another process's SQLite write lock: what the audit and idempotency stores share.

Both stores open their file with ``busy_timeout`` 0, so SQLite never waits inside a call; when
another writer holds the lock they pause on the event loop (FIRST_PAUSE_S, doubling up to
LONGEST_PAUSE_S) and try again until their own timeout.
"""

from __future__ import annotations

import sqlite3
from typing import Final

#: how long to wait for another writer's lock, at first and at most, between tries
FIRST_PAUSE_S: Final = 0.001
LONGEST_PAUSE_S: Final = 0.05


def locked(exc: sqlite3.OperationalError) -> bool:
    """Another connection holds the lock (SQLITE_BUSY or SQLITE_LOCKED)."""
    return getattr(exc, "sqlite_errorcode", None) in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    ) or "locked" in str(exc)
