"""The Gateway: the one object that owns the routing table, broker, metrics and pipeline."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from pydantic import BaseModel

from adapters.base import InboundAdapter
from gateway.broker import Broker, topology_for
from gateway.config import Settings
from gateway.metrics import Metrics
from gateway.pipeline import IngestPipeline
from gateway.routing import RoutingTable


class Gateway:
    """Opens its parts in order and closes them in reverse; ``aclose()`` twice is harmless."""

    def __init__(
        self,
        settings: Settings,
        table: RoutingTable,
        *,
        adapters: Mapping[str, InboundAdapter],
        schemas: Mapping[str, type[BaseModel]],
    ) -> None:
        self.settings = settings
        self._table = table
        self.metrics = Metrics()
        self.broker = Broker(
            settings.amqp_url,
            topology_for(table, settings.namespace),
            publish_timeout=settings.publish_timeout,
            retry_after=settings.retry_after,
        )
        self.metrics.watch_broker(lambda: self.broker.ready)
        self.pipeline = IngestPipeline(self.broker, adapters, schemas, self.metrics)
        self._stack = contextlib.AsyncExitStack()

    @property
    def table(self) -> RoutingTable:
        """The routing table in force; a request takes it once and keeps it to the end."""
        return self._table

    async def start(self) -> None:
        """Start connecting to the broker (in the background)."""
        await self.broker.start()
        self._stack.push_async_callback(self.broker.aclose)

    async def aclose(self) -> None:
        """Close everything that start() opened, in reverse order."""
        await self._stack.aclose()

    def readiness(self) -> dict[str, str | None]:
        """Check name → None when fine, else what is wrong."""
        return {
            "routing": None if self._table.feeds else "the routing table declares no feeds",
            "broker": self.broker.problem,
        }
