"""A Python stdio server from PyPI (`mcp-server-time`, its own venv under .tools) behind
`cloudmcp serve --stdio`, with the official SDK client in both of its modes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import mcp
import pytest
from cloudmcp_serving import Served
from stdio_serving import TIME_SERVER, require, serve_stdio


@pytest.fixture(scope="module")
def time_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("stdio-time") / "server.log"
    yield from serve_stdio([require(TIME_SERVER), "--local-timezone", "UTC"], log)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_the_time_server_answers_through_the_bridge(time_server: Served, mode: str) -> None:
    async with mcp.Client(time_server.url, mode=mode, read_timeout_seconds=30) as client:  # type: ignore[arg-type]
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {"get_current_time", "convert_time"}
        converted = await client.call_tool(
            "convert_time",
            {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
        )
        assert not converted.is_error
        answer = json.loads(converted.content[0].text)  # type: ignore[union-attr]
        assert answer["target"]["datetime"].endswith("T21:00:00+09:00")
        assert answer["time_difference"] == "+9.0h"
        wrong = await client.call_tool("get_current_time", {"timezone": "Not/AZone"})
        assert wrong.is_error
