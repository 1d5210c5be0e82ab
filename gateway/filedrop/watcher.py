"""The watcher of one file feed: a worker of the gateway, started once the broker is ready.

lock      an exclusive flock on ``<root>/<feed>/.lock``: one gateway process serves a
          feed's directories at a time; others stand by and take over when it dies (the
          kernel releases a dead process's lock)
resume    every file left in processing/ (see processor.py), oldest first
watch     every ``poll``: list the inbox; hidden, temporary and marker names are skipped,
          names not matching ``pattern`` are left (logged once); an entry that is not a
          regular file, or whose name is unsafe, goes to failed/ with its reason; a
          complete file (read lock) is taken and processed, one at a time, oldest first
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import structlog

from gateway.filedrop.journal import SUFFIX
from gateway.filedrop.paths import FeedDirectories, entry_problem, ignored, unsafe_name
from gateway.filedrop.processor import FileProcessor, IngestHost
from gateway.filedrop.readlock import ReadLock
from gateway.routing.spec import ReadLockSpec

log = structlog.get_logger("gateway.filedrop")
_FAILED_PAUSE_S: Final = 5.0


class FileDropWatcher:
    """Watches one file feed's inbox and processes what is dropped there."""

    def __init__(self, feed: str, host: IngestHost, drop_root: str | os.PathLike[str]) -> None:
        self.feed = feed
        self._host = host
        self.directories = FeedDirectories.of(drop_root, feed)
        self._processor = FileProcessor(host, feed, self.directories)
        self._task: asyncio.Task[None] | None = None
        self._lock_fd: int | None = None
        self._ignored: set[str] = set()  # names not matching the pattern, logged once
        self._read_lock_spec: ReadLockSpec | None = None
        self._read_lock = ReadLock(ReadLockSpec(done_marker=True))

    @property
    def label(self) -> str:
        """``file-drop inspections``."""
        return f"file-drop {self.feed}"

    @property
    def running(self) -> bool:
        """True while it watches its inbox, or stands by for another process's lock."""
        return self._task is not None and not self._task.done()

    @property
    def holds_lock(self) -> bool:
        """True while this process serves the feed's directories."""
        return self._lock_fd is not None

    async def start(self, connection: Any) -> None:
        """Start watching (the broker connection is not needed: publishing goes through the
        gateway's pipeline)."""
        if self.running:
            return
        self._processor.stopping.clear()
        self.directories.create()
        self._task = asyncio.create_task(self._watch(), name=self.label)

    async def stop_consuming(self) -> None:
        """Take no more files, read no more records (batches in flight go on)."""
        self._processor.stopping.set()

    async def stop(self, timeout: float) -> None:
        """Stop; a file not finished within ``timeout`` stays in processing/ and is resumed
        at the next start."""
        await self.stop_consuming()
        task, self._task = self._task, None
        if task is not None:
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.shield(task)
            except TimeoutError:
                log.warning("filedrop.stop_timeout", feed=self.feed)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._release_lock()

    async def _watch(self) -> None:
        try:
            while not self._processor.stopping.is_set():
                if await self._serve():
                    return
                await self._pause(_FAILED_PAUSE_S)
        finally:
            self._release_lock()

    async def _serve(self) -> bool:
        """Serve the feed until stopped (True), or until something fails (False: logged, and
        tried again after a pause)."""
        try:
            if not await self._acquire_lock():
                return True
            await self._resume_all()
            while not self._processor.stopping.is_set():
                if not await self.scan():
                    await self._pause(self._poll())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("filedrop.failed", feed=self.feed, retry_in_s=_FAILED_PAUSE_S)
            return False
        return True

    async def _acquire_lock(self) -> bool:
        """Wait for the feed's lock; False when stopped first."""
        if self._lock_fd is not None:
            return True
        fd = os.open(self.directories.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not said:
                    log.info("filedrop.standby", feed=self.feed, lock=str(self.directories.lock))
                    said = True
                await self._pause(self._poll())
                if self._processor.stopping.is_set():
                    os.close(fd)
                    return False
                continue
            except BaseException:
                os.close(fd)
                raise
            self._lock_fd = fd
            log.info("filedrop.watching", feed=self.feed, inbox=str(self.directories.inbox))
            return True

    def _release_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor releases the flock

    async def _resume_all(self) -> None:
        """Go on with every file a previous run left in processing/, oldest first."""
        journals = await asyncio.to_thread(_journals, self.directories.processing)
        for journal in journals:
            if self._processor.stopping.is_set():
                return
            await self._processor.resume(journal)

    async def scan(self) -> bool:
        """One look at the inbox: refuse what may not be taken, and take the oldest complete
        file (True when one was taken: the inbox is looked at again at once, since what was
        seen before processing it is stale by now)."""
        current = self._processor.feed()
        if current is None:
            return False  # the feed is gone from the table, or no longer takes files
        _, feed = current
        assert feed.file is not None
        spec = feed.file
        entries = await asyncio.to_thread(_listing, self.directories)
        present = {entry.name for entry in entries}
        if spec.read_lock != self._read_lock_spec:  # new, or changed by a reload
            self._read_lock_spec, self._read_lock = spec.read_lock, ReadLock(spec.read_lock)
        lock = self._read_lock
        for entry in entries:
            if self._processor.stopping.is_set():
                return False
            name = entry.name
            if ignored(name):
                continue
            if not fnmatch.fnmatchcase(name, spec.pattern):
                if name not in self._ignored:
                    self._ignored.add(name)
                    log.info("file.ignored", feed=self.feed, file=name, pattern=spec.pattern)
                continue
            if entry.problem is not None:
                await self._processor.refuse(name, entry.problem)
                continue
            if lock.complete(name, entry.info, present):
                lock.forget(present - {name})
                await self._processor.take(name)
                return True
        lock.forget(present)
        self._ignored &= present
        return False

    def _poll(self) -> float:
        current = self._processor.feed()
        if current is None or current[1].file is None:
            return 1.0
        return current[1].file.poll

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._processor.stopping.wait()


@dataclass(frozen=True, slots=True)
class _Entry:
    """An inbox entry as one scan saw it: its name, its ``lstat``, why it may not be taken."""

    name: str
    info: os.stat_result
    problem: str | None


def _listing(directories: FeedDirectories) -> list[_Entry]:
    """The inbox's entries, oldest first (by mtime, then name)."""
    entries = []
    with os.scandir(directories.inbox) as listing:
        for entry in listing:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # gone meanwhile
            problem = None
            if not ignored(entry.name):
                problem = unsafe_name(entry.name) or entry_problem(
                    directories.inbox / entry.name, directories.root
                )
            entries.append(_Entry(entry.name, info, problem))
    return sorted(entries, key=lambda e: (e.info.st_mtime_ns, e.name))


def _journals(processing: Path) -> list[Path]:
    """The journals in processing/, oldest first."""
    found = []
    for path in processing.iterdir():
        if path.name.endswith(SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                found.append((path.stat().st_mtime_ns, path))
    return [path for _, path in sorted(found)]
