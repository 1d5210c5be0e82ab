"""Read locks: when a dropped file is complete, so that a half-written one is never taken.

    done_marker: true     the file is taken once ``<name>.done`` exists beside it (the sender
                          writes the file, then the marker; Camel's ``doneFileName``)
    changed_for: 2s       the file is taken once its size, modification time and inode have
                          stayed the same across scans for that long (Camel's
                          ``readLock=changed``); a file copied with its old mtime kept is
                          still watched for the whole period, since what counts is how long
                          this gateway saw it unchanged, not its age

Names never taken whatever the rule: hidden (``.name``), temporary (``*.tmp``), markers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection

from gateway.routing.spec import ReadLockSpec

#: what a file looked like: size, mtime (ns), inode
Looks = tuple[int, int, int]


class ReadLock:
    """Decides, scan after scan, which files of one inbox are complete."""

    def __init__(self, spec: ReadLockSpec, clock: Callable[[], float] = time.monotonic) -> None:
        self._spec = spec
        self._clock = clock
        self._seen: dict[str, tuple[Looks, float]] = {}  # name → (looks, since when)

    def complete(self, name: str, info: os.stat_result, present: Collection[str]) -> bool:
        """True when the file ``name`` (whose ``lstat`` is ``info``; ``present`` every name in
        the inbox now) may be taken."""
        if self._spec.done_marker:
            return f"{name}.done" in present
        assert self._spec.changed_for is not None  # the spec requires one rule
        looks = (info.st_size, info.st_mtime_ns, info.st_ino)
        now = self._clock()
        seen = self._seen.get(name)
        if seen is None or seen[0] != looks:
            self._seen[name] = (looks, now)
            return False
        return now - seen[1] >= self._spec.changed_for

    def forget(self, keep: Collection[str]) -> None:
        """Forget every file but those named in ``keep`` (taken, or gone from the inbox)."""
        for name in [n for n in self._seen if n not in keep]:
            del self._seen[name]
