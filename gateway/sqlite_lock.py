"""What the audit and idempotency stores share of SQLite: opening a file, waiting out another
process's write lock.

Both stores open their file with ``busy_timeout`` 0 (connect()), so SQLite never waits inside
a call; when another writer holds the lock they pause on the event loop (FIRST_PAUSE_S,
doubling up to LONGEST_PAUSE_S) and try again until their own timeout.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
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


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """Open (creating its directory and file) the database at ``path`` in WAL mode, in
    autocommit, never waiting for a lock inside SQLite, and run ``schema`` (its statements
    must be ``IF NOT EXISTS``: any number of processes may open the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 0")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(schema)
    except Exception:
        conn.close()
        raise
    return conn
