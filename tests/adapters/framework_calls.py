"""Every call the fixtures answer, and what each must answer: the fixtures of all four
frameworks offer the same tools, resources and prompts, written each framework's way."""

from __future__ import annotations

from typing import Any

import mcp
from mcp import types

#: tool -> (arguments, the text of its result)
TOOL_CALLS: dict[str, tuple[dict[str, Any], str]] = {
    "add": ({"a": 2, "b": 3}, "5"),
    "ship": (
        {"address": {"street": "1 Main St", "city": "Oslo", "postcode": "0150"}, "express": True},
        "express to 1 Main St, 0150 Oslo",
    ),
    "who": ({"user": "ada"}, "Ada Lovelace (lifespan starts: 1"),
    "read_config": ({}, "read: This is the content of the static text resource."),
    "client_roots": ({}, "file:///work/project"),
    "test_simple_text": ({}, "This is a simple text response for testing."),
    "test_tool_with_logging": ({}, "Tool with logging executed successfully"),
    "test_sampling": ({"prompt": "ping"}, "LLM response: echo: ping"),
    "test_input_required_result_elicitation": ({}, "Hello, ada!"),
    "test_input_required_result_sampling": ({}, "Sampling result: echo: What is the capital"),
    "test_input_required_result_list_roots": ({}, "Found 1 root(s)"),
    "test_elicitation": (
        {"message": "Who are you?"},
        'User response: action=accept, content={"username": "ada", "email": "ada@x.io"}',
    ),
}
#: Tools whose result is checked elsewhere (structured output, progress, errors).
OTHER_TOOLS = {"get_weather", "test_tool_with_progress", "test_error_handling"}
ALL_TOOLS = set(TOOL_CALLS) | OTHER_TOOLS

#: What the client answers an elicitation, for each field a schema may ask.
ELICITED = {"username": "ada", "email": "ada@x.io", "name": "ada"}
ROOTS = [{"uri": "file:///work/project", "name": "project"}]


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def _elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    asked = params.requested_schema["properties"]  # type: ignore[union-attr]
    return types.ElicitResult(action="accept", content={k: ELICITED[k] for k in asked})


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


async def _roots(context: Any) -> types.ListRootsResult:
    return types.ListRootsResult(roots=[types.Root.model_validate(root) for root in ROOTS])


def client(url: str, mode: str, **callbacks: Any) -> mcp.Client:
    return mcp.Client(
        url,
        mode=mode,  # type: ignore[arg-type]
        elicitation_callback=_elicit,
        sampling_callback=_sample,
        list_roots_callback=_roots,
        read_timeout_seconds=20,
        **callbacks,
    )
