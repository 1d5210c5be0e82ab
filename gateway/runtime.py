"""The Gateway: the one object that owns the routing table, broker, stores, workers, pipeline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

import structlog
from pydantic import BaseModel

from adapters.base import InboundAdapter
from adapters.outbound import OutboundAdapter
from adapters.providers.base import ProviderAdapter
from gateway.broker import Broker, topology_for
from gateway.config import Settings
from gateway.dedup import IdempotencyStore, open_store
from gateway.delivery import DeliveryWorker
from gateway.errors import BrokerUnavailableError, DedupUnavailableError
from gateway.ingest import IngestDeduplicator, IngestPipeline
from gateway.metrics import Metrics
from gateway.routing import DeliverySpec, RoutingTable
from gateway.services import ProviderWorker, ServiceCaller
from schemas import Query

log = structlog.get_logger("gateway")
_WORKER_RESTART_S = 5.0
_STORE_PING_S = 2.0
DelivererFactory = Callable[[DeliverySpec], OutboundAdapter]


class Worker(Protocol):
    """A consumer the gateway starts once the broker is ready and stops on the way out."""

    @property
    def label(self) -> str:
        """What it consumes for, in logs and readiness: ``destination etergov.crime-reports``."""
        ...

    @property
    def running(self) -> bool:
        """True while it consumes on an open channel."""
        ...

    async def start(self, connection: Any) -> None:
        """Open its channel and start consuming."""
        ...

    async def stop_consuming(self) -> None:
        """Take no more messages."""
        ...

    async def stop(self, timeout: float) -> None:
        """Finish what is in hand (up to ``timeout``) and close."""
        ...


class Gateway:
    """Opens its parts in order and closes them in reverse; ``aclose()`` twice is harmless.

    ``deliverers`` builds the outbound adapter of each destination that has ``deliver:``;
    ``providers`` are the provider adapters record-request services may name. With
    ``run_workers=False`` the gateway only serves (delivery and provider workers run
    elsewhere, e.g. under ``gateway worker``).
    """

    def __init__(
        self,
        settings: Settings,
        table: RoutingTable,
        *,
        adapters: Mapping[str, InboundAdapter],
        schemas: Mapping[str, type[BaseModel]],
        deliverers: DelivererFactory | None = None,
        providers: Mapping[str, ProviderAdapter] | None = None,
        run_workers: bool = True,
        store: IdempotencyStore | None = None,
    ) -> None:
        self.settings = settings
        self._table = table
        self.adapters = adapters
        self.metrics = Metrics()
        self.broker = Broker(
            settings.amqp_url,
            topology_for(table, settings.namespace),
            publish_timeout=settings.publish_timeout,
            retry_after=settings.retry_after,
        )
        self.metrics.watch_broker(lambda: self.broker.ready)
        self.pipeline = IngestPipeline(self.broker, adapters, schemas, self.metrics)
        self._owns_store = store is None
        self.store = store if store is not None else _open_store_if_needed(settings, table)
        self.dedup = (
            IngestDeduplicator(
                self.store,
                self.metrics,
                wait_s=settings.publish_timeout,
                publish_timeout=settings.publish_timeout,
            )
            if self.store is not None
            else None
        )
        self.queries, self.answers = _service_models(table, providers or {}, schemas)
        self.services = (
            ServiceCaller(self.broker.topology, self.metrics, retry_after=settings.retry_after)
            if table.services
            else None
        )
        self.workers: list[Worker] = []
        if run_workers:
            self.workers += _delivery_workers(self, deliverers)
            self.workers += _provider_workers(self, providers or {}, schemas)
        if self.services is not None:
            self.workers.append(self.services)
        self._workers_task: asyncio.Task[None] | None = None
        self._stack = contextlib.AsyncExitStack()

    @property
    def table(self) -> RoutingTable:
        """The routing table in force; a request takes it once and keeps it to the end."""
        return self._table

    async def start(self) -> None:
        """Connect to the broker (in the background) and start the workers once it is ready."""
        if self.store is not None:
            if self._owns_store:
                self._stack.push_async_callback(self.store.aclose)
            self._background(self._purge_expired_keys(self.store), "dedup-purge")
        await self.broker.start()
        self._stack.push_async_callback(self.broker.aclose)
        if self.workers:
            self._workers_task = asyncio.create_task(self._start_workers(), name="workers")
            self._stack.push_async_callback(self._stop_workers)

    def _background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` until the gateway closes."""
        task = asyncio.create_task(work, name=name)

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        self._stack.push_async_callback(stop)

    async def _purge_expired_keys(self, store: IdempotencyStore) -> None:
        """Delete expired idempotency keys now and then (Redis expires its own)."""
        while True:
            await asyncio.sleep(self.settings.dedup_purge_interval)
            try:
                purged = await store.purge_expired()
            except DedupUnavailableError as exc:
                log.warning("dedup.purge_failed", error=exc.message)
                continue
            if purged:
                log.info("dedup.purged", keys=purged)

    async def _start_workers(self) -> None:
        """Start every worker once the broker is ready; a worker that cannot start (its queue
        is missing, the connection drops meanwhile) is tried again until it runs."""
        pending = list(self.workers)
        while pending:
            # connected, with the topology declared (consuming is fine under a resource alarm)
            with contextlib.suppress(BrokerUnavailableError):
                await self.broker.wait_ready(3600)
            for worker in list(pending):
                try:
                    await worker.start(self.broker.connection)
                except Exception as exc:
                    log.error(
                        "worker.start_failed",
                        worker=worker.label,
                        error=str(exc) or type(exc).__name__,
                        retry_in_s=_WORKER_RESTART_S,
                    )
                else:
                    pending.remove(worker)
            if pending:
                await asyncio.sleep(_WORKER_RESTART_S)

    async def wait_workers(self, timeout: float) -> None:
        """Wait until every worker consumes (raise TimeoutError after ``timeout``)."""
        if self._workers_task is not None:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._workers_task)

    async def _stop_workers(self) -> None:
        if self._workers_task is not None and not self._workers_task.done():
            self._workers_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._workers_task
        outcomes = await asyncio.gather(
            *(w.stop(self.settings.shutdown_timeout) for w in self.workers),
            return_exceptions=True,
        )
        for worker, outcome in zip(self.workers, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.error("worker.stop_failed", worker=worker.label, error=repr(outcome))

    async def stop_consuming(self) -> None:
        """The first step of a graceful stop: workers take no more messages (those in hand
        finish in ``aclose``)."""
        await asyncio.gather(*(w.stop_consuming() for w in self.workers))

    async def aclose(self) -> None:
        """Close everything that start() opened, in reverse order."""
        await self._stack.aclose()

    async def readiness(self) -> dict[str, str | None]:
        """Check name → None when fine, else what is wrong."""
        table = self._table
        checks: dict[str, str | None] = {
            "routing": None
            if table.feeds or table.services
            else "the routing table declares no feeds and no services",
            "broker": self.broker.problem,
        }
        if self.store is not None:
            checks["dedup"] = await _store_problem(self.store)
        if self.workers:
            stopped = [w.label for w in self.workers if not w.running]
            checks["consumers"] = f"not consuming: {', '.join(stopped)}" if stopped else None
        return checks


async def _store_problem(store: IdempotencyStore) -> str | None:
    try:
        async with asyncio.timeout(_STORE_PING_S):
            await store.ping()
    except DedupUnavailableError as exc:
        return exc.message
    except TimeoutError:
        return f"the idempotency store did not answer within {_STORE_PING_S:g}s"
    return None


def _open_store_if_needed(settings: Settings, table: RoutingTable) -> IdempotencyStore | None:
    needed = any(f.dedup for f in table.feeds.values()) or any(
        d.dedup and d.deliver for d in table.destinations.values()
    )
    if not needed:
        return None
    return open_store(
        settings.dedup_backend,
        sqlite_path=settings.dedup_sqlite_path,
        redis_url=settings.redis_url,
        redis_prefix=settings.redis_prefix,
    )


def _service_models(
    table: RoutingTable,
    providers: Mapping[str, ProviderAdapter],
    schemas: Mapping[str, type[BaseModel]],
) -> tuple[dict[str, type[Query]], dict[str, type[BaseModel]]]:
    """Service name → the canonical query its provider answers, and the model of its answer."""
    queries, answers = {}, {}
    for name, spec in table.services.items():
        provider = providers.get(spec.provider.adapter)
        if provider is None:
            raise ValueError(f"service {name!r} names provider adapter {spec.provider.adapter!r}")
        queries[name] = provider.query
        answers[name] = schemas[provider.answer_schema]
    return queries, answers


def _provider_workers(
    gateway: Gateway,
    providers: Mapping[str, ProviderAdapter],
    schemas: Mapping[str, type[BaseModel]],
) -> list[ProviderWorker]:
    workers = []
    for name, spec in gateway.table.services.items():
        provider = providers[spec.provider.adapter]
        workers.append(
            ProviderWorker(
                name,
                spec,
                gateway.broker.topology,
                provider.connect(spec.provider),
                query=provider.query,
                answer=schemas[provider.answer_schema],
                metrics=gateway.metrics,
            )
        )
    return workers


def _delivery_workers(
    gateway: Gateway, deliverers: DelivererFactory | None
) -> list[DeliveryWorker]:
    workers = []
    for name, spec in gateway.table.destinations.items():
        if spec.deliver is None:
            continue
        if deliverers is None:
            raise ValueError(f"destination {name!r} delivers, but no deliverer factory was given")
        workers.append(
            DeliveryWorker(
                name,
                spec,
                gateway.broker.topology,
                deliverers(spec.deliver),
                store=gateway.store,
                metrics=gateway.metrics,
            )
        )
    return workers
