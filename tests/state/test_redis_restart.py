"""Redis restarts under a running server: it answers 503 while Redis is away and recovers
on its own when Redis is back, with no restart of the server.

The Redis it stops is its own, on a free port: the one on 6379 is shared by everything
on the machine and is never stopped, flushed or reconfigured by a test.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "multi_instance"))

from cloudmcp_serving import free_port
from instances import STATE_APP, Instance, start
from session_client import headers, initialize, modern_call, post, request, result, tool

from cloudmcp.protocol.errors import SERVICE_UNAVAILABLE


class OwnRedis:
    """A `redis-server` of this test's own, without persistence, stopped and started at will."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed: run scripts/install-tools.sh")
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.answers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def answers(self) -> bool:
        ping = ["redis-cli", "-p", str(self.port), "ping"]
        return subprocess.run(ping, capture_output=True, text=True).stdout.strip() == "PONG"

    def stop(self) -> None:
        """Gone at once, as a crash or a failover looks to the server: nothing saved."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[OwnRedis]:
    own = OwnRedis(tmp_path)
    own.start()
    yield own
    own.stop()


@pytest.fixture
def instance(tmp_path: Path, redis: OwnRedis) -> Iterator[Instance]:
    env = {"REDIS_URL": redis.url, "SSE_KEEPALIVE": "1"}
    served = start("survivor", STATE_APP, tmp_path, env)
    yield served
    served.stop()


async def test_the_server_recovers_when_redis_restarts(instance: Instance, redis: OwnRedis) -> None:
    base = instance.url.removesuffix("/mcp")
    async with httpx.AsyncClient(timeout=10) as client:
        session = await initialize(client, instance.url)
        assert "result" in result(await post(client, instance.url, session, tool("whoami")))

        redis.stop()
        try:
            # While Redis is away: a clear 503 for the session, stateless calls still work.
            down = await post(client, instance.url, session, request("ping", id=2))
            assert down.status_code == 503
            assert down.json()["error"]["code"] == SERVICE_UNAVAILABLE
            assert (await client.get(base + "/ready")).status_code == 503
            stateless = await modern_call(client, instance.url, "whoami", {})
            assert stateless.status_code == 200
        finally:
            redis.start()

        # Back without restarting the server: ready again, sessions and streams work.
        deadline = time.monotonic() + 10
        while (await client.get(base + "/ready")).status_code != 200:
            assert time.monotonic() < deadline, "the server did not become ready again"
            await asyncio.sleep(0.1)
        # `--save ""` and a kill: Redis forgot the session; the client starts a new one.
        gone = await post(client, instance.url, session, request("ping", id=3))
        assert gone.status_code == 404
        session = await initialize(client, instance.url)
        body = tool("slow", {"steps": 2, "delay": 0.05}, id=4, progressToken="p")
        streamed = await client.post(instance.url, json=body, headers=headers(session))
        assert streamed.headers["content-type"] == "text/event-stream"
        assert result(streamed)["result"]["content"][0]["text"].startswith("slept 2 steps")
