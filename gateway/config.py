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
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    redaction_key: str = Field(
        default="",
        description="secret for the keyed hash of personal identifiers in logs "
        "(random per process when empty: hashes then do not match across instances)",
    )
