"""What a push of one record would come to, without a broker: the checks the push meets (the
sender, the feed, whether it is enabled, the record) in the order the gateway makes them, then
every route with each of its conditions (rate limits depend on traffic and are not tried).
``gateway routes explain`` prints it; ``gateway routes test`` compares it with what a test
case expects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from adapters import MappingError
from adapters.base import FieldProblem, InboundAdapter
from gateway.ingest.pipeline import canonicalize
from gateway.routing import MatchContext, RouteExplanation, RoutingTable


@dataclass(frozen=True, slots=True)
class DryRun:
    """One record's fate: the error a push would get, or the routes and destinations."""

    feed: str
    client: str
    error: str | None = None  # the error code a push would be answered with
    message: str | None = None
    problems: tuple[FieldProblem, ...] = ()  # for client.schema_violation
    routes: tuple[RouteExplanation, ...] = ()
    destinations: tuple[str, ...] = ()

    @property
    def taken(self) -> tuple[str, ...]:
        """Names of the routes taken."""
        return tuple(r.route for r in self.routes if r.taken)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``routes explain --json``)."""
        out: dict[str, Any] = {"feed": self.feed, "client": self.client}
        if self.error is not None:
            out["error"] = {"code": self.error, "message": self.message}
            if self.problems:
                out["error"]["problems"] = [p.as_dict() for p in self.problems]
            return out
        out["destinations"] = list(self.destinations)
        out["routes"] = [
            {
                "route": r.route,
                "taken": r.taken,
                "destinations": list(r.destinations),
                "conditions": [
                    {
                        "key": c.key,
                        "expected": list(c.expected),
                        "actual": c.shown_actual(),
                        "holds": c.holds,
                    }
                    for c in r.conditions
                ],
                **({} if r.taken else {"failed": [c.describe() for c in r.failed]}),
            }
            for r in self.routes
        ]
        return out


def dry_run(
    table: RoutingTable,
    adapters: Mapping[str, InboundAdapter],
    schemas: Mapping[str, type[BaseModel]],
    feed_name: str,
    client: str,
    native: Any,
) -> DryRun:
    """What ``client`` pushing ``native`` to ``feed_name`` would come to under ``table``."""
    if client not in table.systems:
        return DryRun(
            feed_name,
            client,
            "client.unknown_key",
            f"no system named {client!r}: its key would be refused (401)",
        )
    feed = table.feeds.get(feed_name)
    if feed is None:
        return DryRun(feed_name, client, "client.unknown_feed", f"no feed named {feed_name!r}")
    if not table.may_push(client, feed):
        return DryRun(
            feed_name,
            client,
            "client.access_denied",
            f"system {client!r} may not push to feed {feed_name!r} (not in its from:)",
        )
    if not feed.enabled:
        return DryRun(
            feed_name,
            client,
            "gateway.disabled",
            f"feed {feed_name!r} is disabled (enabled: false): pushes get 503",
        )
    try:
        payload = canonicalize(adapters[feed.adapter], schemas[feed.schema_id], native)
    except MappingError as exc:
        return DryRun(
            feed_name,
            client,
            "client.schema_violation",
            f"the record is invalid for {feed.schema_id}",
            exc.problems,
        )
    ctx = MatchContext(feed.schema_id, feed_name, client, payload)
    return DryRun(
        feed_name, client, routes=tuple(table.explain(ctx)), destinations=table.route(ctx)
    )
