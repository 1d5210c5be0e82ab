"""What every idempotency store is: the :class:`Claim` it answers and the protocol it keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

MAX_KEY_LENGTH = 512


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to ``claim``: claimed (go ahead), done (a duplicate) or busy (in flight)."""

    state: Literal["claimed", "done", "busy"]
    message_id: str | None = None  # for "done": the message id recorded by complete()


class IdempotencyStore(Protocol):
    """An idempotent consumer's repository: eager claims, removed on failure, kept when done."""

    async def claim(
        self, scope: str, key: str, *, owner: str, lease_s: float, retention_s: float
    ) -> Claim:
        """Atomically claim ``key`` in ``scope`` for ``owner``, or say why not."""
        ...

    async def complete(
        self, scope: str, key: str, *, owner: str, message_id: str, retention_s: float
    ) -> bool:
        """Mark ``owner``'s claim done with ``message_id``; False if someone else holds it."""
        ...

    async def release(self, scope: str, key: str, *, owner: str) -> None:
        """Forget ``owner``'s claim (the attempt failed), leaving anything else alone."""
        ...

    async def claim_many(
        self, scope: str, keys: Sequence[str], *, owner: str, lease_s: float, retention_s: float
    ) -> list[Claim | Exception]:
        """``claim`` of every one of ``keys`` at once (a key given twice is busy the second
        time): one answer per key, in order, or the exception of a key that could not be
        claimed (DedupUnavailableError)."""
        ...

    async def complete_many(
        self, scope: str, done: Sequence[tuple[str, str]], *, owner: str, retention_s: float
    ) -> list[bool | Exception]:
        """``complete`` of every (key, message id) of ``done`` at once: one answer per entry,
        in order, or the exception of one that could not be recorded."""
        ...

    async def release_many(self, scope: str, keys: Sequence[str], *, owner: str) -> None:
        """``release`` of every one of ``keys`` at once; DedupUnavailableError when any of them
        could not be released (its claim then lasts until its lease ends)."""
        ...

    async def purge_expired(self) -> int:
        """Delete expired entries and return how many were deleted."""
        ...

    async def ping(self) -> None:
        """Raise DedupUnavailableError unless the store answers."""
        ...

    async def aclose(self) -> None:
        """Release the store's resources; calling it again does nothing."""
        ...


def check_entry(scope: str, key: str, owner: str) -> None:
    """Refuse an empty scope or owner and a key longer than MAX_KEY_LENGTH characters."""
    if not scope:
        raise ValueError("scope must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"key is {len(key)} characters long; at most {MAX_KEY_LENGTH} allowed")
    if not owner:
        raise ValueError("owner must not be empty")


def check_duration(name: str, seconds: float) -> None:
    """Refuse a lease or retention that is not a positive number of seconds."""
    if not seconds > 0:
        raise ValueError(f"{name} must be positive, got {seconds!r}")
