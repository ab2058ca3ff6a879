"""Redis restarts under a running server: it answers 503 while Redis is away and recovers
on its own when Redis is back, with no restart of the server.

Named test_zz_ so it runs last (tests/state/conftest.py moves it to the end): it stops
the Redis that other tests share, for about a second, and starts it again at once.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis_support import delete_prefix, redis_available, require_redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "multi_instance"))

from instances import STATE_APP, Instance, start
from session_client import headers, initialize, modern_call, post, request, result, tool

from cloudmcp.protocol.errors import SERVICE_UNAVAILABLE


@pytest.fixture(autouse=True)
def _redis() -> None:
    require_redis()


# How CI runs Redis; the test starts it again exactly so.
REDIS_SERVER = [
    "redis-server",
    "--daemonize", "yes",
    "--bind", "127.0.0.1", "-::1",
    "--port", "6379",
    "--save", "",
    "--appendonly", "no",
    "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def _start_redis() -> None:
    subprocess.run(REDIS_SERVER, check=True, timeout=10)
    deadline = time.monotonic() + 10
    while not redis_available():
        if time.monotonic() > deadline:
            raise RuntimeError("Redis did not come back")
        time.sleep(0.05)
    # Accepting connections is not enough: wait until it answers commands.
    while subprocess.run(["redis-cli", "ping"], capture_output=True, text=True).stdout.strip() != (
        "PONG"
    ):
        time.sleep(0.05)


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    prefix = f"cloudmcp-test:{secrets.token_hex(6)}:"
    served = start("survivor", STATE_APP, tmp_path, {"KEY_PREFIX": prefix, "SSE_KEEPALIVE": "1"})
    yield served
    served.stop()
    asyncio.run(delete_prefix(prefix))


async def test_the_server_recovers_when_redis_restarts(instance: Instance) -> None:
    base = instance.url.removesuffix("/mcp")
    async with httpx.AsyncClient(timeout=10) as client:
        session = await initialize(client, instance.url)
        assert "result" in result(await post(client, instance.url, session, tool("whoami")))

        subprocess.run(["redis-cli", "shutdown", "nosave"], capture_output=True, timeout=10)
        try:
            while redis_available():
                await asyncio.sleep(0.01)
            # While Redis is away: a clear 503 for the session, stateless calls still work.
            down = await post(client, instance.url, session, request("ping", id=2))
            assert down.status_code == 503
            assert down.json()["error"]["code"] == SERVICE_UNAVAILABLE
            assert (await client.get(base + "/ready")).status_code == 503
            stateless = await modern_call(client, instance.url, "whoami", {})
            assert stateless.status_code == 200
        finally:
            _start_redis()

        # Back without restarting the server: ready again, sessions and streams work.
        deadline = time.monotonic() + 10
        while (await client.get(base + "/ready")).status_code != 200:
            assert time.monotonic() < deadline, "the server did not become ready again"
            await asyncio.sleep(0.1)
        # `--save ""` and `nosave`: Redis forgot the session; the client starts a new one.
        gone = await post(client, instance.url, session, request("ping", id=3))
        assert gone.status_code == 404
        session = await initialize(client, instance.url)
        body = tool("slow", {"steps": 2, "delay": 0.05}, id=4, progressToken="p")
        streamed = await client.post(instance.url, json=body, headers=headers(session))
        assert streamed.headers["content-type"] == "text/event-stream"
        assert result(streamed)["result"]["content"][0]["text"].startswith("slept 2 steps")
