"""The official Python SDK client, in both of its modes, against a real stdio server
(`@modelcontextprotocol/server-everything`, npm) behind `cloudmcp serve --stdio`.

The child speaks 2025-11-25 over stdio whatever the client speaks over HTTP: in legacy
mode the child's sampling and elicitation requests reach the client on the SSE stream;
in 2026-07-28 mode they become `InputRequiredResult`s, and the client's retry runs the
child's tool again with the answer.
"""

from __future__ import annotations

from typing import Any

import httpx
import mcp
import pytest
from cloudmcp_serving import Served
from mcp import types
from wire import modern

MODES = ["legacy", "2026-07-28"]


def _text(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def _elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"name": "Ada Lovelace", "check": True})


async def _sample(
    context: Any, params: types.CreateMessageRequestParams
) -> types.CreateMessageResult:
    asked = params.messages[0].content
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=f"sampled<{getattr(asked, 'text', '')}>"),
        model="test-model",
        stop_reason="endTurn",
    )


def _client(server: Served, mode: str, **options: Any) -> mcp.Client:
    return mcp.Client(
        server.url,
        mode=mode,  # type: ignore[arg-type]
        elicitation_callback=_elicit,
        sampling_callback=_sample,
        read_timeout_seconds=30,
        **options,
    )


@pytest.mark.parametrize("mode", MODES)
async def test_lists_and_calls_tools(everything: Served, mode: str) -> None:
    async with _client(everything, mode) as client:
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"echo", "get-sum", "trigger-sampling-request"} <= names
        echoed = await client.call_tool("echo", {"message": "through the bridge"})
        assert _text(echoed) == "Echo: through the bridge"
        summed = await client.call_tool("get-sum", {"a": 2, "b": 40})
        assert "42" in _text(summed)
        assert not summed.is_error


async def test_a_legacy_session_meets_the_child(everything: Served) -> None:
    async with _client(everything, "legacy") as client:
        assert client.server_info is not None
        assert client.server_info.name == "mcp-servers/everything"
        assert client.instructions and "Everything Server" in client.instructions
        assert client.server_capabilities.completions is not None


def test_discover_answers_for_a_child_that_speaks_only_2025(everything: Served) -> None:
    with httpx.Client(timeout=10) as http:
        answer = modern(http, everything.url, "server/discover").json()["result"]
    assert "2026-07-28" in answer["supportedVersions"]
    assert "Everything Server" in answer["instructions"]
    assert {"tools", "resources", "prompts", "completions"} <= set(answer["capabilities"])
    assert answer["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == (
        "mcp-servers/everything"
    )


@pytest.mark.parametrize("mode", MODES)
async def test_reads_resources_and_gets_prompts(everything: Served, mode: str) -> None:
    async with _client(everything, mode) as client:
        listed = [str(r.uri) for r in (await client.list_resources()).resources]
        assert listed, "the child's resources are listed"
        read = await client.read_resource(listed[0])
        assert read.contents and read.contents[0].text  # type: ignore[union-attr]
        templated = await client.read_resource("demo://resource/dynamic/text/7")
        assert "7" in templated.contents[0].text  # type: ignore[union-attr]
        prompt = await client.get_prompt("args-prompt", {"city": "Lyon", "state": "Rhone"})
        assert "Lyon" in prompt.messages[0].content.text  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", MODES)
async def test_progress_reaches_the_client(everything: Served, mode: str) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with _client(everything, mode) as client:
        result = await client.call_tool(
            "trigger-long-running-operation",
            {"duration": 0.3, "steps": 3},
            progress_callback=on_progress,
        )
    assert not result.is_error
    assert seen == [1, 2, 3]


@pytest.mark.parametrize("mode", MODES)
async def test_sampling_round_trip(everything: Served, mode: str) -> None:
    async with _client(everything, mode) as client:
        result = await client.call_tool("trigger-sampling-request", {"prompt": "ping"})
    assert "sampled<Resource trigger-sampling-request context: ping>" in _text(result)


@pytest.mark.parametrize("mode", MODES)
async def test_elicitation_round_trip(everything: Served, mode: str) -> None:
    async with _client(everything, mode) as client:
        result = await client.call_tool("trigger-elicitation-request", {})
    text = _text(result)
    assert "- Name: Ada Lovelace" in text
    assert "- Agreed to terms: true" in text
