"""Settings read from the environment (prefix ``GATEWAY_``), parsed once into a frozen value."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the gateway takes from the environment; see the README's table."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", frozen=True, extra="ignore")

    amqp_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/", description="RabbitMQ to connect to"
    )
    namespace: str = Field(
        default="eint",
        pattern=r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$",
        description="prefix of every exchange and queue the gateway declares",
    )
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="request body limit")
    publish_timeout: float = Field(default=10.0, gt=0, description="seconds to wait for a confirm")
    retry_after: int = Field(default=5, ge=1, description="Retry-After seconds on a 503")
    shutdown_timeout: float = Field(
        default=20.0,
        gt=0,
        description="on SIGTERM: seconds in-flight requests get to finish, then as many for "
        "in-flight deliveries",
    )
    dedup_backend: Literal["sqlite", "redis"] = Field(
        default="sqlite", description="idempotency store: sqlite (one host) or redis (shared)"
    )
    dedup_sqlite_path: str = Field(default="var/dedup.sqlite3", description="SQLite store file")
    dedup_purge_interval: float = Field(
        default=3600.0, gt=0, description="seconds between purges of expired SQLite keys"
    )
    drop_root: str = Field(
        default="var/drop",
        min_length=1,
        description="root of the file-drop directories: <root>/<feed>/inbox, processing, "
        "archive, failed",
    )
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis for dedup")
    redis_prefix: str = Field(default="eint", description="prefix of every Redis key written")
    reload_interval: float = Field(
        default=2.0,
        ge=0,
        description="seconds between checks of routing.yaml for changes (0: reload only on "
        "SIGHUP or POST /admin/reload)",
    )
    admin_key: str = Field(
        default="",
        description="bearer key of the admin API (/admin/*); empty: the admin API is disabled",
    )
    audit_url: str = Field(
        default="sqlite:///var/audit.sqlite3",
        description="audit store: sqlite:///relative/path, sqlite:////absolute/path, "
        "postgresql://user@host/db (several instances, one chain), or none (no audit log)",
    )
    audit_key: str = Field(
        default="",
        description="secret of the audit log's HMAC-SHA256 checkpoints (empty: none written)",
    )
    audit_required: bool = Field(
        default=True,
        description="refuse exchanges (503 gateway.audit_unavailable) while the audit store "
        "cannot take their records; false: serve them and log the failure",
    )
    audit_max_backlog: int = Field(
        default=10_000, ge=1, description="audit records waiting to be written, at most"
    )
    audit_timeout: float = Field(
        default=5.0, gt=0, description="seconds to wait for the audit store (lock, connection)"
    )
    audit_checkpoint_every: int = Field(
        default=10_000, ge=1, description="records between two signed audit checkpoints"
    )
    audit_checkpoint_interval: float = Field(
        default=60.0, gt=0, description="seconds between two signed audit checkpoints, at most"
    )
    tls_cert: str = Field(
        default="",
        description="PEM certificate (chain) the gateway serves HTTPS with; empty: plain HTTP",
    )
    tls_key: str = Field(default="", description="PEM private key of tls_cert (if not in it)")
    tls_client_ca: str = Field(
        default="",
        description="PEM bundle of the CAs whose client certificates identify systems; "
        "empty: no client certificate is asked for",
    )
    rate_limit_backend: Literal["memory", "redis"] = Field(
        default="memory",
        description="rate-limit buckets: memory (this process) or redis (shared by instances)",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    redaction_key: str = Field(
        default="",
        description="secret for the keyed hash of personal identifiers in logs "
        "(random per process when empty: hashes then do not match across instances)",
    )
