"""`gateway dlq list|show|replay|purge` as operators run it: a real process, a real broker."""

import getpass
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from gateway.broker import topology_for
from gateway.cli import main
from gateway.delivery import headers as h
from tests.support.amqp import delete_topology, depth, take
from tests.support.cli import command_env, gateway
from tests.support.dead_letters import declare_topology, put_dead_letter, record_body
from tests.support.gateway import repository_table
from tests.support.records import ROUTING_YAML

DEST = "etergov.crime-reports"
NOW = datetime.now(UTC)
LONG_ERROR = "HTTP 500 from the receiver: " + "the inbox is full; " * 10


@pytest.fixture
async def topology(amqp_url, namespace):
    """The repository table's topology, declared in this test's namespace, deleted after."""
    topology = topology_for(repository_table(), namespace)
    await declare_topology(amqp_url, topology)
    yield topology
    await delete_topology(amqp_url, topology)


@pytest.fixture
def queue(topology):
    """DEST's dead-letter queue."""
    return topology.dead_letter_queue_of(DEST)


@pytest.fixture
async def two(amqp_channel, queue):
    """m-1 rejected 10 days ago; m-2 out of retries 2 hours ago, with a long last error."""
    await put_dead_letter(
        amqp_channel, queue, record_body(1), message_id="m-1", failed_at=NOW - timedelta(10)
    )
    await put_dead_letter(
        amqp_channel,
        queue,
        record_body(2),
        message_id="m-2",
        reason="retries_exhausted",
        attempts=3,
        failed_at=NOW - timedelta(hours=2),
        last_error=LONG_ERROR,
    )


@pytest.fixture
def dlq(amqp_url, namespace):
    """Run `gateway dlq ARGS --routing routing.yaml` against this test's namespace."""

    async def run(*args, stdin="", **env):
        return await gateway(
            "dlq",
            *args,
            "--routing",
            str(ROUTING_YAML),
            env=command_env(amqp_url, namespace, **env),
            stdin=stdin,
        )

    return run


def stamp(moment):
    """A time as the list shows it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_list_prints_one_line_per_message_oldest_first_and_a_count(dlq, two, queue):
    """ID, last failure, attempts, reason, the last error shortened; then the count."""
    done = await dlq("list", DEST)
    assert 0 == done.status, done.err
    header, first, second, count = done.out.splitlines()
    assert ["ID", "LAST", "FAILED", "ATTEMPTS", "REASON", "LAST", "ERROR"] == header.split()
    assert ["m-1", stamp(NOW - timedelta(10)), "1", "rejected", "HTTP", "400"] == first.split()[:6]
    assert ["m-2", stamp(NOW - timedelta(hours=2)), "3", "retries_exhausted"] == second.split()[:4]
    error = second[header.index("LAST ERROR") :]
    assert error.endswith("…")
    assert LONG_ERROR.startswith(error[:-1])
    assert f"2 dead letters in {queue}" == count


async def test_list_json_prints_one_object_per_message(dlq, two):
    """--json: one JSON object per line with the message's fields, no count line."""
    done = await dlq("list", DEST, "--json")
    assert 0 == done.status, done.err
    first, second = (orjson.loads(line) for line in done.out.splitlines())
    assert {
        "id": "m-1",
        "message_id": "m-1",
        "correlation_id": "corr-m-1",
        "schema": "crime_report/1",
        "reason": "rejected",
        "attempts": 1,
        "first_failed_at": (NOW - timedelta(10)).isoformat(),
        "last_failed_at": (NOW - timedelta(10)).isoformat(),
        "last_error": "HTTP 400 from the receiver: fake receiver says 400",
        "replays": 0,
        "size": len(record_body(1)),
    } == first
    assert (LONG_ERROR, 3) == (second["last_error"], second["attempts"])


async def test_list_with_a_limit_says_how_many_there_are(dlq, two, queue):
    """--limit 1 shows the oldest and counts both."""
    done = await dlq("list", DEST, "--limit", "1")
    lines = done.out.splitlines()
    assert (0, 3) == (done.status, len(lines))
    assert "m-1" == lines[1].split()[0]
    assert f"1 of 2 dead letters in {queue}" == lines[-1]


async def test_list_of_an_empty_queue_says_so(dlq, queue):
    """No dead letters: one line saying so, exit status 0."""
    done = await dlq("list", DEST)
    assert (0, f"no dead letters in {queue}\n") == (done.status, done.out)


async def test_list_leaves_the_queue_as_it_was(dlq, two, queue, amqp_channel):
    """Listing takes nothing away and reorders nothing."""
    await dlq("list", DEST)
    await dlq("list", DEST, "--json")
    assert ["m-1", "m-2"] == [m.message_id for m in await take(amqp_channel, queue, 2)]


async def test_show_prints_properties_headers_and_the_body_as_json(dlq, two, queue):
    """Every property and header on its own line, then the body pretty-printed."""
    done = await dlq("show", DEST, "m-2")
    assert 0 == done.status, done.err
    lines = done.out.splitlines()
    assert f"dead letter m-2 in {queue}, position 2" == lines[0]
    fields = [line.split(None, 1) for line in lines if line.startswith("  ") and ":" in line]
    for expected in (
        ["message_id:", "m-2"],
        ["correlation_id:", "corr-m-2"],
        ["type:", "crime_report/1"],
        ["delivery_mode:", "2"],
        [f"{h.REASON}:", "retries_exhausted"],
        [f"{h.ATTEMPTS}:", "3"],
        [f"{h.LAST_ERROR}:", LONG_ERROR],
        ["client:", "mvd.crime-registry"],
    ):
        assert expected in fields
    body = done.out.split(f"body ({len(record_body(2))} bytes, JSON):\n", 1)[1]
    assert orjson.loads(record_body(2)) == orjson.loads(body)
    assert '  "summary": "Огиз kesilgan",' in body.splitlines()


async def test_show_prints_a_body_that_is_not_json_safely(dlq, amqp_channel, queue):
    """Binary bytes as a hex dump; no terminal escape reaches the screen."""
    await put_dead_letter(
        amqp_channel, queue, b"\x1b[2J\xff\x00 gone", message_id="bin-1", last_error="\x1b[31mred"
    )
    done = await dlq("show", DEST, "bin-1")
    assert 0 == done.status, done.err
    assert "\x1b" not in done.out
    assert "body (11 bytes, binary):" in done.out
    assert "00000000  1b 5b 32 4a ff 00 20 67 6f 6e 65" in done.out
    assert "last error:    \\x1b[31mred" in done.out.splitlines()


async def test_unknown_destination_exits_2_naming_the_known_ones(dlq):
    """A DEST not in the routing table: exit 2 and the destinations there are."""
    done = await dlq("list", "etergov.nowhere")
    assert 2 == done.status
    assert "unknown destination 'etergov.nowhere'" in done.err
    assert "etergov.crime-reports, etergov.court-decisions" in done.err


async def test_unknown_id_exits_1(dlq, two, queue):
    """show of an id no message has: exit 1 with one line."""
    done = await dlq("show", DEST, "m-9")
    assert (1, f"no dead letter with id 'm-9' in {queue}\n") == (done.status, done.err)


async def test_replay_by_id_moves_it_and_logs_who_did(dlq, two, topology, amqp_channel, queue):
    """replay --id m-2: on the work queue, gone from the DLQ, one dlq.replayed event."""
    done = await dlq("replay", DEST, "--id", "m-2")
    assert 0 == done.status, done.err
    assert done.out.startswith("replayed m-2 (retries_exhausted, 3 attempts, last failed ")
    assert done.out.endswith(f"replayed 1 dead letter from {queue} to {topology.queue_of(DEST)}\n")
    [event] = [orjson.loads(line) for line in done.err.splitlines()]
    assert {
        "event": "dlq.replayed",
        "destination": DEST,
        "message_id": "m-2",
        "reason": "retries_exhausted",
        "operator": getpass.getuser(),
    }.items() <= event.items()
    [copy] = await take(amqp_channel, topology.queue_of(DEST), 1)
    assert ("m-2", record_body(2), 1) == (copy.message_id, copy.body, copy.headers[h.REPLAYS])
    assert ["m-1"] == [m.message_id for m in await take(amqp_channel, queue, 1)]


async def test_replay_dry_run_changes_nothing(dlq, two, topology, amqp_channel, queue):
    """--all --dry-run names both and moves none."""
    done = await dlq("replay", DEST, "--all", "--dry-run")
    assert 0 == done.status, done.err
    assert ["would replay m-1", "would replay m-2"] == [
        " ".join(line.split()[:3]) for line in done.out.splitlines()[:2]
    ]
    assert "nothing changed" in done.out
    assert "" == done.err
    assert 0 == await depth(amqp_channel, topology.queue_of(DEST))
    assert 2 == await depth(amqp_channel, queue)


async def test_purge_answered_no_deletes_nothing(dlq, two, queue, amqp_channel):
    """Without --yes it says how many would go and asks; "n" keeps everything."""
    done = await dlq("purge", DEST, "--older-than", "7d", stdin="n\n")
    assert 1 == done.status
    assert done.out.startswith(f"1 dead letter in {queue} last failed before ")
    assert "  m-1 (rejected, 1 attempt, last failed " in done.out
    assert "Delete these 1? [y/N] nothing deleted\n" in done.out
    assert ["m-1", "m-2"] == [m.message_id for m in await take(amqp_channel, queue, 2)]


async def test_purge_answered_yes_deletes_the_older_ones(dlq, two, queue, amqp_channel):
    """ "y" deletes what was older than T; the rest stays."""
    done = await dlq("purge", DEST, "--older-than", "7d", stdin="y\n")
    assert 0 == done.status, done.err
    assert f"purged 1 dead letter from {queue}" in done.out
    assert ["m-2"] == [m.message_id for m in await take(amqp_channel, queue, 1)]
    assert 0 == await depth(amqp_channel, queue)


async def test_purge_with_yes_deletes_without_asking_and_logs_each(dlq, two, queue, amqp_channel):
    """--yes: no question; both older than 1h go, one dlq.purged event each."""
    done = await dlq("purge", DEST, "--older-than", "1h", "--yes")
    assert 0 == done.status, done.err
    assert "[y/N]" not in done.out
    assert done.out.endswith("; 0 stay\n")
    events = [orjson.loads(line) for line in done.err.splitlines()]
    assert [("dlq.purged", "m-1", getpass.getuser()), ("dlq.purged", "m-2", getpass.getuser())] == [
        (e["event"], e["message_id"], e["operator"]) for e in events
    ]
    assert 0 == await depth(amqp_channel, queue)


async def test_purge_of_nothing_old_enough_asks_nothing(dlq, two, queue, amqp_channel):
    """Nothing older than 30d: says so, exit 0, both stay."""
    done = await dlq("purge", DEST, "--older-than", "30d")
    assert 0 == done.status, done.err
    assert done.out.startswith(f"no dead letters in {queue} last failed before ")
    assert 2 == await depth(amqp_channel, queue)


async def test_a_queue_never_declared_exits_2(dlq, namespace):
    """No topology on the broker: one line naming the queue, exit 2."""
    done = await dlq("list", DEST)
    assert 2 == done.status
    assert done.err.startswith(f"queue '{namespace}.{DEST}.dlq' does not exist on the broker")


async def test_unreachable_rabbitmq_exits_3_with_one_line(dlq):
    """RabbitMQ not listening: one line on stderr (no password in it), exit 3."""
    done = await dlq("list", DEST, GATEWAY_AMQP_URL="amqp://guest:s3cret@127.0.0.1:1/")
    assert 3 == done.status
    [line] = done.err.splitlines()
    assert line.startswith("cannot connect to RabbitMQ at amqp://guest@127.0.0.1:1/: ")
    assert "s3cret" not in line


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["replay", DEST], "one of the arguments --id --all is required"),
        (["replay", DEST, "--id", "m-1", "--all"], "not allowed with argument"),
        (["purge", DEST, "--older-than", "soon"], "'soon' is not a duration"),
        (["purge", DEST], "the following arguments are required: --older-than"),
        (["list", DEST, "--limit", "0"], "must be 1 or more"),
        (["show", DEST], "the following arguments are required: ID"),
    ],
)
def test_usage_errors_exit_2(args, problem, capsys):
    """Missing or malformed arguments are refused before anything is read."""
    with pytest.raises(SystemExit) as exit_:
        main(["dlq", *args])
    assert 2 == exit_.value.code
    assert problem in capsys.readouterr().err


@pytest.mark.parametrize(
    "args", [["dlq"], ["dlq", "list"], ["dlq", "show"], ["dlq", "replay"], ["dlq", "purge"]]
)
def test_every_dlq_command_has_help(args):
    """`gateway dlq ... --help` works (through the real entry point)."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == result.returncode, result.stderr
    assert f"usage: gateway {' '.join(args)}" in result.stdout
