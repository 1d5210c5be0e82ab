"""A fake receiving system on loopback that fails on command and records what it got."""

import asyncio
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web
from multidict import CIMultiDict


@dataclass
class Received:
    """One request the receiver got."""

    body: bytes
    headers: CIMultiDict[str]
    status: int


@dataclass
class FakeReceiver:
    """POST /inbox answers the next planned status (200 once the plan is used up)."""

    plan: deque[int] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    arrived: int = 0  # requests that came in, answered or still held
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _open: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._open.set()

    def answer(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order."""
        self.plan.extend(statuses)

    def hold(self) -> None:
        """Keep every request waiting, unanswered, until ``release()``."""
        self._open.clear()

    def release(self) -> None:
        """Answer the held requests and those that follow."""
        self._open.set()

    async def wait_arrived(self, count: int, timeout: float = 20) -> None:
        """Wait until ``count`` requests came in, answered or held."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.arrived >= count)

    def delivered(self) -> list[Received]:
        """The requests answered 2xx."""
        return [r for r in self.received if 200 <= r.status < 300]

    async def wait_for(self, count: int, *, delivered: bool = True, timeout: float = 20) -> None:
        """Wait until ``count`` requests (answered 2xx unless ``delivered=False``) arrived."""

        def enough() -> bool:
            got = self.delivered() if delivered else self.received
            return len(got) >= count

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(enough)

    async def _inbox(self, request: web.Request) -> web.Response:
        self.arrived += 1
        async with self._changed:
            self._changed.notify_all()
        await self._open.wait()
        status = self.plan.popleft() if self.plan else 200
        self.received.append(Received(await request.read(), CIMultiDict(request.headers), status))
        async with self._changed:
            self._changed.notify_all()
        headers = {"Retry-After": "0"} if status in (429, 503) else None
        return web.Response(status=status, text=f"fake receiver says {status}", headers=headers)

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_post("/inbox", self._inbox)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/inbox"

    async def stop(self) -> None:
        """Answer what is held, and stop listening."""
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
