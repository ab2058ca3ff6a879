"""Real stdio MCP servers from the registries, and `cloudmcp serve --stdio` running them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cloudmcp_serving import ROOT, Served, cloudmcp_command, free_port, run_server

TOOLS_BIN = ROOT / ".tools" / "bin"
#: `@modelcontextprotocol/server-everything` (npm), installed by scripts/install-tools.sh.
EVERYTHING = TOOLS_BIN / "mcp-server-everything"
#: `mcp-server-time` (PyPI), installed by scripts/install-tools.sh.
TIME_SERVER = TOOLS_BIN / "mcp-server-time"


def require(tool: Path) -> str:
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run `make tools` (scripts/install-tools.sh)")
    return str(tool)


def serve_stdio(
    command: list[str], log: Path, env: dict[str, str] | None = None, *extra: str
) -> Iterator[Served]:
    port = free_port()
    argv = [*cloudmcp_command(), "serve", "--host", "127.0.0.1", "--port", str(port), *extra]
    yield from run_server([*argv, "--stdio", "--", *command], port, log, path="/mcp", env=env)
