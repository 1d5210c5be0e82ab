"""The in-process retry policy: short, bounded, honouring the receiver's Retry-After."""

import pytest

from gateway.delivery import immediate_retrying
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.routing.spec import ImmediateRetrySpec


class Attempts:
    """A delivery that fails with the given errors in turn, then succeeds; waits recorded."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0
        self.waits = []

    async def sleep(self, seconds):
        """The injected sleep: records the wait, waits for nothing."""
        self.waits.append(seconds)

    async def run(self, spec):
        """Deliver under ``spec``'s policy."""
        async for attempt in immediate_retrying(spec, self.sleep):
            with attempt:
                self.calls += 1
                if self.errors:
                    raise self.errors.pop(0)


async def test_transient_failures_are_tried_again_until_one_succeeds():
    """Two transient failures, then success, within three attempts."""
    attempts = Attempts(TransientDeliveryError("503"), TransientDeliveryError("503"))
    await attempts.run(ImmediateRetrySpec(attempts=3, max_wait=2))
    assert (3, 2) == (attempts.calls, len(attempts.waits))
    assert all(0 <= wait <= 2 for wait in attempts.waits)


async def test_attempts_are_bounded_and_the_last_error_is_raised():
    """Past the attempts the last transient error comes out, for the broker's ladder."""
    attempts = Attempts(*(TransientDeliveryError(f"503 #{n}") for n in range(5)))
    with pytest.raises(TransientDeliveryError, match="503 #2"):
        await attempts.run(ImmediateRetrySpec(attempts=3, max_wait=2))
    assert 3 == attempts.calls


async def test_permanent_failure_is_not_tried_again():
    """A refusal is raised at once."""
    attempts = Attempts(PermanentDeliveryError("400"))
    with pytest.raises(PermanentDeliveryError):
        await attempts.run(ImmediateRetrySpec(attempts=3, max_wait=2))
    assert (1, []) == (attempts.calls, attempts.waits)


async def test_retry_after_within_max_wait_is_waited_exactly():
    """Retry-After: 1.5 with max_wait 2s: the next try comes after 1.5 s."""
    attempts = Attempts(TransientDeliveryError("429", status=429, retry_after=1.5))
    await attempts.run(ImmediateRetrySpec(attempts=3, max_wait=2))
    assert (2, [1.5]) == (attempts.calls, attempts.waits)


async def test_retry_after_beyond_max_wait_hands_over_to_the_ladder_at_once():
    """Retry-After: 120 is longer than in-process tries may wait: no wait, the error is raised
    for the broker's ladder."""
    attempts = Attempts(TransientDeliveryError("503", status=503, retry_after=120))
    with pytest.raises(TransientDeliveryError):
        await attempts.run(ImmediateRetrySpec(attempts=3, max_wait=2))
    assert (1, []) == (attempts.calls, attempts.waits)
