"""A feed's drop directories, what may be taken from them, and how files move between them.

    <drop root>/<feed>/inbox/        where the sending system drops its files
                      processing/    taken, being read and published (with our journal)
                      archive/       every record confirmed: the file and its receipt
                      failed/        unreadable, refused or rejected: the file and its error
                      .lock          held (flock) by the one gateway process serving the feed

Every move is one ``rename(2)`` within the feed's directory (one filesystem): a file is always
in exactly one place, whole. Nothing the sender dropped is ever deleted; a name already taken
in the target directory gets ``~2``, ``~3``... before its extension (``inspections~2.csv``).
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

MAX_NAME_BYTES: Final = 200
"""The longest name taken (bytes in UTF-8), leaving room for ``~N`` and ``.receipt.json``."""


@dataclass(frozen=True, slots=True)
class FeedDirectories:
    """The directories of one file feed under the drop root."""

    root: Path  # the drop root, which no taken file may lead out of
    feed: Path

    @classmethod
    def of(cls, drop_root: str | os.PathLike[str], feed: str) -> FeedDirectories:
        """The directories of ``feed`` under ``drop_root``."""
        root = Path(drop_root).absolute()
        return cls(root, root / feed)

    @property
    def inbox(self) -> Path:
        """Where files are dropped."""
        return self.feed / "inbox"

    @property
    def processing(self) -> Path:
        """Files being read and published."""
        return self.feed / "processing"

    @property
    def archive(self) -> Path:
        """Files whose records are all confirmed, with their receipts."""
        return self.feed / "archive"

    @property
    def failed(self) -> Path:
        """Files refused, unreadable or rejected, with their error files."""
        return self.feed / "failed"

    @property
    def lock(self) -> Path:
        """The lock file of the process serving the feed."""
        return self.feed / ".lock"

    def create(self) -> None:
        """Create the four directories (and the root) if they are missing."""
        for directory in (self.inbox, self.processing, self.archive, self.failed):
            directory.mkdir(parents=True, exist_ok=True)


def ignored(name: str) -> bool:
    """Names never taken: hidden (``.name``), temporary (``*.tmp``) and done markers. A name
    holding a path separator is never merely ignored (``..\\evil.csv``, made on Windows and
    dropped over a share, is a path climbing out): it is refused with its reason."""
    if "/" in name or "\\" in name:
        return False
    return name.startswith(".") or name.endswith((".tmp", ".done"))


def unsafe_name(name: str) -> str | None:
    """Why ``name`` cannot name a file in a drop directory, or None when it can: a path (a
    separator, ``..``, absolute), a control character, bytes that are not UTF-8, too long."""
    if name in ("", ".", ".."):
        return f"{name!r} is not a file name"
    if os.path.isabs(name) or name.startswith(("/", "\\")):
        return f"{_shown(name)} is an absolute path"
    if "/" in name or "\\" in name:
        parts = name.replace("\\", "/").split("/")
        if ".." in parts:
            return f"{_shown(name)} climbs out of its directory (..)"
        return f"{_shown(name)} is a path, not a name"
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return f"{_shown(name)} contains a control character"
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return f"{_shown(name)} is not valid UTF-8"
    if len(encoded) > MAX_NAME_BYTES:
        return f"the name is longer than {MAX_NAME_BYTES} bytes"
    return None


def entry_problem(path: Path, root: Path) -> str | None:
    """Why the directory entry ``path`` is no file to take, or None: only regular files are
    taken; a symbolic link is refused wherever it leads (inside the drop root it could hand a
    feed another feed's files), the reason saying where; a directory, FIFO, socket or device
    is refused as what it is. Looked at without following links."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None  # gone meanwhile: nothing to refuse
    if stat.S_ISREG(info.st_mode):
        return None
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(path)
        resolved = Path(os.path.realpath(path))
        where = "inside" if resolved.is_relative_to(root) else "outside"
        return (
            f"a symbolic link (to {target!r}, {where} the drop root); only regular files are taken"
        )
    return f"{kind_of(info.st_mode)}, not a regular file"


def kind_of(mode: int) -> str:
    """``a directory``, ``a FIFO``... for a file mode."""
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def free_name(directory: Path, name: str, suffixes: Sequence[str] = ()) -> str:
    """``name``, or ``stem~N.ext`` with the smallest N from 2 such that neither it nor it with
    any of ``suffixes`` exists in ``directory``."""
    stem, dot, extension = name.rpartition(".")
    if not stem:  # no extension
        stem, dot, extension = name, "", ""
    candidate, number = name, 1
    while any(os.path.lexists(directory / (candidate + s)) for s in ("", *suffixes)):
        number += 1
        candidate = f"{stem}~{number}{dot}{extension}"
    return candidate


def safe_target_name(name: str) -> str:
    """A name that may be created for an entry whose own name is unsafe: every character
    that is not printable UTF-8 (or is a separator) becomes ``_``."""
    cleaned = "".join(
        "_" if ord(c) < 32 or ord(c) == 127 or c in "/\\" or 0xDC80 <= ord(c) <= 0xDCFF else c
        for c in name
    )
    cleaned = cleaned.encode("utf-8", errors="replace").decode("utf-8")[:MAX_NAME_BYTES]
    return cleaned.lstrip(".") or "unnamed"


def move(source: Path, directory: Path, name: str, suffixes: Sequence[str] = ()) -> Path:
    """Rename ``source`` into ``directory`` under ``name`` or its first free variant (see
    ``free_name``); the new path. One rename(2): the file is never in two places."""
    target = directory / free_name(directory, name, suffixes)
    os.rename(source, target)
    return target


def write_atomically(path: Path, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to ``path`` so that it is never seen incomplete: into a hidden
    temporary file beside it, fsynced, renamed over ``path``, the directory fsynced."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "wb", buffering=1024 * 1024) as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make the renames in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _shown(name: str) -> str:
    return repr(name.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace"))
