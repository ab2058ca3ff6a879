"""An instance whose Redis is unreachable: stateful requests get a clear 503, stateless
2026-07-28 tool calls keep working, readiness says not ready, rate limits fall back to
counting per process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from instances import STATE_APP, Instance, start
from session_client import modern_call
from wire import ACCEPT, meta, modern_headers

from cloudmcp.protocol.errors import RATE_LIMITED, SERVICE_UNAVAILABLE

# Nothing listens on port 1: every connection is refused at once.
UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest.fixture(scope="module")
def stranded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    env = {"REDIS_URL": UNREACHABLE, "RATE_LIMIT": "50/60"}
    instance = start("stranded", STATE_APP, tmp_path_factory.mktemp("outage"), env, probe="/health")
    yield instance
    instance.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def base(instance: Instance) -> str:
    return instance.url.removesuffix("/mcp")


async def test_not_ready_while_the_store_is_unreachable(
    client: httpx.AsyncClient, stranded: Instance
) -> None:
    ready = await client.get(base(stranded) + "/ready")
    assert ready.status_code == 503
    assert ready.json()["store_reachable"] is False
    assert (await client.get(base(stranded) + "/health")).status_code == 200


async def test_legacy_sessions_get_a_503_and_no_session(
    client: httpx.AsyncClient, stranded: Instance
) -> None:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "outage-test", "version": "1"},
        },
    }
    response = await client.post(stranded.url, json=init, headers={"accept": ACCEPT})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "mcp-session-id" not in response.headers  # never half-created
    body = response.json()
    assert body["id"] == 1
    assert body["error"]["code"] == SERVICE_UNAVAILABLE
    headers = {"accept": ACCEPT, "mcp-session-id": "whatever"}
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    assert (await client.post(stranded.url, json=ping, headers=headers)).status_code == 503
    assert (await client.get(stranded.url, headers=headers)).status_code == 503


async def test_stateless_tool_calls_keep_working(
    client: httpx.AsyncClient, stranded: Instance
) -> None:
    for name, arguments in (("whoami", {}), ("cached", {"x": 1}), ("cached", {"x": 1})):
        response = await modern_call(client, stranded.url, name, arguments)
        assert response.status_code == 200, response.text
        assert response.json()["result"]["resultType"] == "complete"
    # Without the store nothing was cached: the tool ran both times.
    again = await modern_call(client, stranded.url, "cached", {"x": 2})
    assert again.json()["result"]["content"][0]["text"].endswith("call 3")


async def test_listen_needs_the_store(client: httpx.AsyncClient, stranded: Instance) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 5,
        "method": "subscriptions/listen",
        "params": {"notifications": {"toolsListChanged": True}, "_meta": meta()},
    }
    response = await client.post(
        stranded.url, json=body, headers=modern_headers("subscriptions/listen")
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == SERVICE_UNAVAILABLE


async def test_rate_limits_fall_back_to_this_process(
    client: httpx.AsyncClient, stranded: Instance
) -> None:
    statuses = [
        (await modern_call(client, stranded.url, "limited", {})).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    refused = await modern_call(client, stranded.url, "limited", {})
    assert refused.json()["error"]["code"] == RATE_LIMITED
    health = (await client.get(base(stranded) + "/health")).json()
    assert health["rate_limits"].startswith("per-process fallback")
