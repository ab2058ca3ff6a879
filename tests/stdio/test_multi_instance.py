"""Three `cloudmcp serve --stdio` instances of server-everything behind nginx round robin,
sharing one Redis: a legacy session (its sampling round trip included) and a 2026-07-28
retry keep working while consecutive requests land on different instances."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mcp
import pytest
from cloudmcp_serving import ROOT, cloudmcp_command, free_port
from mcp import types
from redis_support import REDIS_URL, delete_prefix, require_redis
from stdio_serving import EVERYTHING, require
from wire import modern

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "multi_instance"))

from instances import Instance, Nginx, nginx_binary, run_nginx, state_key

pytestmark = pytest.mark.slow
INSTANCE_HEADER = "x-cloudmcp-instance"


def _start(name: str, work: Path, env: dict[str, str]) -> Instance:
    port = free_port()
    log = work / f"{name}.log"
    environment = {k: v for k, v in os.environ.items() if k != "PORT"}
    environment.update({"REDIS_URL": REDIS_URL, "INSTANCE_ID": name, **env})
    command = [*cloudmcp_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--stdio", "--", require(EVERYTHING)],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    instance = Instance(name, port, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{instance.log_tail()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=3).status_code == 200:
                return instance
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    instance.stop()
    raise RuntimeError(f"{name} was not ready:\n{instance.log_tail()}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Instance], Nginx]]:
    require_redis()
    if nginx_binary() is None:
        pytest.fail("nginx is not installed: run scripts/install-tools.sh")
    work = tmp_path_factory.mktemp("stdio-cluster")
    prefix = f"cloudmcp-test:{secrets.token_hex(6)}:"
    env = {"KEY_PREFIX": prefix, "STATE_KEYS": state_key("k1"), "SSE_KEEPALIVE": "5"}
    instances: list[Instance] = []
    try:
        for i in range(3):
            instances.append(_start(f"stdio-{i + 1}", work, env))
        for nginx in run_nginx(instances, work / "nginx"):
            yield instances, nginx
    finally:
        for instance in instances:
            instance.stop()
        asyncio.run(delete_prefix(prefix))


def _upstreams(nginx: Nginx) -> list[str]:
    log = nginx.dir / "upstreams.log"
    return [line.split()[0] for line in log.read_text().splitlines() if line.strip()]


async def _sample(
    context: Any, params: types.CreateMessageRequestParams
) -> types.CreateMessageResult:
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text="answered across instances"),
        model="test-model",
        stop_reason="endTurn",
    )


async def test_a_legacy_session_spans_the_instances(
    cluster: tuple[list[Instance], Nginx],
) -> None:
    instances, nginx = cluster
    before = len(_upstreams(nginx))
    assert len(instances) == 3
    async with mcp.Client(
        nginx.url, mode="legacy", sampling_callback=_sample, read_timeout_seconds=30
    ) as client:
        for n in range(4):
            echoed = await client.call_tool("echo", {"message": f"hop {n}"})
            assert echoed.content[0].text == f"Echo: hop {n}"  # type: ignore[union-attr]
        # The child's sampling request goes out on this POST's SSE stream; the client's
        # answer is a POST that nginx sends to another instance, and Redis carries it back.
        sampled = await client.call_tool("trigger-sampling-request", {"prompt": "far"})
        assert "answered across instances" in sampled.content[0].text  # type: ignore[union-attr]
    used = Counter(_upstreams(nginx)[before:])
    assert used.keys() == {f"127.0.0.1:{i.port}" for i in instances}, used


def test_a_2026_retry_lands_on_another_instance(cluster: tuple[list[Instance], Nginx]) -> None:
    _, nginx = cluster
    call = {"name": "trigger-sampling-request", "arguments": {"prompt": "anywhere"}}
    answer = {
        "role": "assistant",
        "content": {"type": "text", "text": "retried elsewhere"},
        "model": "wire-model",
        "stopReason": "endTurn",
    }
    with httpx.Client(timeout=20) as http:
        first = modern(http, nginx.url, "tools/call", call)
        round_one = first.json()["result"]
        assert round_one["resultType"] == "input_required"
        retry = {
            **call,
            "inputResponses": {"stdio-1": answer},
            "requestState": round_one["requestState"],
        }
        second = modern(http, nginx.url, "tools/call", retry, id=2)
    assert first.headers[INSTANCE_HEADER] != second.headers[INSTANCE_HEADER]
    done = second.json()["result"]
    assert done["resultType"] == "complete"
    assert "retried elsewhere" in done["content"][0]["text"]
