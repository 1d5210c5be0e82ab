"""Live reload of routing.yaml: on SIGHUP, on ``POST /admin/reload``, or when the file changes.

A reload reads the file the table in force came from and checks it as ``routes check`` does.
An invalid file changes nothing: the table in force keeps serving, and the problems (each
with file:line:key) are logged and kept for ``GET /admin/routing``. A valid one is put in force
by ``Gateway.put_in_force`` (new topology first, then the swap) and its differences from the
old one are logged, section by section. Reloads are one at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import structlog

from gateway.errors import BrokerUnavailableError, RoutingConfigError
from gateway.routing import compile_routing_table, describe

if TYPE_CHECKING:
    from gateway.runtime import Gateway

log = structlog.get_logger("gateway.routing")


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What a reload did: put a new table in force, found nothing new, or refused the file."""

    status: Literal["reloaded", "unchanged", "refused"]
    sha256: str | None
    diff: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


class Reloader:
    """Reloads the gateway's routing table from its file."""

    def __init__(self, gateway: Gateway, env: Mapping[str, str] | None = None) -> None:
        self._gateway = gateway
        self._env = env  # None: the process environment at each reload
        self._lock = asyncio.Lock()
        self._signalled: set[asyncio.Task[ReloadOutcome]] = set()
        #: the last refused file: {"at", "sha256", "reason", "problems"}, None after a success
        self.last_error: dict[str, Any] | None = None

    @property
    def path(self) -> str:
        """The file the table in force came from."""
        return self._gateway.table.source

    async def reload(self, reason: str) -> ReloadOutcome:
        """Read the file and put it in force if it is valid and new; ``reason`` is logged."""
        async with self._lock:
            gateway, path = self._gateway, self.path
            old = gateway.table
            try:
                text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                return self._refuse(None, [f"{path}: cannot read: {exc}"], reason)
            sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if sha256 == old.sha256:
                self.last_error = None
                return ReloadOutcome("unchanged", sha256)
            try:
                table = compile_routing_table(
                    text,
                    path,
                    schemas=gateway.schemas,
                    adapters=gateway.adapters,
                    providers=gateway.providers,
                    env=os.environ if self._env is None else self._env,
                )
            except RoutingConfigError as exc:
                return self._refuse(sha256, [str(p) for p in exc.problems], reason)
            try:
                diff = await gateway.put_in_force(table)
            except (BrokerUnavailableError, ValueError) as exc:
                return self._refuse(sha256, [f"{path}: not put in force: {exc}"], reason)
            self.last_error = None
            log.info(
                "routing.reloaded",
                reason=reason,
                source=path,
                sha256=sha256,
                previous_sha256=old.sha256,
                changes=describe(diff),
                diff=diff,
            )
            return ReloadOutcome("reloaded", sha256, diff)

    def _refuse(self, sha256: str | None, problems: list[str], reason: str) -> ReloadOutcome:
        self.last_error = {
            "at": datetime.now(UTC).isoformat(),
            "sha256": sha256,
            "reason": reason,
            "problems": problems,
        }
        log.error(
            "routing.reload_refused",
            reason=reason,
            source=self.path,
            sha256=sha256,
            in_force_sha256=self._gateway.table.sha256,
            problems=problems,
        )
        return ReloadOutcome("refused", sha256, problems=tuple(problems))

    def reload_on_sighup(self) -> None:
        """Reload on every SIGHUP to this process (from inside its running event loop)."""
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._on_sighup)

    def _on_sighup(self) -> None:
        task = asyncio.create_task(self.reload("SIGHUP"), name="reload-sighup")
        self._signalled.add(task)
        task.add_done_callback(self._signal_done)

    def _signal_done(self, task: asyncio.Task[ReloadOutcome]) -> None:
        self._signalled.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("routing.reload_failed", reason="SIGHUP", error=repr(task.exception()))

    async def watch(self, interval: float) -> None:
        """Reload whenever the file's size or modification time changes (checked every
        ``interval`` seconds); after a refusal for want of a broker, try again at the next
        check."""
        seen = await self._stat()
        while True:
            await asyncio.sleep(interval)
            current = await self._stat()
            if current is None or current == seen:
                continue
            seen = current
            outcome = await self.reload("the file changed")
            if outcome.status == "refused" and any(
                "not put in force" in problem for problem in outcome.problems
            ):
                seen = None  # the file was fine: put it in force once the broker is back

    async def _stat(self) -> tuple[int, int] | None:
        try:
            stat = await asyncio.to_thread(os.stat, self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def status(self) -> dict[str, Any]:
        """The table in force and the last refused file, for ``GET /admin/routing``."""
        table = self._gateway.table
        return {
            "source": table.source,
            "sha256": table.sha256,
            "loaded_at": table.loaded_at.isoformat(),
            "systems": sorted(table.systems),
            "feeds": sorted(table.feeds),
            "routes": [route.name for route in table.routes],
            "destinations": sorted(table.destinations),
            "services": sorted(table.services),
            "last_error": self.last_error,
        }
