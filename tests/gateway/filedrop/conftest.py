"""File feeds end to end: a gateway on the real RabbitMQ, real files in a real drop root."""

from collections.abc import Callable
from typing import Any

import pytest

from gateway.config import Settings
from gateway.filedrop import FeedDirectories, FileDropWatcher
from tests.gateway.filedrop.drops import FEED, compiled


@pytest.fixture
async def file_gateway(start_gateway: Any, settings: Settings) -> Callable[..., Any]:
    """``await file_gateway(routing_text)``: a gateway (its workers running, the file-drop
    watcher among them) and the feed's directories."""

    async def start(
        text: str, settings: Settings = settings, **options: Any
    ) -> tuple[Any, FeedDirectories]:
        gateway, _ = await start_gateway(settings, compiled(text), **options)
        return gateway, FeedDirectories.of(settings.drop_root, FEED)

    return start


@pytest.fixture
async def bare_gateway(start_gateway: Any, settings: Settings) -> Callable[..., Any]:
    """``await bare_gateway(routing_text)``: a gateway without workers and a watcher of its
    feed that is not started, so that a test drives its scans one by one."""

    async def start(text: str, settings: Settings = settings) -> tuple[Any, FileDropWatcher]:
        gateway, _ = await start_gateway(settings, compiled(text), run_workers=False)
        watcher = FileDropWatcher(FEED, gateway, settings.drop_root)
        watcher.directories.create()
        return gateway, watcher

    return start
