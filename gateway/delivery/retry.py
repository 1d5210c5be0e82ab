"""In-process retries of one delivery attempt, built from tenacity's parts.

Short and bounded: ``attempts`` tries, waits growing with jitter up to ``max_wait``, a
receiver's ``Retry-After`` honoured when it fits within ``max_wait``; when it does not, the
attempt ends at once and the broker's retry ladder takes over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from gateway.errors import TransientDeliveryError
from gateway.routing.spec import ImmediateRetrySpec


def _retry_after(state: RetryCallState) -> float | None:
    outcome = state.outcome
    if outcome is None or not outcome.failed:
        return None
    exc = outcome.exception()
    return exc.retry_after if isinstance(exc, TransientDeliveryError) else None


class StopIfRetryAfterExceeds(stop_base):
    """Stop when the receiver asks to wait longer than in-process retries may."""

    def __init__(self, max_wait: float) -> None:
        self._max_wait = max_wait

    def __call__(self, retry_state: RetryCallState) -> bool:
        retry_after = _retry_after(retry_state)
        return retry_after is not None and retry_after > self._max_wait


class WaitRetryAfterOr(wait_base):
    """The receiver's Retry-After when given, else the fallback wait."""

    def __init__(self, fallback: wait_base) -> None:
        self._fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        retry_after = _retry_after(retry_state)
        return retry_after if retry_after is not None else self._fallback(retry_state)


def immediate_retrying(
    spec: ImmediateRetrySpec, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> AsyncRetrying:
    """The in-process retry policy of a destination (``sleep`` is injectable for tests)."""
    return AsyncRetrying(
        stop=stop_after_attempt(spec.attempts) | StopIfRetryAfterExceeds(spec.max_wait),
        wait=WaitRetryAfterOr(
            wait_exponential_jitter(multiplier=0.05, max=spec.max_wait, jitter=0.05)
        ),
        retry=retry_if_exception_type(TransientDeliveryError),
        sleep=sleep,
        reraise=True,
    )
