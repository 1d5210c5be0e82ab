"""From the routing table to buckets, and from a refusal to the 429 the caller gets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from gateway.errors import RateLimitedError
from gateway.ratelimit._base import Bucket, MemoryRateLimiter, RateLimiter

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.routing import RoutingTable
    from gateway.routing.spec import RateLimitSpec

Target = Literal["feed", "service"]


def open_limiter(settings: Settings) -> RateLimiter:
    """The limiter ``GATEWAY_RATE_LIMIT_BACKEND`` names (memory by default)."""
    if settings.rate_limit_backend == "redis":
        from gateway.ratelimit.redis import RedisRateLimiter

        return RedisRateLimiter(settings.redis_url, prefix=settings.redis_prefix)
    return MemoryRateLimiter()


def _bucket(kind: str, name: str, spec: RateLimitSpec) -> Bucket:
    burst = f", burst {spec.burst}" if spec.burst is not None else ""
    return Bucket(
        f"{kind}:{name}", spec.per_second, spec.capacity, f"{kind} {name!r} ({spec.rate}{burst})"
    )


def buckets_for(table: RoutingTable, client: str, kind: Target, name: str) -> list[Bucket]:
    """The buckets a request of ``client`` to the feed or service ``name`` takes from: the
    system's, then the feed's or service's, each where the table sets a ``rate_limit``."""
    buckets = []
    system = table.systems.get(client)
    if system is not None and system.rate_limit is not None:
        buckets.append(_bucket("system", client, system.rate_limit))
    target = table.feeds.get(name) if kind == "feed" else table.services.get(name)
    if target is not None and target.rate_limit is not None:
        buckets.append(_bucket(kind, name, target.rate_limit))
    return buckets


async def admit(
    limiter: RateLimiter, table: RoutingTable, client: str, kind: Target, name: str
) -> None:
    """Take a token for this request from each of its buckets, or raise 429
    ``client.rate_limited`` with Retry-After (the seconds until the emptiest has one)."""
    buckets = buckets_for(table, client, kind, name)
    if not buckets:
        return
    refusal = await limiter.take(buckets)
    if refusal is None:
        return
    limit = refusal.bucket
    raise RateLimitedError(
        f"the rate limit of {limit.shown} is reached: try again in {refusal.retry_after} s",
        retry_after=refusal.retry_after,
        details={"limit": limit.key.partition(":")[0]},
    )
