"""The child's `roots/list` request and the log line it then writes reach the SDK client
in both eras (a server of its own per era: server-everything keeps the first roots)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp
import pytest
from cloudmcp_serving import Served
from mcp import types
from stdio_serving import EVERYTHING, require, serve_stdio


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Served]:
    for served in serve_stdio([require(EVERYTHING)], tmp_path / "server.log"):
        # server-everything asks for roots on its own 350 ms after it starts; past that
        # (answered "no client is attached"), the roots request comes from the tool call.
        time.sleep(0.6)
        yield served


@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_roots_and_log_lines_reach_the_client(fresh: Served, mode: str) -> None:
    logged: list[Any] = []

    async def roots(context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri="file:///srv/app", name=f"{mode} app")])

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logged.append(params.data)

    async with mcp.Client(
        fresh.url,
        mode=mode,  # type: ignore[arg-type]
        list_roots_callback=roots,
        logging_callback=on_log,
        log_level="info",
        read_timeout_seconds=30,
    ) as client:
        if mode == "legacy":
            await client.set_logging_level("info")
        result = await client.call_tool("get-roots-list", {})
    text = result.content[0].text  # type: ignore[union-attr]
    assert f"1. {mode} app\n   URI: file:///srv/app" in text
    assert "Roots updated: 1 root(s) received from client" in logged
