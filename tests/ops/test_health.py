"""Health, readiness and the deep check, in-process: they bypass auth, Host and Origin."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cloudmcp import MCPApp
from cloudmcp.errors import MCPError
from cloudmcp.state.memory import MemoryStore


class Refuser:
    async def authenticate(self, request: Any) -> Any:
        raise MCPError(-32001, "Unauthorized", status=401)


class DownStore(MemoryStore):
    async def ping(self) -> bool:
        return False


def make_app(store: MemoryStore | None = None, auth: Any = None) -> MCPApp:
    app = MCPApp("health-test", "9.9.9", store=store or MemoryStore(), auth=auth)

    @app.tool()
    def one() -> str:
        return "1"

    @app.tool()
    def two() -> str:
        return "2"

    return app


def client(app: MCPApp) -> httpx.AsyncClient:
    # Bound to localhost: Host and Origin checks at their strictest.
    transport = httpx.ASGITransport(app=app.http_app(bind_host="127.0.0.1"))
    return httpx.AsyncClient(transport=transport, base_url="http://evil.example")


async def test_health_ready_and_deep_bypass_host_origin_and_auth() -> None:
    app = make_app(auth=Refuser())
    hostile = {"origin": "http://evil.example"}
    async with client(app) as http:
        mcp = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert mcp.status_code in (401, 421)  # the MCP endpoint is guarded...
        for path in ("/health", "/ready", "/health/deep"):
            response = await http.get(path, headers=hostile)  # ...its health checks are not
            assert response.status_code == 200, (path, response.text)
            assert response.headers["content-type"] == "application/json"
    deep = response.json()
    assert deep["status"] == "healthy"
    assert deep["tools_list"]["ok"] is True and deep["tools_list"]["tools"] == 2
    assert deep["server"] == "health-test" and deep["version"] == "9.9.9"


async def test_readiness_fails_while_the_store_is_down_liveness_does_not() -> None:
    app = make_app(DownStore())
    async with client(app) as http:
        live = await http.get("/health")
        ready = await http.get("/ready")
        deep = await http.get("/health/deep")
    assert live.status_code == 200 and live.json()["status"] == "degraded"
    assert ready.status_code == 503 and ready.json()["status"] == "not ready"
    assert deep.status_code == 503


async def test_readiness_fails_once_shutdown_begins() -> None:
    app = make_app()
    async with client(app) as http:
        assert (await http.get("/ready")).status_code == 200
        app.compose().engine.begin_closing()
        ready = await http.get("/ready")
        live = await http.get("/health")
    assert ready.status_code == 503 and ready.json()["closing"] is True
    assert live.status_code == 200


async def test_deep_check_reports_a_broken_tools_list() -> None:
    app = make_app()

    async def broken(call: Any, ctx: Any) -> dict[str, Any]:
        raise RuntimeError("registry corrupted")

    app.compose().engine.features.handlers["tools/list"] = broken
    async with client(app) as http:
        deep = await http.get("/health/deep")
    assert deep.status_code == 503
    assert deep.json()["tools_list"]["ok"] is False
    from cloudmcp.ops.logs import flush_lines

    flush_lines()  # the logged traceback belongs to this test's output, not the next one's


@pytest.mark.parametrize("path", ["/health", "/ready", "/health/deep"])
async def test_503_when_the_store_fails_unexpectedly(path: str) -> None:
    class BrokenStore(MemoryStore):
        async def ping(self) -> bool:
            raise RuntimeError("bad REDIS_URL")

    app = MCPApp("broken", store=BrokenStore())
    async with client(app) as http:
        response = await http.get(path)
    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "error": "RuntimeError"}
