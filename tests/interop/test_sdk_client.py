"""The official Python SDK client (mcp 2.x) against `cloudmcp serve`, in both protocol eras.

Legacy mode runs the initialize handshake and answers server-to-client requests on the
SSE stream; 2026-07-28 mode sends per-request `_meta` and answers `InputRequiredResult`s
by retrying. The same fixture serves both, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mcp
import pytest
from cloudmcp_serving import CONFORMANCE_FIXTURE, Served, serve
from mcp import types

MODES = ["legacy", "2026-07-28"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(CONFORMANCE_FIXTURE, tmp_path_factory.mktemp("sdk") / "server.log")


def _text(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def _elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"username": "ada", "email": "ada@x.io"})


async def _sample(
    context: Any, params: types.CreateMessageRequestParams
) -> types.CreateMessageResult:
    asked = params.messages[0].content
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=f"echo: {getattr(asked, 'text', '')}"),
        model="test-model",
        stop_reason="endTurn",
    )


def _client(server: Served, mode: str) -> mcp.Client:
    return mcp.Client(
        server.url,
        mode=mode,  # type: ignore[arg-type]
        elicitation_callback=_elicit,
        sampling_callback=_sample,
        read_timeout_seconds=15,
    )


@pytest.mark.parametrize("mode", MODES)
async def test_lists_and_calls_tools(server: Served, mode: str) -> None:
    async with _client(server, mode) as client:
        expected_version = "2025-11-25" if mode == "legacy" else "2026-07-28"
        assert client.protocol_version == expected_version
        tools = await client.list_tools()
        names = [tool.name for tool in tools.tools]
        assert names[0] == "test_simple_text"
        assert {"test_image_content", "test_tool_with_progress", "test_elicitation"} <= set(names)
        result = await client.call_tool("test_simple_text", {})
        assert _text(result) == "This is a simple text response for testing."
        assert not result.is_error
        failed = await client.call_tool("test_error_handling", {})
        assert failed.is_error
        assert "intentionally" in _text(failed)


@pytest.mark.parametrize("mode", MODES)
async def test_reads_resources_and_gets_prompts(server: Served, mode: str) -> None:
    async with _client(server, mode) as client:
        resources = await client.list_resources()
        assert "test://static-text" in [str(r.uri) for r in resources.resources]
        read = await client.read_resource("test://static-text")
        assert read.contents[0].text == "This is the content of the static text resource."  # type: ignore[union-attr]
        templated = await client.read_resource("test://template/42/data")
        assert '"id":"42"' in templated.contents[0].text.replace(" ", "")  # type: ignore[union-attr]
        prompt = await client.get_prompt(
            "test_prompt_with_arguments", {"arg1": "alpha", "arg2": "beta"}
        )
        text = prompt.messages[0].content.text  # type: ignore[union-attr]
        assert "alpha" in text and "beta" in text


@pytest.mark.parametrize("mode", MODES)
async def test_progress_reaches_the_client(server: Served, mode: str) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with _client(server, mode) as client:
        result = await client.call_tool(
            "test_tool_with_progress", {}, progress_callback=on_progress
        )
    assert not result.is_error
    assert seen == [0, 50, 100]


@pytest.mark.parametrize("mode", MODES)
async def test_elicitation_round_trip(server: Served, mode: str) -> None:
    async with _client(server, mode) as client:
        result = await client.call_tool("test_elicitation", {"message": "Who are you?"})
    assert _text(result) == (
        'User response: action=accept, content={"username": "ada", "email": "ada@x.io"}'
    )


@pytest.mark.parametrize("mode", MODES)
async def test_sampling_round_trip(server: Served, mode: str) -> None:
    async with _client(server, mode) as client:
        result = await client.call_tool("test_sampling", {"prompt": "ping"})
    assert _text(result) == "LLM response: echo: ping"


async def test_auto_mode_discovers_the_modern_revision(server: Served) -> None:
    async with mcp.Client(server.url) as client:
        assert client.protocol_version == "2026-07-28"
        completion = await client.complete(
            types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments"),
            {"name": "arg1", "value": "pa"},
        )
    assert completion.completion.values == ["paris", "park", "party"]
