"""``gateway routes check [FILE]`` and ``gateway routes explain FILE --feed F RECORD.json``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson


def register(commands: Any) -> None:
    """Add ``routes`` and its subcommands."""
    from gateway.cli._common import default_routing_file

    parser = commands.add_parser("routes", help="check and explain routing.yaml")
    sub = parser.add_subparsers(dest="routes_command", required=True, metavar="COMMAND")

    check = sub.add_parser(
        "check",
        help="validate a routing table; non-zero exit listing every problem",
        description="Validate a routing table without touching the broker. Every problem is "
        "printed as FILE:LINE: KEY.PATH: MESSAGE; the exit status is 1 if there is any.",
    )
    check.add_argument("file", nargs="?", default=default_routing_file(), metavar="FILE")
    check.set_defaults(handler=_check)

    explain = sub.add_parser(
        "explain",
        help="show which routes a record would take, and why",
        description="Map RECORD (the feed's native JSON: one object or an array) through the "
        "feed's adapter, validate it, and show every route with each condition evaluated.",
    )
    explain.add_argument("file", metavar="FILE", help="routing table")
    explain.add_argument("--feed", required=True, help="feed the record is pushed to")
    explain.add_argument(
        "--client", help="sending system (default: the first system allowed on the feed)"
    )
    explain.add_argument("record", metavar="RECORD.json", type=Path)
    explain.set_defaults(handler=_explain)


def _check(args: argparse.Namespace) -> int:
    from gateway.cli._common import load_table

    table = load_table(args.file)
    if table is None:
        return 1
    print(
        f"{args.file}: OK ({len(table.systems)} systems, {len(table.feeds)} feeds, "
        f"{len(table.routes)} routes, {len(table.destinations)} destinations)"
    )
    return 0


def _explain(args: argparse.Namespace) -> int:
    from adapters import ADAPTERS, MappingError
    from gateway.cli._common import load_table, schema_models
    from gateway.ingest import canonicalize
    from gateway.routing import MatchContext

    table = load_table(args.file)
    if table is None:
        return 1
    feed = table.feeds.get(args.feed)
    if feed is None:
        print(f"unknown feed {args.feed!r} (feeds: {', '.join(table.feeds)})", file=sys.stderr)
        return 1
    client = args.client or next(
        (s for s in table.systems if table.may_push(s, feed)), feed.from_[0]
    )
    try:
        data = orjson.loads(args.record.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        print(f"{args.record}: {exc}", file=sys.stderr)
        return 1
    records = data if isinstance(data, list) else [data]
    adapter, model = ADAPTERS[feed.adapter], schema_models()[feed.schema_id]
    status = 0
    print(f"feed {args.feed} ({feed.adapter} → {feed.schema_id}), client {client}")
    if not table.may_push(client, feed):
        print(f"  note: {client} is not in the feed's from: it would get 403")
    for index, native in enumerate(records):
        print(f"\nrecord {index}:")
        try:
            payload = canonicalize(adapter, model, native)
        except MappingError as exc:
            status = 1
            print("  invalid, would get 422:")
            for problem in exc.problems:
                print(f"    {problem.field or '<record>'}: {problem.message}")
            continue
        ctx = MatchContext(feed.schema_id, args.feed, client, payload)
        for explanation in table.explain(ctx):
            mark = "taken  " if explanation.taken else "skipped"
            print(f"  {mark} {explanation.route} → {', '.join(explanation.destinations)}")
            for condition in explanation.conditions:
                print(f"      {'✓' if condition.holds else '✗'} {condition.describe()}")
        print(f"  destinations: {', '.join(table.route(ctx))}")
    return status
