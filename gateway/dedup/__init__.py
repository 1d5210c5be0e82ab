"""Idempotency store: Apache Camel's idempotent consumer, eager, removed on failure.

A consumer that must act once per message first **claims** the message's key, acts, then
**completes** the claim (the key is kept as *done* for a retention period, so a redelivery or a
client's retry is recognised as a duplicate) or, if acting failed, **releases** it (a failed
attempt must not look like a duplicate later).

Terms:

- ``scope`` names the key space, e.g. ``"feed:crime-reports"`` or
  ``"destination:etergov.crime-reports"``; ``key`` is an arbitrary string of up to 512
  characters (the message id, or a value from the payload); ``owner`` identifies the claimer
  (process plus request or delivery, e.g. a uuid).
- An entry is *claimed* by one owner until its lease ends, or *done* with a message id until
  its retention ends. A claim whose lease has expired counts as absent (its claimer is presumed
  dead); so does a done entry older than its retention.

Operations (every one raises :class:`~gateway.errors.DedupUnavailableError` when the store
cannot be reached or does not answer in time; bad arguments raise ``ValueError``):

- ``claim(scope, key, owner=, lease_s=, retention_s=)`` is atomic across coroutines, store
  instances and processes sharing one SQLite file or one Redis. No live entry: record a claim
  for ``owner`` leased until now + ``lease_s`` and return ``Claim("claimed")``. A done entry:
  ``Claim("done", message_id)``. A live claim, by any owner (the same one too): ``Claim("busy")``.
  ``retention_s`` is checked but not used by the claim itself; ``complete`` sets the retention.
- ``complete(scope, key, owner=, message_id=, retention_s=)`` turns the entry into
  done(``message_id``), kept for ``retention_s`` from now, if it is claimed by ``owner`` or absent
  (the lease expired), and returns True. It returns False and changes nothing when another owner
  holds a live claim or the entry is done with another message id; done with the same message id
  returns True (and changes nothing).
- ``release(scope, key, owner=)`` deletes the entry if and only if it is a claim of ``owner``;
  otherwise it does nothing.
- ``purge_expired()`` deletes expired entries (done past retention, claimed past lease) and
  returns how many; Redis expires entries itself (PX), so there it returns 0.
- ``ping()`` raises DedupUnavailableError if the store cannot be reached.
- ``aclose()`` releases the store's resources; it is idempotent. A closed store answers every
  other operation with DedupUnavailableError.

Backends: :class:`SqliteIdempotencyStore` (one file, WAL, for one host) and
:class:`RedisIdempotencyStore` (shared by many hosts); :func:`open_store` picks one.
"""

from gateway.dedup._base import Claim, IdempotencyStore
from gateway.dedup.factory import open_store
from gateway.dedup.keys import dedup_key
from gateway.dedup.redis import RedisIdempotencyStore
from gateway.dedup.sqlite import SqliteIdempotencyStore

__all__ = [
    "Claim",
    "IdempotencyStore",
    "RedisIdempotencyStore",
    "SqliteIdempotencyStore",
    "dedup_key",
    "open_store",
]
