"""Rate limits: a token bucket per system, per feed and per service (routing.yaml's
``rate_limit:``), in this process or shared through Redis."""

from gateway.ratelimit._base import Bucket, MemoryRateLimiter, RateLimiter, Refusal
from gateway.ratelimit.admission import admit, buckets_for, open_limiter
from gateway.ratelimit.redis import RedisRateLimiter

__all__ = [
    "Bucket",
    "MemoryRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "Refusal",
    "admit",
    "buckets_for",
    "open_limiter",
]
