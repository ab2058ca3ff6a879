"""Drive a server with the official SDK's v1 client (mcp < 2); run by tests/interop/test_sdk_v1.py
in its own venv. Prints one JSON report on stdout."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from mcp import ClientSession, types
from mcp.client.streamable_http import streamablehttp_client


async def _elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"username": "ada", "email": "ada@x.io"})


def _text(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def main(url: str) -> dict[str, Any]:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with (
        streamablehttp_client(url) as (read, write, _),
        ClientSession(read, write, elicitation_callback=_elicit) as session,
    ):
        init = await session.initialize()
        tools = await session.list_tools()
        simple = await session.call_tool("test_simple_text", {})
        resource = await session.read_resource("test://static-text")  # type: ignore[arg-type]
        prompt = await session.get_prompt("test_simple_prompt")
        with_progress = await session.call_tool(
            "test_tool_with_progress", {}, progress_callback=on_progress
        )
        elicited = await session.call_tool("test_elicitation", {"message": "Who are you?"})
        return {
            "protocol_version": init.protocolVersion,
            "server": init.serverInfo.name,
            "tools": [tool.name for tool in tools.tools],
            "simple": _text(simple),
            "resource": resource.contents[0].text,  # type: ignore[union-attr]
            "prompt": prompt.messages[0].content.text,  # type: ignore[union-attr]
            "progress": progress,
            "progress_error": with_progress.isError,
            "elicited": _text(elicited),
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
