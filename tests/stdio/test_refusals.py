"""`cloudmcp serve --stdio` refuses what it cannot serve: a bad switch or setting is one
line naming it and exit code 2; a command that does not start stops the server with a
line saying why. Never a traceback."""

from __future__ import annotations

import os
import subprocess

import pytest
from cloudmcp_serving import cloudmcp_command, free_port


def _serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [*cloudmcp_command(), "serve", "--port", str(free_port()), *args]
    return subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--stdio"], {}, "--stdio takes the server's command after --"),
        (["app.py", "--", "node", "x.js"], {}, "--stdio takes the server's command after --"),
        (["--stdio", "--", "x"], {"STDIO_POOL_SIZE": "many"}, "STDIO_POOL_SIZE='many'"),
        (["--stdio", "--", "x"], {"STDIO_POOL_SIZE": "0"}, "STDIO_POOL_SIZE='0'"),
        (["--stdio", "--", "x"], {"STDIO_ISOLATION": "tenant"}, "STDIO_ISOLATION='tenant'"),
        (["--stdio", "--", "x"], {"STDIO_CALL_TIMEOUT": "-1"}, "STDIO_CALL_TIMEOUT='-1'"),
        ([], {"CLOUDMCP_STDIO": "npx 'unclosed"}, "CLOUDMCP_STDIO: No closing quotation"),
    ],
)
def test_a_bad_switch_or_setting_is_one_line(
    args: list[str], env: dict[str, str], named: str
) -> None:
    done = _serve(*args, **env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and named in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_command_that_does_not_start_stops_the_server_saying_why() -> None:
    done = _serve("--stdio", "--", "/nonexistent/mcp-server")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "cannot start '/nonexistent/mcp-server': No such file or directory" in output
    assert "Traceback" not in output
