"""Prometheus metrics, in a registry of the gateway's own (not the process-global one)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4 as CONTENT_TYPE

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """The gateway's metrics; ``/metrics`` renders them in Prometheus text format."""

    content_type = CONTENT_TYPE

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gateway_requests",
            "HTTP requests by endpoint kind (feed, service, ...), feed or service name, and status",
            ["kind", "feed", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "gateway_errors",
            "Error answers by endpoint kind, feed or service name, and error code "
            "(client.schema_violation, gateway.broker_unavailable, provider.timeout, ...)",
            ["kind", "feed", "code"],
            registry=self.registry,
        )
        self.records = Counter(
            "gateway_records",
            "Records by feed and outcome (accepted, rejected, failed)",
            ["feed", "outcome"],
            registry=self.registry,
        )
        self.files = Counter(
            "gateway_files",
            "Files of file-drop feeds by feed and outcome (accepted: archived with its receipt; "
            "failed: moved to failed/ with its error file)",
            ["feed", "outcome"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "gateway_request_seconds",
            "Latency of HTTP requests by feed or service",
            ["feed"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.publish_seconds = Histogram(
            "gateway_publish_seconds",
            "Time from publish to broker confirm, per message",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.deliveries = Counter(
            "gateway_deliveries",
            "Messages handled by delivery workers, by destination and outcome "
            "(delivered, duplicate, retried, dead_lettered)",
            ["destination", "outcome"],
            registry=self.registry,
        )
        self.delivery_seconds = Histogram(
            "gateway_delivery_seconds",
            "Time to deliver one message to the receiving system (all in-process tries)",
            ["destination"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.dedup_hits = Counter(
            "gateway_dedup_hits",
            "Duplicates caught, by where (ingest feed or delivery destination)",
            ["scope"],
            registry=self.registry,
        )
        self.service_requests = Counter(
            "gateway_service_requests",
            "Record requests handled by provider workers, by service and outcome "
            "(answered, expired, or the provider.* error code)",
            ["service", "outcome"],
            registry=self.registry,
        )
        self.provider_seconds = Histogram(
            "gateway_provider_seconds",
            "Time the provider (the ministry's service) took to answer one request",
            ["service"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.late_replies = Counter(
            "gateway_service_late_replies",
            "Replies that came after their request had timed out (dropped)",
            registry=self.registry,
        )
        self.queue_messages = Gauge(
            "gateway_queue_messages",
            "Messages ready in the broker's queues, by destination or service and role (work, "
            "dead_letter, retry, service); read when /metrics is scraped, at most every 5 s",
            ["destination", "queue"],
            registry=self.registry,
        )
        self.audit_backlog = Gauge(
            "gateway_audit_backlog",
            "Audit records accepted for writing and not yet durable",
            registry=self.registry,
        )
        self.audit_records = Counter(
            "gateway_audit_records",
            "Audit records written durably to the audit store",
            registry=self.registry,
        )
        self.audit_failures = Counter(
            "gateway_audit_failures",
            "Audit records that could not be written, by reason (unavailable: the store "
            "failed; backlog_full: too many waiting); each failed its exchange",
            ["reason"],
            registry=self.registry,
        )
        self.broker_connected = Gauge(
            "gateway_broker_connected",
            "1 while connected to RabbitMQ with the topology declared, else 0",
            registry=self.registry,
        )

    def watch_broker(self, is_ready: Callable[[], bool]) -> None:
        """Read the broker state at every scrape."""
        self.broker_connected.set_function(lambda: 1.0 if is_ready() else 0.0)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
