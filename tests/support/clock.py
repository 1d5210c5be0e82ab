"""A clock for stores that take one: time moves only when the test says so."""

from dataclasses import dataclass


@dataclass
class FakeClock:
    """A clock that moves only when told to."""

    now: float = 1_000_000.0

    def __call__(self) -> float:
        """The time it is now, by this clock."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        self.now += seconds
