"""The MCP Inspector CLI lists and calls a real stdio server's tools through
`cloudmcp serve --stdio`, in both eras (`--protocol-era legacy | modern`), and answers
the child's `roots/list` (the one server-to-client request the CLI answers: it turns
sampling and elicitation off) with the roots its config file names."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cloudmcp_serving import ROOT, Served
from stdio_serving import EVERYTHING, require, serve_stdio

INSPECTOR = ROOT / ".tools" / "bin" / "mcp-inspector"
ERAS = ["legacy", "modern"]


@pytest.fixture(scope="module")
def inspector_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keeps the Inspector's catalog and client storage out of the real home directory."""
    return tmp_path_factory.mktemp("inspector-home")


def inspect(
    server: Served, home: Path, era: str, *args: str, config: Path | None = None
) -> dict[str, Any]:
    if not INSPECTOR.exists():
        pytest.fail(f"{INSPECTOR} is missing: run `make tools` (scripts/install-tools.sh)")
    command = [str(INSPECTOR), "--cli"]
    if config is None:
        command += [server.url, "--transport", "http"]
    else:
        command += ["--config", str(config), "--server", "bridge"]
    command += ["--protocol-era", era, "--format", "json", *args]
    env = {
        **os.environ,
        "HOME": str(home),
        "MCP_CLIENT_CONFIG_PATH": str(home / "client.json"),
        "MCP_INSPECTOR_SECRET_STORE": "memory",
    }
    if config is None:  # a config file and a catalog are exclusive
        env["MCP_CATALOG_PATH"] = str(home / "mcp.json")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, (
        f"{' '.join(command[1:])} exited {done.returncode}\n"
        f"stdout: {done.stdout}\nstderr: {done.stderr}\nserver log:\n{server.log_tail()}"
    )
    result: dict[str, Any] = json.loads(done.stdout)["result"]
    return result


@pytest.mark.parametrize("era", ERAS)
def test_lists_the_childs_tools(everything: Served, inspector_home: Path, era: str) -> None:
    result = inspect(everything, inspector_home, era, "--method", "tools/list")
    tools = {tool["name"]: tool for tool in result["tools"]}
    assert {"echo", "get-sum", "get-tiny-image"} <= tools.keys()
    assert tools["get-sum"]["inputSchema"]["required"] == ["a", "b"]


@pytest.mark.parametrize("era", ERAS)
def test_calls_a_childs_tool(everything: Served, inspector_home: Path, era: str) -> None:
    arguments = json.dumps({"a": 19, "b": 23})
    result = inspect(
        everything,
        inspector_home,
        era,
        "--method",
        "tools/call",
        "--tool-name",
        "get-sum",
        "--tool-args-json",
        arguments,
    )
    assert result["content"][0]["text"] == "The sum of 19 and 23 is 42."
    assert not result.get("isError")
    if era == "modern":  # a 2026-07-28 result names the server: the child's name
        assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == (
            "mcp-servers/everything"
        )


@pytest.mark.parametrize("era", ERAS)
def test_reads_a_childs_resource(everything: Served, inspector_home: Path, era: str) -> None:
    uri = "demo://resource/dynamic/text/3"
    result = inspect(everything, inspector_home, era, "--method", "resources/read", "--uri", uri)
    assert result["contents"][0]["uri"] == uri
    assert "3" in result["contents"][0]["text"]


@pytest.fixture(params=ERAS)
def era_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Served]]:
    """A server of its own per era: server-everything keeps the first roots it gets."""
    for served in serve_stdio([require(EVERYTHING)], tmp_path / "server.log"):
        yield request.param, served


def test_the_inspector_answers_the_childs_roots_request(
    era_server: tuple[str, Served], inspector_home: Path, tmp_path: Path
) -> None:
    era, served = era_server
    root = {"uri": f"file:///srv/{era}-project", "name": f"{era} project"}
    config = tmp_path / "mcp.json"
    server = {"type": "streamable-http", "url": served.url, "roots": [root]}
    config.write_text(json.dumps({"mcpServers": {"bridge": server}}))
    result = inspect(
        served,
        inspector_home,
        era,
        "--method",
        "tools/call",
        "--tool-name",
        "get-roots-list",
        config=config,
    )
    text = result["content"][0]["text"]
    assert "Current MCP Roots (1 total)" in text
    assert f"{era} project" in text and f"URI: file:///srv/{era}-project" in text
