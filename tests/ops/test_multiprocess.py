"""Several uvicorn workers: every scrape, whichever worker answers it, counts every request."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from ops_calls import call_tool
from ops_serving import ROOT, free_port, wait_for
from test_metrics_and_logs import scrape, value

REQUESTS = 40


def test_two_workers_add_up(tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "REDIS_URL")}
    env.update({"PROMETHEUS_MULTIPROC_DIR": str(folder), "LOG_FORMAT": "json"})
    log = tmp_path / "uvicorn.log"
    command = [
        str(ROOT / ".venv" / "bin" / "uvicorn"),
        "--factory",
        "slow_app:factory",
        "--app-dir",
        str(Path(__file__).parent),
        "--workers",
        "2",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/health", process, log)
        for _ in range(REQUESTS):
            # A new connection each time, so the kernel spreads them over both workers.
            with httpx.Client(timeout=10) as client:
                assert call_tool(client, base + "/mcp", "echo", text="x").status_code == 200
        time.sleep(1.5)  # each worker hands its counts to the shared files once a second
        writers = {p.name.rsplit("_", 1)[-1] for p in folder.glob("counter_*.db")}
        assert len(writers) >= 2, f"one worker served everything: {writers}"
        for _ in range(6):  # scrapes land on either worker; each must see the sum
            samples = scrape(base)
            assert value(samples, "cloudmcp_requests_total", method="tools/call") == REQUESTS
            count = value(samples, "cloudmcp_tool_duration_seconds_count", tool="echo")
            assert count == REQUESTS
    finally:
        process.terminate()
        process.wait(timeout=20)
