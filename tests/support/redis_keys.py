"""The real Redis the tests use, and clean-up of the keys a test wrote there."""

import os

import redis.asyncio

REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def delete_keys(prefix: str) -> None:
    """Delete every Redis key under ``prefix`` (SCAN MATCH prefix:*)."""
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
