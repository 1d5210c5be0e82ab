"""`audit query` answers who looked at what, when, for which case: exactly the matching
exchanges, each filter alone and combined, in SQLite and PostgreSQL."""

import orjson
import pytest

from gateway.audit import AuditQuery
from gateway.audit.record import to_micros
from tests.gateway.audit.conftest import cli_env, entry, write
from tests.support.cli import gateway

#: (n, client, kind, feed or service, user, issue, subject): exchange n is at second n
EXCHANGES = [
    (1, "gp.e-tergov", "service", "person.by-pinfl", "u.karimov", "ISS-1", "pinfl:1"),
    (2, "gp.e-tergov", "service", "person.by-pinfl", "u.aliyev", "ISS-1", "pinfl:2"),
    (3, "gp.e-tergov", "service", "organization.by-stir", "u.karimov", "ISS-2", "stir:3"),
    (4, "gp.raqamli", "service", "person.by-pinfl", "u.karimov", "ISS-1", "pinfl:1"),
    (5, "mvd.crime-registry", "feed", "crime-reports", None, None, None),
    (6, "gp.e-tergov", "service", "person.by-pinfl", "u.karimov", "ISS-3", "pinfl:1"),
    (7, "mvd.crime-registry", "feed", "crime-reports", "u.operator", "ISS-1", None),
]
BASE = 1_767_225_600  # 2026-01-01T00:00:00Z


def exchanges():
    entries = []
    for n, client, kind, target, user, issue, subject in EXCHANGES:
        where = {"service": target} if kind == "service" else {"feed": target}
        entries.append(
            entry(n, client=client, kind=kind, user_id=user, issue=issue, subject=subject, **where)
        )
        if kind == "service":
            entries[-1].feed = None
    return entries


@pytest.fixture
async def filled(backend):
    await write(backend.url, exchanges())
    return backend


async def found(store_of, backend, **filters):
    rows = await store_of(backend.url).query(AuditQuery(**filters))
    return [int(row.record()["exchange"]["correlation_id"].removeprefix("corr-")) for row in rows]


def at(n):
    return to_micros(BASE + n)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [1, 2, 3, 4, 5, 6, 7]),
        ({"client": "gp.e-tergov"}, [1, 2, 3, 6]),
        ({"service": "person.by-pinfl"}, [1, 2, 4, 6]),
        ({"feed": "crime-reports"}, [5, 7]),
        ({"user_id": "u.karimov"}, [1, 3, 4, 6]),
        ({"issue": "ISS-1"}, [1, 2, 4, 7]),
        ({"subject": "pinfl:1"}, [1, 4, 6]),
        ({"kind": "feed"}, [5, 7]),
        ({"since_us": at(4)}, [4, 5, 6, 7]),
        ({"until_us": at(3)}, [1, 2]),
        ({"since_us": at(2), "until_us": at(6)}, [2, 3, 4, 5]),
        ({"client": "gp.e-tergov", "service": "person.by-pinfl", "user_id": "u.karimov"}, [1, 6]),
        ({"client": "gp.e-tergov", "user_id": "u.karimov", "issue": "ISS-1"}, [1]),
        ({"user_id": "u.karimov", "since_us": at(2), "until_us": at(6)}, [3, 4]),
        ({"client": "gp.e-tergov", "issue": "ISS-1", "until_us": at(2)}, [1]),
        ({"client": "nobody"}, []),
        ({"user_id": "u.karimov", "limit": 2}, [1, 3]),
    ],
)
async def test_query_returns_exactly_the_matching_exchanges(filled, store_of, filters, expected):
    """Each filter alone and combined, with time bounds (since inclusive, until exclusive)."""
    assert expected == await found(store_of, filled, **filters)


async def test_query_command_answers_who_looked_at_whom_for_which_case(filled):
    """`gateway audit query --json` prints the matching exchanges, whole, oldest first."""
    finished = await gateway(
        "audit",
        "query",
        "--url",
        filled.url,
        "--system",
        "gp.e-tergov",
        "--service",
        "person.by-pinfl",
        "--user",
        "u.karimov",
        "--issue",
        "ISS-1",
        "--since",
        "2026-01-01",
        "--json",
        env=cli_env(),
    )
    assert 0 == finished.status, finished.err
    lines = [orjson.loads(line) for line in finished.out.splitlines()]
    assert [("corr-1", "pinfl:1", "2026-01-01T00:00:01.000000Z")] == [
        (line["correlation_id"], line["subject"], line["time"]) for line in lines
    ]
    assert {"seq", "hash", "client", "service", "user_id", "issue", "status"} <= lines[0].keys()


async def test_query_command_reads_times_with_their_offset(filled):
    """`--since`/`--until` with a UTC offset: 05:00:03+05:00 is 00:00:03Z."""
    finished = await gateway(
        "audit",
        "query",
        "--url",
        filled.url,
        "--since",
        "2026-01-01T05:00:03+05:00",
        "--until",
        "2026-01-01T00:00:05Z",
        env=cli_env(),
    )
    assert 0 == finished.status, finished.err
    assert ["corr-3", "corr-4"] == [
        word.removeprefix("correlation_id=")
        for line in finished.out.splitlines()
        for word in line.split()
        if word.startswith("correlation_id=")
    ]
    assert "2 exchange(s)" in finished.err


async def test_query_command_refuses_a_time_it_cannot_read(tmp_path):
    """A bad --since is a usage error (exit 2) that says what form is expected."""
    finished = await gateway(
        "audit",
        "query",
        "--url",
        f"sqlite:///{tmp_path / 'audit.sqlite3'}",
        "--since",
        "yesterday",
        env=cli_env(),
    )
    assert 2 == finished.status
    assert "expected an ISO 8601 date or time" in finished.err
    assert "'yesterday'" in finished.err
