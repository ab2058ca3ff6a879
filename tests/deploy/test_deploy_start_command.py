"""The image's start command, run as-is on this machine, serves MCP and stops on SIGTERM.

No Docker engine here, so the test reads the CMD (and ENTRYPOINT, if any) from the rendered
Dockerfile and runs exactly that argv with the Dockerfile's ENV, the app's files laid out as
in /app, `PORT` set as Cloud Run would, and the project's venv standing in for /opt/venv.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from deploy_support import free_port, render

# Starts servers, Redis or the validators: integration tests (tests/conftest.py).
pytestmark = pytest.mark.integration

VENV_BIN = Path(sys.executable).parent
APP = "from cloudmcp.example import app  # the built-in example, as a user's server.py\n"


def exec_form(dockerfile: str, instruction: str) -> list[str]:
    match = re.search(rf"^{instruction} (\[.*\])\s*$", dockerfile, re.M)
    return json.loads(match.group(1)) if match else []


def image_env(dockerfile: str, app_dir: Path) -> dict[str, str]:
    """ENV instructions of the final stage, with the image's paths mapped onto this machine."""
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    env: dict[str, str] = {}
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", final, re.M):
        for key, value in re.findall(r"(\w+)=(\S+)", block.replace("\\\n", " ")):
            env[key] = value
    env["PATH"] = (
        env["PATH"].replace("/opt/venv/bin", str(VENV_BIN)).replace("$PATH", os.environ["PATH"])
    )
    return {key: value.replace("/app", str(app_dir)) for key, value in env.items()}


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited while starting"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                assert response.status == 200
                return json.loads(response.read())  # type: ignore[no-any-return]
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def test_start_command_serves_mcp_answers_health_and_exits_on_sigterm(tmp_path: Path) -> None:
    rendered = render("full", tmp_path / "out")
    dockerfile = (rendered.out / "Dockerfile").read_text()
    argv = exec_form(dockerfile, "ENTRYPOINT") + exec_form(dockerfile, "CMD")
    assert argv[:2] == ["cloudmcp", "serve"]
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    for name in rendered.config.build.app_files:
        (app_dir / name).write_text(APP)
    port = free_port()
    env = {**os.environ, **image_env(dockerfile, app_dir), "PORT": str(port)}
    process = subprocess.Popen(
        argv, cwd=app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        health = wait_until_healthy(base + rendered.config.service.health_path, process)
        assert health  # 200 with a JSON body

        request = urllib.request.Request(
            base + "/mcp",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": "2025-06-18",
                        "capabilities": {},
                        "clientInfo": {"name": "deploy-test", "version": "1"},
                    },
                }
            ).encode(),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
            body = response.read().decode()
        assert '"protocolVersion"' in body and '"serverInfo"' in body

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
