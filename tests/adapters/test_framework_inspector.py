"""The MCP Inspector CLI lists and calls each framework's fixture served by cloudmcp, in
both eras (`--protocol-era legacy`: 2025-11-25 sessions; `modern`: 2026-07-28)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cloudmcp_serving import ROOT, Served
from framework_calls import ALL_TOOLS

pytestmark = [pytest.mark.integration, pytest.mark.frameworks]

INSPECTOR = ROOT / ".tools" / "bin" / "mcp-inspector"
ERAS = ["legacy", "modern"]
#: The Inspector CLI's exit code for a tool result with `isError: true`.
TOOL_IS_ERROR = 5


def inspect(served: Served, home: Path, era: str, *args: str, exit_code: int = 0) -> Any:
    if not INSPECTOR.exists():
        raise RuntimeError(f"{INSPECTOR} is missing: run scripts/install-tools.sh")
    command = [str(INSPECTOR), "--cli", served.url, "--transport", "http"]
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
        f"stdout: {done.stdout}\nstderr: {done.stderr}\nserver log:\n{served.log_tail()}"
    )
    return json.loads(done.stdout)["result"]


@pytest.mark.parametrize("era", ERAS)
def test_inspector_lists_and_calls(served: Served, tmp_path: Path, era: str) -> None:
    listed = inspect(served, tmp_path, era, "--method", "tools/list")
    assert {tool["name"] for tool in listed["tools"]} >= ALL_TOOLS

    called = inspect(
        served,
        tmp_path,
        era,
        "--method",
        "tools/call",
        "--tool-name",
        "ship",
        "--tool-args-json",
        json.dumps({"address": {"street": "1 Main St", "city": "Oslo", "postcode": "0150"}}),
    )
    assert called["content"][0]["text"] == "standard to 1 Main St, 0150 Oslo"

    failed = inspect(
        served,
        tmp_path,
        era,
        "--method",
        "tools/call",
        "--tool-name",
        "test_error_handling",
        exit_code=TOOL_IS_ERROR,
    )
    assert failed["isError"] is True

    read = inspect(
        served, tmp_path, era, "--method", "resources/read", "--uri", "test://template/7/data"
    )
    assert json.loads(read["contents"][0]["text"])["id"] == "7"

    prompt = inspect(
        served,
        tmp_path,
        era,
        "--method",
        "prompts/get",
        "--prompt-name",
        "test_prompt_with_arguments",
        "--prompt-args",
        "arg1=a",
        "arg2=b",
    )
    assert prompt["messages"][0]["content"]["text"] == "Prompt with arguments: arg1='a', arg2='b'"
