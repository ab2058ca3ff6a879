"""cloudmcp inside a FastAPI app: mounted under a path, lifespan working, both eras served."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import mcp
import pytest
from cloudmcp_serving import free_port, run_server
from wire import Session, modern

APPS = Path(__file__).resolve().parents[1] / "apps"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("fastapi") / "uvicorn.log"
    command = [sys.executable, "-m", "uvicorn", "fastapi_app:api", "--app-dir", str(APPS)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "on"]
    for served in run_server(command, port, log):
        yield served.url
    assert "Traceback" not in log.read_text()


def test_fastapi_routes_still_work(base_url: str) -> None:
    assert httpx.get(base_url + "/hello").json() == {"hello": "world"}


def test_mounted_endpoint_serves_both_eras(base_url: str) -> None:
    with httpx.Client(timeout=10) as client:
        params = {"name": "add", "arguments": {"a": 2, "b": 3}}
        response = modern(client, base_url + "/mcp/", "tools/call", params)
        assert response.json()["result"]["structuredContent"] == {"result": 5}
        session = Session(client, base_url + "/mcp/")
        state = session.call("tools/call", {"name": "lifespan_state", "arguments": {}})
        assert state["result"]["structuredContent"] == {"result": ["store=memory"]}
        assert client.get(base_url + "/mcp/health").json()["status"] == "healthy"


async def test_sdk_client_through_the_mount(base_url: str) -> None:
    async with mcp.Client(base_url + "/mcp/", mode="legacy") as client:
        result = await client.call_tool("add", {"a": 40, "b": 2})
    assert result.structured_content == {"result": 42}
