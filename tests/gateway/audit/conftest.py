"""Fixtures for the audit log: each store behaviour runs against SQLite and the real
PostgreSQL.

PostgreSQL is reached at ``$GATEWAY_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``, a superuser able to create databases); each
test gets a database of its own, created for it and dropped after it.
"""

import itertools
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from gateway.audit import AuditEntry, AuditWriter, Sealed, open_audit_store

POSTGRES_URL = os.environ.get(
    "GATEWAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
KEY = b"test-audit-checkpoint-key"
RUN_ID = uuid.uuid4().hex[:8]
_sequence = itertools.count()


@dataclass
class Backend:
    """One audit store under test: its URL, and a direct line to its tables for tampering."""

    name: str
    url: str

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``statement`` (``?`` placeholders) straight on the store's tables, as an
        intruder with database access would, and commit."""
        if self.name == "sqlite":
            conn = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            try:
                with conn:
                    return conn.execute(statement, params).fetchall()
            finally:
                conn.close()
        with psycopg.connect(self.url, autocommit=True) as pg:
            cursor = pg.execute(statement.replace("?", "%s").encode(), params)
            return cursor.fetchall() if cursor.description else []


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a ``gateway audit`` command: this process's, without any audit
    settings of the workstation, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_AUDIT_")}
    env.update(extra)
    return env


def postgres_database_url(name: str) -> str:
    """POSTGRES_URL with its database replaced by ``name``."""
    return urlsplit(POSTGRES_URL)._replace(path=f"/{name}").geturl()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    name = f"audit_test_{RUN_ID}_{next(_sequence)}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.exit(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc}); start it with: "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            returncode=3,
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
        try:
            yield postgres_database_url(name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each store in turn."""
    if request.param == "sqlite":
        return Backend("sqlite", f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    return Backend("postgres", request.getfixturevalue("postgres_url"))


def entry(n: int, **fields: Any) -> AuditEntry:
    """An exchange numbered ``n`` (its correlation id), at second ``n`` of 2026-01-01 UTC."""
    fields.setdefault("kind", "feed")
    fields.setdefault("client", "mvd.crime-registry")
    fields.setdefault("feed", "crime-reports")
    fields.setdefault("status", 202)
    return AuditEntry(time=1_767_225_600 + n, correlation_id=f"corr-{n}", **fields)


async def write(url: str, entries: list[AuditEntry], **options: Any) -> list[Sealed]:
    """Append ``entries`` one after another through a writer with the test key, then close
    it (which signs a last checkpoint)."""
    options.setdefault("key", KEY)
    writer = AuditWriter(open_audit_store(url), **options)
    await writer.start()
    try:
        return [await writer.append(e) for e in entries]
    finally:
        await writer.aclose()


@pytest.fixture
async def store_of() -> AsyncIterator[Any]:
    """``store_of(url)``: a store on ``url``, closed after the test."""
    opened = []

    def open_(url: str) -> Any:
        store = open_audit_store(url, timeout_s=5.0)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        await store.aclose()
