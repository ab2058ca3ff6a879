"""The 2026-07-28 era in-process, through `cloudmcp.testing`: every request stands alone."""

from __future__ import annotations

from typing import Any

import pytest

from apps import make_app
from cloudmcp.errors import MCPError
from cloudmcp.testing import TestClient


def answer_name(method: str, params: dict[str, Any]) -> dict[str, Any]:
    assert method == "elicitation/create"
    return {"action": "accept", "content": {"name": "Ada"}}


async def test_discover_lists_versions_capabilities_and_instructions() -> None:
    async with TestClient(make_app()) as client:
        found = await client.discover()
    assert found["supportedVersions"][0] == "2026-07-28"
    assert set(found["capabilities"]) == {"tools", "resources", "prompts", "completions"}
    assert found["instructions"] == "For tests."
    assert found["resultType"] == "complete"
    assert found["_meta"]["io.modelcontextprotocol/serverInfo"]["version"] == "1.2.3"


async def test_tools_resources_prompts_and_completions() -> None:
    async with TestClient(make_app()) as client:
        assert "add" in [t["name"] for t in await client.list_tools()]
        added = await client.call_tool("add", {"a": 2, "b": 3})
        refused = await client.call_tool("refuse")
        wrong = await client.call_tool("add", {"a": "two"})
        note = await client.read_resource("note://today")
        prompt = await client.get_prompt("greet", {"name": "Ada"})
        completion = await client.complete({"type": "ref/prompt", "name": "greet"}, "name", "a")
    assert added["structuredContent"] == {"result": 5}
    assert refused["isError"] is True and "model may read" in refused["content"][0]["text"]
    assert wrong["isError"] is True and "Invalid arguments" in wrong["content"][0]["text"]
    assert note == [{"uri": "note://today", "mimeType": "text/plain", "text": "note today"}]
    assert prompt["messages"][0]["content"]["text"] == "Greet Ada."
    assert completion == {"values": ["ada", "alan"], "total": 2, "hasMore": False}


async def test_an_ask_inside_except_exception_still_reaches_the_client() -> None:
    async with TestClient(make_app(), answer=answer_name) as client:
        result = await client.call_tool("ask_name")
    assert result["content"][0]["text"] == "hello Ada"


async def test_without_an_answer_the_client_sees_input_required() -> None:
    async with TestClient(make_app(), capabilities={"elicitation": {}}) as client:
        response = await client.http(
            "POST",
            client._message("tools/call", {"name": "ask_name", "arguments": {}}),
            headers=client._headers("tools/call", {"name": "ask_name"}),
        )
    result = response.json()["result"]
    assert result["resultType"] == "input_required"
    assert [r["method"] for r in result["inputRequests"].values()] == ["elicitation/create"]
    assert isinstance(result["requestState"], str)


async def test_an_ask_needs_the_capability() -> None:
    async with TestClient(make_app(), capabilities={}) as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool("confirm")
    assert refused.value.code == -32021
    assert refused.value.data == {"requiredCapabilities": {"elicitation": {}}}


async def test_progress_and_logs_turn_the_answer_into_a_stream() -> None:
    app = make_app()
    async with TestClient(app) as client:
        params = {"name": "progress", "arguments": {}, "_meta": {"progressToken": "p1"}}
        result = await client.request("tools/call", params)
    assert result["content"][0]["text"] == "done"
    methods = [n["method"] for n in client.notifications]
    assert methods == ["notifications/progress", "notifications/progress"]


async def test_unknown_and_legacy_only_methods_are_404() -> None:
    async with TestClient(make_app()) as client:
        for method in ("nope/nothing", "ping", "logging/setLevel"):
            with pytest.raises(MCPError) as missing:
                await client.request(method)
            assert (missing.value.code, missing.value.status) == (-32601, 404)


async def test_header_and_body_must_agree() -> None:
    async with TestClient(make_app()) as client:
        message = client._message("tools/call", {"name": "add", "arguments": {"a": 1, "b": 1}})
        headers = {**client._headers("tools/call", {"name": "add"}), "mcp-name": "refuse"}
        response = await client.http("POST", message, headers=headers)
    assert response.status == 400
    assert response.json()["error"]["code"] == -32020


async def test_a_tool_rate_limit_refuses_with_429() -> None:
    async with TestClient(make_app()) as client:
        await client.call_tool("limited")
        await client.call_tool("limited")
        with pytest.raises(MCPError) as refused:
            await client.call_tool("limited")
    assert (refused.value.code, refused.value.status) == (-31029, 429)


async def test_a_result_over_the_size_limit_is_a_tool_error() -> None:
    from cloudmcp.settings import Settings

    app = make_app(settings=Settings(max_result_size=1000))
    async with TestClient(app) as client:
        result = await client.call_tool("big")
        small = await client.call_tool("add", {"a": 1, "b": 2})
    assert (
        result["isError"] is True
        and "larger than this server sends" in result["content"][0]["text"]
    )
    assert small["structuredContent"] == {"result": 3}
