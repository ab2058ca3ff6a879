"""docs/lambda.md's `cloudmcp lambda` commands work as written; bad JSON options are named;
`lambda serve` logs a line per request."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import httpx
from cloudmcp_serving import cloudmcp_command, free_port, run_server
from lambda_calls import ROOT
from wire import meta, modern_headers

from cloudmcp.aws_lambda.local import read_response


def docs_commands() -> list[list[str]]:
    """The `cloudmcp lambda invoke` commands of "Run it locally" that need no file."""
    text = (ROOT / "docs" / "lambda.md").read_text()
    block = re.search(r"## Run it locally\n\n```sh\n(.*?)```", text, re.S)
    assert block, "docs/lambda.md lost its Run it locally block"
    joined = re.sub(r"\n(?=\s)", " ", block[1])  # a command continued on indented lines
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words[:3] == ["cloudmcp", "lambda", "invoke"] and "--target" not in words:
            commands.append(words[1:])
    return commands


def test_the_docs_invoke_commands_work() -> None:
    commands = docs_commands()
    assert any("alb" in command for command in commands)
    env = {k: v for k, v in os.environ.items() if k != "CLOUDMCP_APP"}
    for command in commands:
        done = subprocess.run(
            [*cloudmcp_command(), *command], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        status, _, body = read_response(json.loads(done.stdout))
        assert status == 200 and "result" in json.loads(body), body


def test_bad_json_options_are_named() -> None:
    invoke = subprocess.run(
        [*cloudmcp_command(), "lambda", "invoke", "--body", "{nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert invoke.returncode == 2
    assert invoke.stderr.startswith("cloudmcp lambda invoke: --body '{nope': not JSON")
    probe = subprocess.run(
        [*cloudmcp_command(), "probe", "http://127.0.0.1:9/mcp", "--call", "x", "--args", "[1,"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 2
    assert probe.stderr.startswith("cloudmcp probe: --args '[1,': not JSON")


def test_lambda_serve_logs_a_line_per_request(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "lambda-serve.log"
    command = [*cloudmcp_command(), "lambda", "serve", "--port", str(port)]
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta()}}
    for served in run_server(command, port, log, path="/mcp"):
        for _ in range(3):
            answer = httpx.post(served.url, json=body, headers=modern_headers("tools/list"))
            assert answer.status_code == 200
    lines = [line for line in log.read_text().splitlines() if '"POST /mcp HTTP/1.1" 200' in line]
    assert len(lines) == 3, log.read_text()
