"""Two processes of tests/multi_instance/state_app.py sharing the real Redis, one key
prefix per module; tests talk to each instance directly, so they choose which serves what."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_support import delete_prefix, require_redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "conformance"))  # the suite's runner and parser

from instances import STATE_APP, Instance, start_many, state_key  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _redis() -> None:
    require_redis()


@pytest.fixture(scope="module")
def key_prefix() -> Iterator[str]:
    prefix = f"cloudmcp-test:{secrets.token_hex(6)}:"
    yield prefix
    asyncio.run(delete_prefix(prefix))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, key_prefix: str) -> Iterator[list[Instance]]:
    """Instances A and B of the state test app: one Redis, one prefix, one key ring."""
    env = {
        "KEY_PREFIX": key_prefix,
        "STATE_KEYS": state_key("k1"),
        "SSE_KEEPALIVE": "1",
        "RATE_LIMIT": "",
    }
    instances = start_many(2, STATE_APP, tmp_path_factory.mktemp("pair"), env)
    yield instances
    for instance in instances:
        instance.stop()
