"""``gateway routes check [FILE]``, ``gateway routes explain FILE --feed F RECORD.json`` and
``gateway routes test [DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

DEFAULT_CASES = "routing-tests"


def register(commands: Any) -> None:
    """Add ``routes`` and its subcommands."""
    from gateway.cli._common import default_routing_file

    parser = commands.add_parser("routes", help="check, explain and test routing.yaml")
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
        "feed's adapter, validate it, and show every route with each condition evaluated: "
        "for a route not taken, the conditions that failed. Exit status 1 when a record would "
        "be refused.",
    )
    explain.add_argument("file", metavar="FILE", help="routing table")
    explain.add_argument("--feed", required=True, help="feed the record is pushed to")
    explain.add_argument(
        "--client", help="sending system (default: the first system allowed on the feed)"
    )
    explain.add_argument(
        "--json", action="store_true", help="one JSON object per record instead of text"
    )
    explain.add_argument("record", metavar="RECORD.json", type=Path)
    explain.set_defaults(handler=_explain)

    test = sub.add_parser(
        "test",
        help="run route test cases against a routing table, without a broker",
        description="Run the YAML route test cases in DIR (every *.yaml and *.yml, recursively; "
        "or one file) against the routing table: each pushes a record to a feed and expects "
        "destinations or an error. A failure is shown as a diff with the conditions that "
        "decided. Exit status: 0 all passed; 1 a case failed; 2 the table or a case file is "
        "invalid, or there is no case.",
    )
    test.add_argument(
        "dir",
        nargs="?",
        default=DEFAULT_CASES,
        type=Path,
        metavar="DIR",
        help=f"case files (default: {DEFAULT_CASES})",
    )
    test.add_argument(
        "--routing",
        default=default_routing_file(),
        help="routing table (default: $GATEWAY_ROUTING or routing.yaml)",
    )
    test.add_argument("-v", "--verbose", action="store_true", help="name the cases that pass")
    test.set_defaults(handler=_test)


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
    from adapters import ADAPTERS
    from gateway.cli._common import load_table, schema_models
    from gateway.ingest.dry_run import dry_run

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
    runs = [dry_run(table, ADAPTERS, schema_models(), args.feed, client, r) for r in records]
    if args.json:
        for index, run in enumerate(runs):
            print(orjson.dumps({"record": index, **run.as_dict()}).decode())
    else:
        print(f"feed {args.feed} ({feed.adapter} → {feed.schema_id}), client {client}")
        for index, run in enumerate(runs):
            print(f"\nrecord {index}:")
            _print_run(run)
    return 1 if any(run.error is not None for run in runs) else 0


def _print_run(run: Any) -> None:
    if run.error == "client.schema_violation":
        print("  invalid, would get 422:")
        for problem in run.problems:
            print(f"    {problem.field or '<record>'}: {problem.message}")
        return
    if run.error is not None:
        print(f"  refused, would get {run.error}: {run.message}")
        return
    for explanation in run.routes:
        mark = "taken  " if explanation.taken else "skipped"
        print(f"  {mark} {explanation.route} → {', '.join(explanation.destinations)}")
        for condition in explanation.conditions:
            print(f"      {'✓' if condition.holds else '✗'} {condition.describe()}")
        if not explanation.taken:
            failed = ", ".join(c.key for c in explanation.failed)
            print(f"      not taken: {failed} did not match")
    print(f"  destinations: {', '.join(run.destinations)}")


def _test(args: argparse.Namespace) -> int:
    from adapters import ADAPTERS
    from gateway.cli._common import load_table, schema_models
    from gateway.routing.cases import case_files, run_cases

    table = load_table(args.routing)
    if table is None:
        return 2
    if not args.dir.exists():
        print(f"{args.dir}: no such file or directory", file=sys.stderr)
        return 2
    files = case_files(args.dir)
    report = run_cases(files, table, ADAPTERS, schema_models())
    for result in report.results:
        if not result.passed:
            print(f"FAIL {result.where()}: {result.name}")
            for line in result.diff:
                print(f"     {line}")
        elif args.verbose:
            print(f"ok   {result.where()}: {result.name}")
    for problem in report.problems:
        print(problem, file=sys.stderr)
    failed = len(report.failed)
    print(
        f"{args.routing}: {len(report.results)} case(s) in {len(files)} file(s), "
        f"{len(report.results) - failed} passed, {failed} failed"
        + (f", {len(report.problems)} problem(s) in the case files" if report.problems else "")
    )
    if report.problems or not report.results:
        if not report.results and not report.problems:
            print(f"{args.dir}: no test cases found", file=sys.stderr)
        return 2
    return 1 if failed else 0
