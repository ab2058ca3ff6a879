"""Metrics and log lines for tasks, from a real `cloudmcp serve` of the conformance fixture."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloudmcp_serving import CONFORMANCE_FIXTURE, ROOT, cloudmcp_command, free_port
from ops_serving import Live, stop, wait_for
from test_metrics_and_logs import scrape, value
from wire import tasks_request


@pytest.fixture
def fixture_server(tmp_path: Path) -> Iterator[Live]:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("PORT", "REDIS_URL")}
    environment.update({"LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"})
    log = tmp_path / "serve.log"
    command = [*cloudmcp_command(), "serve", str(CONFORMANCE_FIXTURE), "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/health", process, log)
    live = Live(base, base + "/mcp", process, log)
    yield live
    stop(live)


def _finish(client: httpx.Client, url: str, task_id: str) -> dict[str, Any]:
    for _ in range(300):
        found: dict[str, Any] = tasks_request(client, url, "tasks/get", {"taskId": task_id})
        if found["result"]["status"] in ("completed", "failed", "cancelled"):
            return found["result"]
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish")


def test_task_metrics_and_log_lines(fixture_server: Live) -> None:
    url = fixture_server.url
    with httpx.Client(timeout=10) as client:

        def create(name: str, **arguments: Any) -> str:
            made = tasks_request(client, url, "tools/call", {"name": name, "arguments": arguments})
            task_id: str = made["result"]["taskId"]
            return task_id

        statuses = [
            _finish(client, url, create("slow_compute", seconds=0))["status"],
            _finish(client, url, create("failing_job"))["status"],
            _finish(client, url, create("protocol_error_job"))["status"],
        ]
        long = create("slow_compute", seconds=60)
        tasks_request(client, url, "tasks/cancel", {"taskId": long})
        statuses.append(_finish(client, url, long)["status"])
    assert statuses == ["completed", "completed", "failed", "cancelled"]

    samples = scrape(fixture_server.base)
    assert value(samples, "cloudmcp_tasks_created_total") == 4
    assert value(samples, "cloudmcp_task_runs_total") == 4
    assert value(samples, "cloudmcp_tasks_finished_total", status="completed") == 2
    assert value(samples, "cloudmcp_tasks_finished_total", status="failed") == 1
    assert value(samples, "cloudmcp_tasks_finished_total", status="cancelled") == 1
    assert value(samples, "cloudmcp_task_duration_seconds_count") == 4
    assert value(samples, "cloudmcp_task_runs_reclaimed_total") == 0
    assert value(samples, "cloudmcp_tasks_running") == 0

    lines = fixture_server.lines()
    ended = [line for line in lines if '"task ' in line and " after " in line]
    assert len(ended) == 3, ended  # completed twice and failed once by the worker
    # Task ids act as bearer tokens: logs carry only a prefix of each.
    assert long not in "\n".join(lines) and long[:8] in "\n".join(lines)
