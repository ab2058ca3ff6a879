"""What the engine does with the store, in-process on the memory backend: result cache,
rate limits, counters, and settings that configure them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from wire import ACCEPT, meta, modern_headers

from cloudmcp import Context, MCPApp, ToolError
from cloudmcp.protocol.errors import RATE_LIMITED
from cloudmcp.settings import Settings
from cloudmcp.state.memory import MemoryStore
from cloudmcp.state.ratelimit import Limit


class Caller:
    """A principal as authentication would set it."""

    def __init__(self, id: str) -> None:
        self.id = id


def make_app(**settings: Any) -> tuple[MCPApp, dict[str, int]]:
    app = MCPApp("state-test", settings=Settings(**settings), store=MemoryStore())
    runs = {"square": 0, "fails": 0, "asks": 0}

    @app.tool(cache_ttl=60)
    async def square(x: int) -> int:
        runs["square"] += 1
        return x * x

    @app.tool(cache_ttl=True)
    async def fails(x: int) -> int:
        runs["fails"] += 1
        raise ToolError("no")

    @app.tool(cache_ttl=60)
    async def asks(ctx: Context) -> str:
        runs["asks"] += 1
        answer = await ctx.elicit("name?", {"type": "object", "properties": {}})
        return answer.action

    @app.tool(rate_limit="2/60")
    async def scarce() -> str:
        return "ok"

    return app, runs


@pytest.fixture
async def cached() -> AsyncIterator[tuple[httpx.AsyncClient, MCPApp, dict[str, int]]]:
    app, runs = make_app()
    transport = httpx.ASGITransport(app=app.http_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, app, runs


async def call(
    client: httpx.AsyncClient, name: str, arguments: dict[str, Any], **params: Any
) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": meta(), **params},
    }
    return await client.post("/mcp", json=body, headers=modern_headers("tools/call", name))


async def test_cache_serves_repeat_calls_and_counts(
    cached: tuple[httpx.AsyncClient, MCPApp, dict[str, int]],
) -> None:
    client, app, runs = cached
    texts = [(await call(client, "square", {"x": 7})).json()["result"] for _ in range(3)]
    assert runs["square"] == 1
    assert all(t["content"] == texts[0]["content"] for t in texts)
    await call(client, "square", {"x": 8})
    assert runs["square"] == 2
    counters = app.compose().engine.counters
    assert (counters.cache_hits, counters.cache_misses) == (2, 2)


async def test_different_argument_values_get_their_own_entries(
    cached: tuple[httpx.AsyncClient, MCPApp, dict[str, int]],
) -> None:
    client, _, runs = cached
    await call(client, "square", {"x": 3})
    await call(client, "square", {"x": 3.0})  # a different JSON value: its own entry
    assert runs["square"] == 2


async def test_errors_and_answers_that_needed_input_are_not_cached(
    cached: tuple[httpx.AsyncClient, MCPApp, dict[str, int]],
) -> None:
    client, _, runs = cached
    for _ in range(2):
        assert (await call(client, "fails", {"x": 1})).json()["result"]["isError"] is True
    assert runs["fails"] == 2
    answers = {"input-1": {"action": "accept", "content": {}}}
    for _ in range(2):
        first = (await call(client, "asks", {})).json()["result"]
        assert first["resultType"] == "input_required"
        done = await call(
            client, "asks", {}, inputResponses=answers, requestState=first["requestState"]
        )
        assert done.json()["result"]["content"][0]["text"] == "accept"
    assert runs["asks"] == 4  # every call ran: nothing that asked was kept


async def test_cache_entries_belong_to_one_principal() -> None:
    app, runs = make_app()
    http = app.http_app()
    for who in ("alice", "bob", "alice"):

        async def as_caller(scope: Any, receive: Any, send: Any, who: str = who) -> None:
            if scope["type"] == "http":
                scope["principal"] = Caller(who)
            await http(scope, receive, send)

        transport = httpx.ASGITransport(app=as_caller)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            assert (await call(c, "square", {"x": 2})).json()["result"]["content"][0]["text"]
    assert runs["square"] == 2  # alice, bob; alice's second call was a hit


async def test_principal_rate_limit_answers_429_with_retry_after() -> None:
    app, _ = make_app(rate_limit="3/60")
    transport = httpx.ASGITransport(app=app.http_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        statuses = [(await call(client, "square", {"x": i})).status_code for i in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = await call(client, "square", {"x": 9})
        body = refused.json()
        assert body["id"] == 1
        assert body["error"]["code"] == RATE_LIMITED
        assert body["error"]["message"] == "Rate limit exceeded: 3/60s per principal"
        assert body["error"]["data"]["scope"] == "principal"
        assert 59 <= int(refused.headers["retry-after"]) <= 60
        # Notifications are not counted, and health is not rate limited.
        note = {"jsonrpc": "2.0", "method": "notifications/initialized", "params": {}}
        accepted = await client.post(
            "/mcp", json=note, headers=modern_headers("notifications/initialized")
        )
        assert accepted.status_code == 202
        assert (await client.get("/health")).status_code == 200
    assert app.compose().engine.counters.rate_limited == 2
    assert app.compose().engine.limiter.mode == "per-process"


async def test_tool_rate_limit_on_a_legacy_session_answers_429() -> None:
    app, _ = make_app()
    transport = httpx.ASGITransport(app=app.http_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {}},
        }
        opened = await client.post("/mcp", json=init, headers={"accept": ACCEPT})
        session = {"accept": ACCEPT, "mcp-session-id": opened.headers["mcp-session-id"]}
        body = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "scarce"}}
        statuses = [(await client.post("/mcp", json=body, headers=session)) for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429]
        assert statuses[-1].json()["error"]["message"].endswith("per tool scarce")
        assert "retry-after" in statuses[-1].headers


def test_limits_parse() -> None:
    assert Limit.parse("100/60") == Limit(100, 60.0)
    assert Limit.parse(" 5 / 1.5s ") == Limit(5, 1.5)
    assert str(Limit(10, 60)) == "10/60s"
    for bad in ("", "100", "0/60", "10/0", "ten/60", "10/-1"):
        with pytest.raises(ValueError):
            Limit.parse(bad)


def test_a_bad_rate_limit_fails_at_start() -> None:
    app, _ = make_app(rate_limit="lots")
    with pytest.raises(ValueError, match="count/seconds"):
        app.compose()
