"""The official suite's tasks scenarios (SEP-2663) against examples/conformance/server.py,
on the memory store and on Redis. The scenarios are unscored, so every check is read:
all must pass but the one scenario the suite skips itself."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloudmcp_serving import CONFORMANCE_FIXTURE, Served, cloudmcp_command, free_port, run_server
from conformance_suite import OUT, TASKS_SCENARIOS, run_tasks_scenarios, tasks_problems
from redis_support import REDIS_URL, delete_prefix, require_redis


def _check(served: Served, out: Path) -> None:
    checks = run_tasks_scenarios(served.url, out)
    (out / "checks.json").write_text(json.dumps(checks, indent=2))
    passed = sum(c.get("status") == "SUCCESS" for found in checks.values() for c in found)
    print(f"tasks scenarios: {passed} checks pass")
    problems = tasks_problems(checks)
    assert not problems, "\n".join([*problems, "Server log:", served.log_tail()])
    assert set(TASKS_SCENARIOS) <= checks.keys()
    assert checks["tasks-status-notifications"][0]["status"] == "SKIPPED"


def test_tasks_on_memory(conformance_server: Served) -> None:
    _check(conformance_server, OUT / "tasks-memory")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Served]:
    require_redis()
    prefix = f"cloudmcp-test:{secrets.token_hex(6)}:"
    port = free_port()
    command = [*cloudmcp_command(), "serve", str(CONFORMANCE_FIXTURE), "--host", "127.0.0.1"]
    env = {"REDIS_URL": REDIS_URL, "KEY_PREFIX": prefix}
    try:
        yield from run_server(
            [*command, "--port", str(port)], port, tmp_path / "server.log", path="/mcp", env=env
        )
    finally:
        asyncio.run(delete_prefix(prefix))


def test_tasks_on_redis(redis_server: Served) -> None:
    _check(redis_server, OUT / "tasks-redis")
