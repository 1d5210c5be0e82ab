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
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis for dedup")
    redis_prefix: str = Field(default="eint", description="prefix of every Redis key written")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    redaction_key: str = Field(
        default="",
        description="secret for the keyed hash of personal identifiers in logs "
        "(random per process when empty: hashes then do not match across instances)",
    )
