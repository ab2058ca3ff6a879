"""The real Redis the state tests use: where it is, whether it answers, and cleanup."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")


def redis_available() -> bool:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1):
            return True
    except OSError:
        return False


async def delete_prefix(prefix: str) -> int:
    """Delete every key under `prefix`; the number deleted."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        return int(await client.delete(*keys)) if keys else 0
    finally:
        await client.aclose()


def require_redis() -> None:
    """Fail (never skip) a test that needs the real Redis when none answers: `make test`
    starts one, so a missing Redis is a broken setup, not a reason to pass."""
    import pytest

    if not redis_available():
        pytest.fail(f"no Redis at {REDIS_URL}: run scripts/install-tools.sh to start it")
