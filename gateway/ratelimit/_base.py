"""Token buckets: what a limit is, what a limiter answers, and the one in this process."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Bucket:
    """One token bucket: ``per_second`` tokens come back each second, at most ``capacity``
    are kept, a request takes one. ``key`` names it (``system:gp.e-tergov``), so the same
    bucket is found again after a reload, with the rate the table then says."""

    key: str
    per_second: float
    capacity: int
    shown: str  # how the limit reads in an error: "system 'gp.e-tergov' (100/s, burst 200)"

    def __post_init__(self) -> None:
        if not self.per_second > 0 or self.capacity < 1:
            raise ValueError(f"bucket {self.key}: the rate must be > 0 and the capacity >= 1")


@dataclass(frozen=True, slots=True)
class Refusal:
    """No token in ``bucket``: one comes back in ``wait_s`` seconds."""

    bucket: Bucket
    wait_s: float

    @property
    def retry_after(self) -> int:
        """Whole seconds until a token, rounded up (at least 1): the Retry-After header."""
        return max(1, math.ceil(self.wait_s - 1e-9))


class RateLimiter(Protocol):
    """Takes one token from each of several buckets, all or none."""

    async def take(self, buckets: Sequence[Bucket]) -> Refusal | None:
        """Take a token from every bucket (None), or from none of them when one is empty:
        the refusal of the bucket whose token comes back last."""
        ...

    async def aclose(self) -> None:
        """Release what the limiter holds; twice is harmless."""
        ...


class MemoryRateLimiter:
    """Buckets in this process (``GATEWAY_RATE_LIMIT_BACKEND=memory``): each instance of the
    gateway limits on its own. ``clock`` gives seconds (monotonic) and can be replaced in
    tests. The buckets are keyed by system, feed and service names from the routing table,
    so their number is bounded by the table's."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    async def take(self, buckets: Sequence[Bucket]) -> Refusal | None:
        """See :class:`RateLimiter` (no await inside: atomic within the event loop)."""
        now = self._clock()
        tokens = [self._tokens(bucket, now) for bucket in buckets]
        refusal = refusal_of(buckets, tokens)
        if refusal is None:
            for bucket, available in zip(buckets, tokens, strict=True):
                self._state[bucket.key] = (available - 1, now)
        return refusal

    def _tokens(self, bucket: Bucket, now: float) -> float:
        available, at = self._state.get(bucket.key, (float(bucket.capacity), now))
        return min(float(bucket.capacity), available + max(0.0, now - at) * bucket.per_second)

    async def aclose(self) -> None:
        """Nothing to release."""


def refusal_of(buckets: Sequence[Bucket], tokens: Sequence[float]) -> Refusal | None:
    """Of the buckets without a whole token, the one that waits longest for it; None when
    every bucket has one."""
    refusals = [
        Refusal(bucket, (1.0 - available) / bucket.per_second)
        for bucket, available in zip(buckets, tokens, strict=True)
        if available < 1.0
    ]
    return max(refusals, key=lambda r: r.wait_s, default=None)
