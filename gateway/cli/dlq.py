"""``gateway dlq list|show|replay|purge``: the operators' tools for dead-letter queues.

The queue work itself is :class:`gateway.delivery.DeadLetterQueue`'s; this module parses the
command line, prints, and asks. Exit status: 0 done; 1 no such id (or an ambiguous
abbreviation), or a purge the operator declined; 2 a usage error (an invalid routing table, an
unknown destination, a queue that does not exist on the broker); 3 RabbitMQ unreachable or
failing part-way; 130 interrupted. The ``dlq.replayed`` and ``dlq.purged`` events are logged
as JSON lines on stderr, so that stdout carries only the command's own output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from gateway.broker import Topology
    from gateway.config import Settings
    from gateway.delivery import DeadLetter, DeadLetterQueue

#: how long connecting to RabbitMQ may take before the command gives up
_CONNECT_TIMEOUT_S = 10.0
#: how many characters of the last error a ``list`` line shows
_ERROR_WIDTH = 60
#: how many of the messages a purge would delete are named before it asks
_PURGE_PREVIEW = 10

Action = Callable[["DeadLetterQueue", argparse.Namespace], Awaitable[int]]


class _Age(NamedTuple):
    text: str
    seconds: float


def register(commands: Any) -> None:
    """Add ``dlq`` and its subcommands."""
    from gateway.cli._common import default_routing_file

    parser = commands.add_parser(
        "dlq",
        help="list, show, replay and purge dead-letter queues",
        description="Inspect a destination's dead-letter queue, put messages back on its work "
        "queue, or delete old ones. RabbitMQ and the namespace come from GATEWAY_AMQP_URL and "
        "GATEWAY_NAMESPACE. Exit status: 0 done, 1 no such id or purge declined, 2 usage "
        "error or queue missing on the broker, 3 RabbitMQ unreachable or failing.",
    )
    sub = parser.add_subparsers(dest="dlq_command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--routing",
        default=default_routing_file(),
        help="routing table (default: $GATEWAY_ROUTING or routing.yaml)",
    )
    common.add_argument("destination", metavar="DEST", help="a destination of the routing table")

    list_ = sub.add_parser(
        "list",
        parents=[common],
        help="every dead letter of DEST, oldest first",
        description="Print every message in DEST's dead-letter queue, oldest first: id, last "
        "failure, attempts, reason and last error. The queue is left exactly as it was.",
    )
    list_.add_argument("--limit", type=_positive_int, metavar="N", help="the first N only")
    list_.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per message (id, message_id, correlation_id, schema, reason, "
        "attempts, first_failed_at, last_failed_at, last_error, replays, size)",
    )
    list_.set_defaults(handler=_handler(_list))

    show = sub.add_parser(
        "show",
        parents=[common],
        help="one dead letter: properties, headers and body",
        description="Print one message of DEST's dead-letter queue: its AMQP properties, all "
        "its headers and its body (pretty-printed when it is JSON). ID may be abbreviated to "
        "a prefix of 4 or more characters that starts exactly one id.",
    )
    show.add_argument("id", metavar="ID", help="the message's id, as `dlq list` shows it")
    show.set_defaults(handler=_handler(_show))

    replay = sub.add_parser(
        "replay",
        parents=[common],
        help="put dead letters back on DEST's work queue",
        description="Publish each chosen message back to DEST's work queue (body byte for "
        "byte, properties kept, failure headers removed, replayed_at and replays set) and "
        "remove it from the dead-letter queue once RabbitMQ confirmed the copy.",
    )
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--id",
        dest="ids",
        action="append",
        metavar="ID",
        help="a message to replay (repeat for several)",
    )
    which.add_argument("--all", action="store_true", help="every message in the queue")
    replay.add_argument(
        "--dry-run", action="store_true", help="show what would be replayed; change nothing"
    )
    replay.set_defaults(handler=_handler(_replay))

    purge = sub.add_parser(
        "purge",
        parents=[common],
        help="delete dead letters whose last failure is older than T",
        description="Delete the messages of DEST's dead-letter queue whose last failure "
        "(last_failed_at, else RabbitMQ's x-death time, else the AMQP timestamp) is older "
        "than T. Asks first unless --yes; the others stay, in their order.",
    )
    purge.add_argument(
        "--older-than",
        required=True,
        type=_age,
        metavar="T",
        help="a duration: 30m, 12h, 7d, ...",
    )
    purge.add_argument("--yes", action="store_true", help="do not ask")
    purge.set_defaults(handler=_handler(_purge))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _age(text: str) -> _Age:
    from gateway.routing.spec import parse_duration

    try:
        return _Age(text, parse_duration(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _handler(action: Action) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        return _run(args, action)

    return handle


def _run(args: argparse.Namespace, action: Action) -> int:
    """Settings, logging and the routing table; then ``action`` on DEST's queue."""
    import logging

    from gateway.broker import topology_for
    from gateway.cli._common import load_table
    from gateway.config import Settings
    from gateway.log import configure_logging

    settings = Settings()
    with contextlib.redirect_stdout(sys.stderr):  # the events go to stderr, the output to stdout
        configure_logging(settings.log_level, settings.log_format, settings.redaction_key)
    for name in ("aiormq", "aio_pika"):  # their own complaints; ours are one line each
        logging.getLogger(name).setLevel(logging.CRITICAL)
    table = load_table(args.routing)
    if table is None:
        return 2
    if args.destination not in table.destinations:
        known = ", ".join(table.destinations) or "none"
        return _fail(
            2, f"unknown destination {args.destination!r} in {args.routing} (destinations: {known})"
        )
    topology = topology_for(table, settings.namespace)
    try:
        return asyncio.run(_session(settings, topology, args, action))
    except KeyboardInterrupt:
        return _fail(130, "interrupted; every message not yet replayed or purged is still queued")


async def _session(
    settings: Settings, topology: Topology, args: argparse.Namespace, action: Action
) -> int:
    """Connect, run ``action``, and turn its failures into one line and an exit status."""
    import aio_pika

    from gateway.delivery import (
        DeadLetterQueue,
        QueueMissingError,
        ReplayFailedError,
        UnknownDeadLetterError,
    )
    from gateway.delivery.dead_letters import current_operator
    from gateway.errors import BrokerUnavailableError

    operator = current_operator()
    try:
        connection = await aio_pika.connect(
            settings.amqp_url,
            timeout=_CONNECT_TIMEOUT_S,
            client_properties={"connection_name": f"gateway dlq ({operator})"},
        )
    except Exception as exc:
        return _fail(3, f"cannot connect to RabbitMQ at {_safe_url(settings.amqp_url)}: {exc}")
    try:
        queue = DeadLetterQueue(
            connection,
            topology,
            args.destination,
            operator=operator,
            publish_timeout=settings.publish_timeout,
        )
        return await action(queue, args)
    except QueueMissingError as exc:
        return _fail(2, str(exc))
    except UnknownDeadLetterError as exc:
        return _fail(1, str(exc))
    except ReplayFailedError as exc:
        for letter in exc.replayed:
            print(f"replayed {_clean(letter.id)}")
        return _fail(3, f"replay stopped after {len(exc.replayed)}: {exc}")
    except BrokerUnavailableError as exc:
        return _fail(3, exc.message)
    finally:
        with contextlib.suppress(Exception):
            await connection.close()


async def _list(queue: DeadLetterQueue, args: argparse.Namespace) -> int:
    import orjson

    letters = await queue.list(args.limit)
    if args.json:
        for letter in letters:
            print(orjson.dumps(letter.summary()).decode())
        if not letters:
            print(f"no dead letters in {queue.queue}", file=sys.stderr)
        return 0
    if not letters:
        print(f"no dead letters in {queue.queue}")
        return 0
    header = ("ID", "LAST FAILED", "ATTEMPTS", "REASON", "LAST ERROR")
    rows = [
        (
            _clean(letter.id),
            _when(letter.last_failed_at),
            str(letter.attempts),
            _clean(letter.reason),
            _shorten(letter.last_error),
        )
        for letter in letters
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
    for id_, when, attempts, reason, error in (header, *rows):
        print(
            f"{id_:<{widths[0]}}  {when:<{widths[1]}}  {attempts:>{widths[2]}}  "
            f"{reason:<{widths[3]}}  {error}".rstrip()
        )
    total = len(letters)
    if args.limit is not None and total == args.limit:
        total = max(total, await queue.count())
    shown = f"{len(letters)} of {total}" if total > len(letters) else str(total)
    print(f"{shown} {_plural(total)} in {queue.queue}")
    return 0


async def _show(queue: DeadLetterQueue, args: argparse.Namespace) -> int:
    letter = await queue.get(args.id)
    print(f"dead letter {_clean(letter.id)} in {queue.queue}, position {letter.position}")
    _print_fields(
        [
            ("reason", letter.reason),
            ("attempts", letter.attempts),
            ("first failed", _when(letter.first_failed_at)),
            ("last failed", _when(letter.last_failed_at)),
            ("last error", letter.last_error or "-"),
            ("replays", letter.replays),
        ],
        indent="",
    )
    print("properties:")
    _print_fields(list(letter.properties.items()), indent="  ")
    print("headers:")
    _print_fields(sorted(letter.headers.items()), indent="  ")
    kind, text = _render_body(letter.body)
    print(f"body ({letter.size} bytes, {kind}):")
    print(text)
    return 0


async def _replay(queue: DeadLetterQueue, args: argparse.Namespace) -> int:
    letters = await queue.replay(None if args.all else args.ids, dry_run=args.dry_run)
    if not letters:
        print(f"no dead letters in {queue.queue}")
        return 0
    verb = "would replay" if args.dry_run else "replayed"
    for letter in letters:
        print(f"{verb} {_describe(letter)}")
    if args.dry_run:
        print(
            f"dry run: {len(letters)} {_plural(len(letters))} would go from {queue.queue} back "
            f"to {queue.work_queue}; nothing changed"
        )
    else:
        print(
            f"replayed {len(letters)} {_plural(len(letters))} from {queue.queue} "
            f"to {queue.work_queue}"
        )
    return 0


async def _purge(queue: DeadLetterQueue, args: argparse.Namespace) -> int:
    from datetime import UTC, timedelta

    age: _Age = args.older_than
    cutoff = datetime.now(UTC) - timedelta(seconds=age.seconds)
    before = f"last failed before {_when(cutoff)} (older than {age.text})"
    doomed = await queue.purge(cutoff, dry_run=True)
    if not doomed:
        print(f"no dead letters in {queue.queue} {before}")
        return 0
    if not args.yes:
        print(f"{len(doomed)} {_plural(len(doomed))} in {queue.queue} {before}:")
        for letter in doomed[:_PURGE_PREVIEW]:
            print(f"  {_describe(letter)}")
        if len(doomed) > _PURGE_PREVIEW:
            print(f"  ... and {len(doomed) - _PURGE_PREVIEW} more")
        answer = await _ask(f"Delete these {len(doomed)}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    purged = await queue.purge(cutoff, limit=len(doomed))
    remaining = await queue.count()
    print(
        f"purged {len(purged)} {_plural(len(purged))} from {queue.queue} ({before}); "
        f"{remaining} stay"
    )
    return 0


async def _ask(prompt: str) -> str:
    """One line from stdin ("" at end of input), read in a thread so the event loop (and the
    connection's heartbeats) go on. A daemon thread: an interrupted prompt cannot hold up the
    exit."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def settle(line: str) -> None:
        if not answer.done():
            answer.set_result(line)

    def read() -> None:
        try:
            line = input(prompt)
        except (EOFError, OSError, ValueError):
            line = ""
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            loop.call_soon_threadsafe(settle, line)

    threading.Thread(target=read, name="dlq-prompt", daemon=True).start()
    return await answer


def _describe(letter: DeadLetter) -> str:
    attempts = f"{letter.attempts} attempt{'' if letter.attempts == 1 else 's'}"
    return (
        f"{_clean(letter.id)} ({_clean(letter.reason)}, {attempts}, "
        f"last failed {_when(letter.last_failed_at)})"
    )


def _print_fields(fields: Sequence[tuple[str, Any]], indent: str) -> None:
    width = max((len(_clean(name)) for name, _ in fields), default=0) + 1
    for name, value in fields:
        print(f"{indent}{_clean(name) + ':':<{width}}  {_value(value)}")


def _value(value: Any) -> str:
    """A header or property value on one line, safe for a terminal."""
    import enum

    import orjson

    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bytes | bytearray):
        return _clean(repr(bytes(value)))
    if isinstance(value, list | tuple | dict):
        return _clean(orjson.dumps(_jsonable(value)).decode())
    return _clean(str(value))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return repr(bytes(value))
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _render_body(body: bytes) -> tuple[str, str]:
    """(what the body is, how to print it): pretty JSON, else escaped text, else a hex dump."""
    import orjson

    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    else:
        return "JSON", _clean(orjson.dumps(parsed, option=orjson.OPT_INDENT_2).decode(), "\n")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "binary", _hexdump(body)
    return "text, not JSON", _clean(text, "\n")


def _hexdump(data: bytes) -> str:
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        chars = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<47}  |{chars}|")
    return "\n".join(lines)


def _clean(text: str, keep: str = "") -> str:
    """``text`` with every non-printable character (terminal escapes!) written as an escape."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or c in keep else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def _shorten(text: str | None) -> str:
    if not text:
        return "-"
    flat = _clean(" ".join(text.split()))
    return flat if len(flat) <= _ERROR_WIDTH else flat[: _ERROR_WIDTH - 1] + "…"


def _when(value: datetime | None) -> str:
    from datetime import UTC

    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plural(count: int) -> str:
    return "dead letter" if count == 1 else "dead letters"


def _safe_url(url: str) -> str:
    """The broker's URL without its password."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{user}{parts.hostname or ''}{port}{parts.path}"


def _fail(status: int, message: str) -> int:
    print(message, file=sys.stderr)
    return status
