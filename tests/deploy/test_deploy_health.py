"""The health semantics the deployment relies on, on a real `cloudmcp serve` and a real Redis.

Cloud Run's startup and liveness probes use the health path; the Route 53 failover check and
the release probes use the ready path. With the store gone, liveness must stay up (no restart
loop, no blocked scale-out) and readiness must fail (traffic fails over to the other cloud).
The test runs its own redis-server on a free port and stops only that one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from deploy_support import free_port
from test_deploy_start_command import wait_until_healthy

# Starts servers, Redis or the validators: integration tests (tests/conftest.py).
pytestmark = pytest.mark.integration


def status(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_liveness_survives_a_store_outage_and_readiness_reports_it(tmp_path: Path) -> None:
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "KEY_PREFIX": f"deploy-health-{port}:",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "cloudmcp", "serve", "cloudmcp.example:app"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base + "/ready", server)
        assert status(base + "/health")[0] == 200
        redis.send_signal(signal.SIGTERM)
        redis.wait(timeout=10)
        deadline = time.monotonic() + 20
        ready = status(base + "/ready")
        while ready[0] == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            ready = status(base + "/ready")
        assert ready[0] == 503 and ready[1]["store_reachable"] is False
        health = status(base + "/health")
        assert health[0] == 200 and health[1]["store_reachable"] is False
        assert server.poll() is None
    finally:
        for process in (server, redis):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
