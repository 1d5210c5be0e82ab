"""``gateway audit verify|query``: check the audit chain, and ask it who looked at what.

The store is GATEWAY_AUDIT_URL unless ``--url`` names another; checkpoint signatures are
checked with GATEWAY_AUDIT_KEY. Exit status: 0 done (verify: the chain is intact); 1 verify
found an altered, missing or reordered record, or a forged checkpoint; 2 a usage error (a bad
time, an unknown URL scheme); 3 the store cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.audit import AuditStore

_DEFAULT_URL = "sqlite:///var/audit.sqlite3"
#: problems printed after the first, at most
_MORE_PROBLEMS = 20
_MICROSECOND = timedelta(microseconds=1)


def register(commands: Any) -> None:
    """Add ``audit`` and its subcommands."""
    parser = commands.add_parser(
        "audit",
        help="verify the audit log's chain; query who looked at what",
        description="The audit log: every exchange in a hash-chained store with signed "
        "checkpoints. Exit status: 0 done, 1 verify found a problem, 2 usage error, "
        "3 store unreachable.",
    )
    sub = parser.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=None,
        help="audit store (default: $GATEWAY_AUDIT_URL, else sqlite:///var/audit.sqlite3)",
    )

    verify = sub.add_parser(
        "verify",
        parents=[common],
        help="walk the chain and the checkpoints; name the first record that is not as written",
        description="Check every record's hash, its place in the chain and the link to the one "
        "before it, and every checkpoint's signature (with $GATEWAY_AUDIT_KEY). Exit 0 with a "
        "summary when all holds; exit 1 naming the first altered, missing or reordered record "
        "(and the others found).",
    )
    verify.set_defaults(handler=_handler(_verify))

    query = sub.add_parser(
        "query",
        parents=[common],
        help="the exchanges that match every filter given, oldest first",
        description="Who looked at what, when, for which case: the exchanges matching every "
        "filter given (times in ISO 8601, UTC unless they say otherwise; --since inclusive, "
        "--until exclusive).",
    )
    query.add_argument("--system", metavar="S", help="the calling or sending system")
    query.add_argument("--service", metavar="X", help="a record-request service")
    query.add_argument("--feed", metavar="F", help="a feed")
    query.add_argument("--user", metavar="U", help="the user id the caller gave (X-User-Id)")
    query.add_argument("--issue", metavar="N", help="the case number the caller gave (X-Issue)")
    query.add_argument("--subject", metavar="ID", help="who or what was asked about")
    query.add_argument("--kind", metavar="K", help="feed, service, wsdl, admin, file, ...")
    query.add_argument("--since", metavar="T", type=_moment, help="from this time on")
    query.add_argument("--until", metavar="T", type=_moment, help="before this time")
    query.add_argument("--limit", metavar="N", type=_positive_int, help="the first N only")
    query.add_argument(
        "--json", action="store_true", help="one JSON object per exchange (the whole record)"
    )
    query.set_defaults(handler=_handler(_query))


def _handler(
    action: Callable[[AuditStore, argparse.Namespace], Awaitable[int]],
) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        from gateway.audit import open_audit_store
        from gateway.errors import AuditUnavailableError

        url = args.url or os.environ.get("GATEWAY_AUDIT_URL") or _DEFAULT_URL
        try:
            store = open_audit_store(url, timeout_s=10.0)
        except ValueError as exc:
            print(f"gateway audit: {exc}", file=sys.stderr)
            return 2

        async def run() -> int:
            try:
                return await action(store, args)
            finally:
                await store.aclose()

        try:
            return asyncio.run(run())
        except AuditUnavailableError as exc:
            print(f"gateway audit: {exc.message}", file=sys.stderr)
            return 3
        except KeyboardInterrupt:
            return 130

    return handle


async def _verify(store: AuditStore, _args: argparse.Namespace) -> int:
    from gateway.audit import verify_chain

    key = os.environ.get("GATEWAY_AUDIT_KEY", "").encode("utf-8") or None
    report = await verify_chain(store, key)
    first = report.first
    if first is None:
        print(f"audit chain intact: {report.summary()}")
        return 0
    print(f"audit chain BROKEN at record {first.seq} ({first.kind}): {first.message}")
    others = [p for p in sorted(report.problems, key=lambda p: p.seq) if p is not first]
    for problem in others[:_MORE_PROBLEMS]:
        print(f"  also record {problem.seq} ({problem.kind}): {problem.message}")
    if len(others) > _MORE_PROBLEMS:
        print(f"  ... and {len(others) - _MORE_PROBLEMS} more")
    print(f"checked: {report.summary()}")
    return 1


async def _query(store: AuditStore, args: argparse.Namespace) -> int:
    import orjson

    from gateway.audit import AuditQuery

    found = await store.query(
        AuditQuery(
            client=args.system,
            service=args.service,
            feed=args.feed,
            user_id=args.user,
            issue=args.issue,
            subject=args.subject,
            kind=args.kind,
            since_us=args.since,
            until_us=args.until,
            limit=args.limit,
        )
    )
    out = sys.stdout
    for row in found:
        record = row.record()
        exchange = record["exchange"]
        if args.json:
            line = {"seq": row.seq, "hash": row.hash, **exchange}
            out.write(orjson.dumps(line).decode() + "\n")
            continue
        target = exchange.get("service") or exchange.get("feed") or exchange.get("path") or "-"
        out.write(
            f"{row.seq:>8}  {exchange['time']}  {exchange['kind']:<8} "
            f"{exchange.get('client') or '-':<24} {target:<24} "
            f"user={exchange.get('user_id') or '-'} issue={exchange.get('issue') or '-'} "
            f"subject={exchange.get('subject') or '-'} status={exchange.get('status')} "
            f"{exchange.get('outcome')} correlation_id={exchange.get('correlation_id')}\n"
        )
    if not args.json:
        print(f"{len(found)} exchange(s)", file=sys.stderr)
    return 0


def _moment(text: str) -> int:
    """An ISO 8601 date or time as microseconds since the epoch (UTC unless it says)."""
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date or time (2026-01-31, 2026-01-31T12:00:00Z, "
            f"2026-01-31T17:00:00+05:00), got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return (moment - epoch) // _MICROSECOND


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value
