"""The Gateway: the one object that owns the routing table, broker, stores, workers, pipeline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from pydantic import BaseModel

from adapters.base import InboundAdapter
from adapters.outbound import OutboundAdapter
from adapters.providers.base import ProviderAdapter
from gateway.audit import AuditWriter, open_audit_writer
from gateway.broker import Broker, topology_for
from gateway.broker.depths import QueueDepths
from gateway.config import Settings
from gateway.dedup import IdempotencyStore, open_store
from gateway.delivery import DeliveryWorker
from gateway.errors import BrokerUnavailableError, DedupUnavailableError
from gateway.filedrop import file_drop_watchers
from gateway.ingest import IngestDeduplicator, IngestPipeline
from gateway.metrics import Metrics
from gateway.ratelimit import RateLimiter, open_limiter
from gateway.reload import Reloader
from gateway.routing import DeliverySpec, RoutingTable, routing_diff
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
    elsewhere, e.g. under ``gateway worker``). ``env`` holds the ``${VARIABLES}`` a reloaded
    routing.yaml is read with (the process environment by default).
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
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.adapters = adapters
        self.schemas = schemas
        self.providers: Mapping[str, ProviderAdapter] = providers or {}
        self._deliverers = deliverers
        self._run_workers = run_workers
        self.metrics = Metrics()
        self.broker = Broker(
            settings.amqp_url,
            topology_for(table, settings.namespace),
            publish_timeout=settings.publish_timeout,
            retry_after=settings.retry_after,
        )
        self.metrics.watch_broker(lambda: self.broker.ready)
        self.audit: AuditWriter | None = open_audit_writer(settings, self.metrics)
        self._queue_depths = QueueDepths(self.metrics)
        self.pipeline = IngestPipeline(self.broker, adapters, schemas, self.metrics)
        self._owns_store = store is None
        self.store = store if store is not None else _open_store_if_needed(settings, table)
        self.dedup = self._deduplicator()
        # buckets keyed by system, feed and service names: they outlive reloads
        self.limiter: RateLimiter = open_limiter(settings)
        self._in_force = _in_force(table, self.providers, schemas)
        self.services = (
            ServiceCaller(self.broker, self.metrics, retry_after=settings.retry_after)
            if table.services
            else None
        )
        self._workers: dict[str, Worker] = self._workers_for(table)
        self._workers_task: asyncio.Task[None] | None = None
        self._reload_lock = asyncio.Lock()
        self._stack = contextlib.AsyncExitStack()
        self.reloader = Reloader(self, env)

    @property
    def workers(self) -> list[Worker]:
        """Every consumer of this gateway: delivery and provider workers, the reply consumer."""
        return list(self._workers.values())

    def _deduplicator(self) -> IngestDeduplicator | None:
        if self.store is None:
            return None
        return IngestDeduplicator(
            self.store,
            self.metrics,
            wait_s=self.settings.publish_timeout,
            publish_timeout=self.settings.publish_timeout,
        )

    @property
    def in_force(self) -> InForce:
        """The routing table in force with its services' models; a request takes it once and
        keeps it to the end, whatever a reload does meanwhile."""
        return self._in_force

    @property
    def table(self) -> RoutingTable:
        """The routing table in force (for a request: take ``in_force`` once instead)."""
        return self._in_force.table

    async def start(self) -> None:
        """Connect to the broker (in the background) and start the workers once it is ready."""
        if self.audit is not None:  # closed last: requests under way still get their records
            await self.audit.start()
            self._stack.push_async_callback(self.audit.aclose)
        self._stack.push_async_callback(self.limiter.aclose)
        self._stack.push_async_callback(self._close_store)
        self._start_store_housekeeping()
        await self.broker.start()
        self._stack.push_async_callback(self.broker.aclose)
        self._stack.push_async_callback(self._stop_workers)
        if self._workers:
            self._workers_task = asyncio.create_task(
                self._start_workers(list(self._workers.values())), name="workers"
            )
        if self.settings.reload_interval > 0:
            self._background(self.reloader.watch(self.settings.reload_interval), "reload-watch")

    def _start_store_housekeeping(self) -> None:
        if self.store is not None:
            self._background(self._purge_expired_keys(self.store), "dedup-purge")

    async def _close_store(self) -> None:
        if self.store is not None and self._owns_store:
            await self.store.aclose()

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

    async def _start_workers(self, pending: list[Worker]) -> None:
        """Start ``pending`` once the broker is ready; a worker that cannot start (its queue
        is missing, the connection drops meanwhile) is tried again until it runs."""
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

    async def _stop_workers(self, workers: list[Worker] | None = None) -> None:
        """Stop ``workers`` (every worker, on the way out), each finishing what it has in hand
        within the shutdown timeout."""
        if workers is None:
            workers = self.workers
            if self._workers_task is not None and not self._workers_task.done():
                self._workers_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._workers_task
        outcomes = await asyncio.gather(
            *(w.stop(self.settings.shutdown_timeout) for w in workers),
            return_exceptions=True,
        )
        for worker, outcome in zip(workers, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.error("worker.stop_failed", worker=worker.label, error=repr(outcome))

    async def stop_consuming(self) -> None:
        """The first step of a graceful stop: workers take no more messages (those in hand
        finish in ``aclose``)."""
        await asyncio.gather(*(w.stop_consuming() for w in self.workers))

    async def aclose(self) -> None:
        """Close everything that start() opened, in reverse order."""
        await self._stack.aclose()

    async def put_in_force(self, table: RoutingTable) -> dict[str, dict[str, list[str]]]:
        """Serve with ``table`` from now on (a live reload); return what changed.

        In order: the new topology is declared (adding only: a queue the new table no longer
        names keeps its messages); workers of new or changed destinations and services are
        started; the table is swapped (one assignment: a request takes the table once, so
        requests under way finish with the old one); workers of removed or changed ones stop,
        finishing what they have in hand. Raises BrokerUnavailableError, and changes nothing,
        when the broker cannot take the new topology; ValueError when the table names a
        provider adapter this gateway does not have.
        """
        async with self._reload_lock:
            old = self._in_force.table
            in_force = _in_force(table, self.providers, self.schemas)
            await self.broker.adopt(topology_for(table, self.settings.namespace))
            if self.store is None:
                self.store = _open_store_if_needed(self.settings, table)
                self.dedup = self._deduplicator()
                self._start_store_housekeeping()
            changed = _changed_labels(table, old)
            if table.services and self.services is None:
                self.services = ServiceCaller(
                    self.broker, self.metrics, retry_after=self.settings.retry_after
                )
                changed.add(self.services.label)
            fresh = self._workers_for(table, changed)
            if fresh:
                self._background(self._start_workers(list(fresh.values())), "start-workers")
            retired = [w for label, w in self._workers.items() if label in changed]
            self._in_force = in_force
            self._workers = {
                **{label: w for label, w in self._workers.items() if label not in changed},
                **fresh,
            }
            self._background(self._stop_workers(retired), "retire-workers")
            return routing_diff(old.spec, table.spec)

    def _workers_for(
        self, table: RoutingTable, labels: set[str] | None = None
    ) -> dict[str, Worker]:
        """The workers ``table`` has (under ``labels`` only, when given), built, not started."""
        workers: dict[str, Worker] = {}
        if self._run_workers:
            for delivery in _delivery_workers(self, table, self._deliverers):
                workers[delivery.label] = delivery
            for provider in _provider_workers(self, table, self.providers, self.schemas):
                workers[provider.label] = provider
            for watcher in file_drop_watchers(self, table.feeds, self.settings.drop_root):
                workers[watcher.label] = watcher
        if self.services is not None:
            workers[self.services.label] = self.services
        return {label: w for label, w in workers.items() if labels is None or label in labels}

    async def refresh_queue_depths(self) -> None:
        """Bring the queue-depth gauges up to date (a scrape of ``/metrics`` asks)."""
        connection = self.broker.connection if self.broker.ready else None
        await self._queue_depths.refresh(connection, self.broker.topology)

    async def readiness(self) -> dict[str, str | None]:
        """Check name → None when fine, else what is wrong."""
        table = self._in_force.table
        checks: dict[str, str | None] = {
            "routing": None
            if table.feeds or table.services
            else "the routing table declares no feeds and no services",
            "broker": self.broker.problem,
        }
        if self.store is not None:
            checks["dedup"] = await _store_problem(self.store)
        if self.audit is not None and self.settings.audit_required:
            checks["audit"] = self.audit.problem
        if self.workers:
            stopped = [w.label for w in self.workers if not w.running]
            checks["consumers"] = f"not consuming: {', '.join(stopped)}" if stopped else None
        return checks


def _changed_labels(table: RoutingTable, old: RoutingTable) -> set[str]:
    """Labels of the workers that ``table`` needs anew, or no longer needs, after ``old``: its
    destinations and services added, removed or changed."""
    labels: set[str] = set()
    for kind, new, before in (
        ("destination", table.destinations, old.destinations),
        ("service", table.services, old.services),
    ):
        for name in new.keys() | before.keys():
            if new.get(name) != before.get(name):
                labels.add(f"{kind} {name}")
    return labels


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


@dataclass(frozen=True, slots=True)
class InForce:
    """The routing table in force and, per service, the canonical query its provider answers
    and the model of its answer: replaced as one by a reload."""

    table: RoutingTable
    queries: Mapping[str, type[Query]]
    answers: Mapping[str, type[BaseModel]]


def _in_force(
    table: RoutingTable,
    providers: Mapping[str, ProviderAdapter],
    schemas: Mapping[str, type[BaseModel]],
) -> InForce:
    """``table`` with its services' models; ValueError when it names a provider adapter that
    is not in ``providers``."""
    queries: dict[str, type[Query]] = {}
    answers: dict[str, type[BaseModel]] = {}
    for name, spec in table.services.items():
        provider = providers.get(spec.provider.adapter)
        if provider is None:
            raise ValueError(f"service {name!r} names provider adapter {spec.provider.adapter!r}")
        queries[name] = provider.query
        answers[name] = schemas[provider.answer_schema]
    return InForce(table, queries, answers)


def _provider_workers(
    gateway: Gateway,
    table: RoutingTable,
    providers: Mapping[str, ProviderAdapter],
    schemas: Mapping[str, type[BaseModel]],
) -> list[ProviderWorker]:
    workers = []
    for name, spec in table.services.items():
        provider = providers[spec.provider.adapter]
        workers.append(
            ProviderWorker(
                name,
                spec,
                topology_for(table, gateway.settings.namespace),
                provider.connect(spec.provider),
                query=provider.query,
                answer=schemas[provider.answer_schema],
                metrics=gateway.metrics,
            )
        )
    return workers


def _delivery_workers(
    gateway: Gateway, table: RoutingTable, deliverers: DelivererFactory | None
) -> list[DeliveryWorker]:
    workers = []
    for name, spec in table.destinations.items():
        if spec.deliver is None:
            continue
        if deliverers is None:
            raise ValueError(f"destination {name!r} delivers, but no deliverer factory was given")
        workers.append(
            DeliveryWorker(
                name,
                spec,
                topology_for(table, gateway.settings.namespace),
                deliverers(spec.deliver),
                store=gateway.store,
                metrics=gateway.metrics,
            )
        )
    return workers
