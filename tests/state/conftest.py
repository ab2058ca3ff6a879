"""Fixtures for the store contract: every test runs on memory and on the real Redis.

Redis tests use 127.0.0.1:6379 (REDIS_TEST_URL to override), each under a key prefix
of its own, and delete what they wrote; they are skipped when no Redis answers.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from redis_support import REDIS_URL, delete_prefix, require_redis

from cloudmcp.state.memory import MemoryStore
from cloudmcp.state.store import Store


@pytest.fixture
def prefix() -> str:
    return f"cloudmcp-test:{secrets.token_hex(6)}:"


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    require_redis()
    from cloudmcp.state.redis import RedisStore

    redis_store = RedisStore(REDIS_URL)
    try:
        yield redis_store
    finally:
        await redis_store.close()
        await delete_prefix(prefix)
