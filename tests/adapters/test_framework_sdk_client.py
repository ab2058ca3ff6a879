"""The official Python SDK client (mcp 2.x) against each framework's fixture served by
`cloudmcp serve`, in both eras: legacy sessions (the SSE stream carries the framework's
progress, logs and asks) and 2026-07-28 (asks become `InputRequiredResult`s and the
retry runs the tool again)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cloudmcp_serving import Served
from framework_calls import ALL_TOOLS, TOOL_CALLS, client, text_of
from frameworks import Framework
from mcp import types

pytestmark = [pytest.mark.integration, pytest.mark.frameworks]

MODES = ["legacy", "2026-07-28"]


@pytest.mark.parametrize("mode", MODES)
async def test_lists_and_calls_every_tool(served: Served, framework: Framework, mode: str) -> None:
    async with client(served.url, mode) as session:
        assert session.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        listed = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert listed.keys() >= ALL_TOOLS
        # The framework's own schemas, pydantic models included.
        ship = listed["ship"].input_schema
        assert ship["required"] == ["address"]
        assert "Postal code" in json.dumps(ship)  # the pydantic model's field, described
        for name, (arguments, expected) in TOOL_CALLS.items():
            result = await session.call_tool(name, arguments)
            assert not result.is_error, (name, text_of(result), served.log_tail())
            assert text_of(result).startswith(expected), (name, text_of(result))

        weather = await session.call_tool("get_weather", {"city": "Oslo"})
        assert weather.structured_content == {"temperature": 21.5, "condition": "sunny in Oslo"}

        failed = await session.call_tool("test_error_handling", {})
        assert failed.is_error
        assert "intentionally returns an error" in text_of(failed)

        # The framework validates arguments its own way; the model sees what was wrong.
        invalid = await session.call_tool("add", {"a": "two", "b": 3})
        assert invalid.is_error
        assert "a" in text_of(invalid)


@pytest.mark.parametrize("mode", MODES)
async def test_reads_resources_gets_prompts_and_completes(
    served: Served, framework: Framework, mode: str
) -> None:
    async with client(served.url, mode) as session:
        resources = await session.list_resources()
        assert "test://static-text" in [str(r.uri) for r in resources.resources]
        templates = await session.list_resource_templates()
        assert "test://template/{id}/data" in [t.uri_template for t in templates.resource_templates]

        static = await session.read_resource("test://static-text")
        assert static.contents[0].text == "This is the content of the static text resource."  # type: ignore[union-attr]
        templated = await session.read_resource("test://template/42/data")
        data = json.loads(templated.contents[0].text)  # type: ignore[union-attr]
        assert data == {"id": "42", "templateTest": True, "data": "Data for ID: 42"}

        prompts = {p.name: p for p in (await session.list_prompts()).prompts}
        assert {"test_simple_prompt", "test_prompt_with_arguments"} <= prompts.keys()
        simple = await session.get_prompt("test_simple_prompt")
        assert simple.messages[0].content.text == "This is a simple prompt for testing."  # type: ignore[union-attr]
        with_args = await session.get_prompt(
            "test_prompt_with_arguments", {"arg1": "alpha", "arg2": "beta"}
        )
        text = with_args.messages[0].content.text  # type: ignore[union-attr]
        assert text == "Prompt with arguments: arg1='alpha', arg2='beta'"

        capabilities = session.server_capabilities
        completion = await session.complete(
            types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments"),
            {"name": "arg1", "value": "pa"},
        )
        if not framework.completions:
            assert completion.completion.values == []
            if mode == "legacy":  # the modern client does not keep this capability
                assert capabilities.completions is None
            return
        if mode == "legacy":
            assert capabilities.completions is not None
        assert completion.completion.values == ["paris", "park", "party"]


@pytest.mark.parametrize("mode", MODES)
async def test_progress_and_log_messages_reach_the_client(served: Served, mode: str) -> None:
    progress: list[tuple[float, float | None, str | None]] = []
    logs: list[Any] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        # FastMCP sends `{"msg": ..., "extra": ...}`, the SDKs the message itself.
        data = params.data
        logs.append(data["msg"] if isinstance(data, dict) else data)

    # 2026-07-28 requests opt in to log messages in their `_meta`; legacy sessions set a level.
    async with client(served.url, mode, logging_callback=on_log, log_level="info") as session:
        if mode == "legacy":
            await session.set_logging_level("info")
        result = await session.call_tool(
            "test_tool_with_progress", {}, progress_callback=on_progress
        )
        assert not result.is_error
        assert [value for value, _, _ in progress] == [0, 50, 100]
        assert progress[-1] == (100, 100, "Completed step 100 of 100")
        logged = await session.call_tool("test_tool_with_logging", {})
        assert not logged.is_error
    assert logs[-3:] == [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ]


async def test_lifespan_runs_once_per_process(served: Served) -> None:
    answers = []
    for mode in MODES:
        async with client(served.url, mode) as session:
            for _ in range(2):
                answers.append(text_of(await session.call_tool("who", {"user": "alan"})))
    assert len(set(answers)) == 1, answers
    assert answers[0].startswith("Alan Turing (lifespan starts: 1, pid ")
