"""The MCP Inspector CLI lists and calls the conformance fixture's tools, in both eras.

`--protocol-era legacy` speaks 2025-11-25 (initialize, sessions); `--protocol-era modern`
speaks 2026-07-28 (server/discover, per-request `_meta`). The Inspector is pinned in
tools/node and installed by scripts/install-tools.sh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from cloudmcp_serving import CONFORMANCE_FIXTURE, ROOT, Served, serve

INSPECTOR = ROOT / ".tools" / "bin" / "mcp-inspector"
ERAS = ["legacy", "modern"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(CONFORMANCE_FIXTURE, tmp_path_factory.mktemp("inspector") / "server.log")


@pytest.fixture(scope="module")
def inspector_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keeps the Inspector's catalog and client storage out of the real home directory."""
    return tmp_path_factory.mktemp("inspector-home")


#: The Inspector CLI's exit code for a tool result with `isError: true`.
TOOL_IS_ERROR = 5


def inspect(server: Served, home: Path, era: str, *args: str, exit_code: int = 0) -> dict[str, Any]:
    """Run one Inspector CLI method against the server; its JSON `result`."""
    if not INSPECTOR.exists():
        raise RuntimeError(f"{INSPECTOR} is missing: run `make tools` (scripts/install-tools.sh)")
    command = [str(INSPECTOR), "--cli", server.url, "--transport", "http"]
    command += ["--protocol-era", era, "--format", "json", *args]
    env = {
        **os.environ,
        "HOME": str(home),
        "MCP_CATALOG_PATH": str(home / "mcp.json"),
        "MCP_CLIENT_CONFIG_PATH": str(home / "client.json"),
    }
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == exit_code, (
        f"{' '.join(command[1:])} exited {done.returncode}\n"
        f"stdout: {done.stdout}\nstderr: {done.stderr}\nserver log:\n{server.log_tail()}"
    )
    output: dict[str, Any] = json.loads(done.stdout)
    result: dict[str, Any] = output["result"]
    return result


@pytest.mark.parametrize("era", ERAS)
def test_lists_tools(server: Served, inspector_home: Path, era: str) -> None:
    result = inspect(server, inspector_home, era, "--method", "tools/list")
    tools = {tool["name"]: tool for tool in result["tools"]}
    assert {"test_simple_text", "test_image_content", "json_schema_2020_12_tool"} <= tools.keys()
    assert tools["test_simple_text"]["inputSchema"]["type"] == "object"
    assert all(tool.get("description") for tool in tools.values())


@pytest.mark.parametrize("era", ERAS)
def test_calls_a_tool(server: Served, inspector_home: Path, era: str) -> None:
    result = inspect(
        server, inspector_home, era, "--method", "tools/call", "--tool-name", "test_simple_text"
    )
    assert result["content"] == [
        {"type": "text", "text": "This is a simple text response for testing."}
    ]
    assert not result.get("isError")
    if era == "modern":  # a 2026-07-28 result names the server that produced it
        assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == (
            "cloudmcp-conformance"
        )


@pytest.mark.parametrize("era", ERAS)
def test_calls_a_tool_with_arguments(server: Served, inspector_home: Path, era: str) -> None:
    arguments = {"name": "Ada", "email": "ada@example.com"}
    result = inspect(
        server,
        inspector_home,
        era,
        "--method",
        "tools/call",
        "--tool-name",
        "json_schema_2020_12_tool",
        "--tool-args-json",
        json.dumps(arguments),
    )
    (block,) = result["content"]
    assert block["type"] == "text"
    prefix = "JSON Schema 2020-12 tool called with: "
    assert block["text"].startswith(prefix)
    assert json.loads(block["text"][len(prefix) :]) == arguments


@pytest.mark.parametrize("era", ERAS)
def test_reports_a_tool_error(server: Served, inspector_home: Path, era: str) -> None:
    result = inspect(
        server,
        inspector_home,
        era,
        "--method",
        "tools/call",
        "--tool-name",
        "test_error_handling",
        exit_code=TOOL_IS_ERROR,
    )
    assert result["isError"] is True
    assert result["content"][0]["text"] == "This tool intentionally returns an error for testing"
