"""Uptime counts from the start of the process, not from the first look at it."""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import asyncio, json, time
time.sleep(1.0)  # the process has run a second before anything of cloudmcp is imported
from cloudmcp.ops.health import health_report
from cloudmcp.example import app

service = app.compose()
report = asyncio.run(health_report(service.registry, service.engine))
print(json.dumps({"health": report["uptime_seconds"]}))
"""


def test_health_uptime_counts_from_process_start() -> None:
    finished = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 0, finished.stderr
    seen = json.loads(finished.stdout.strip().splitlines()[-1])
    assert seen["health"] >= 1.0
