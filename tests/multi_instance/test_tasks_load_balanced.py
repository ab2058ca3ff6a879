"""The tasks scenarios of the official suite through nginx round robin over three instances
sharing one store (the shared Redis, and each Redis Cluster with every instance given a
different node): a task created on one instance is read, answered and cancelled on others.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import Iterator

import pytest
from conformance_suite import OUT, run_tasks_scenarios, tasks_problems
from instances import CONFORMANCE_APP, nginx_binary, run_nginx, start_many, state_key
from redis_support import RedisTarget, delete_prefix


@pytest.fixture
def prefix(redis_target: RedisTarget) -> Iterator[str]:
    prefix = f"cloudmcp-test:{secrets.token_hex(6)}:"
    yield prefix
    if redis_target.name == "redis":  # the clusters are ours, and go at the end
        asyncio.run(delete_prefix(prefix))


def _served(instances_logs: dict[str, str], method: str) -> Counter[str]:
    """How many `method` requests each instance answered, from its access log."""
    counts: Counter[str] = Counter()
    for name, text in instances_logs.items():
        for line in text.splitlines():
            if '"cloudmcp.access"' in line and json.loads(line).get("method") == method:
                counts[name] += 1
    return counts


def test_tasks_through_the_load_balancer(
    tmp_path_factory: pytest.TempPathFactory, prefix: str, redis_target: RedisTarget
) -> None:
    if nginx_binary() is None:
        pytest.fail("nginx is not installed: run scripts/install-tools.sh")
    work = tmp_path_factory.mktemp("tasks-cluster")
    env = {"KEY_PREFIX": prefix, "STATE_KEYS": state_key("k1")}
    instances = start_many(3, CONFORMANCE_APP, work, env, redis_target)
    try:
        for nginx in run_nginx(instances, work / "nginx"):
            out = OUT / "multi-instance" / redis_target.name / "tasks"
            checks = run_tasks_scenarios(nginx.url, out)
            (out / "checks.json").write_text(json.dumps(checks, indent=2))
            logs = {i.name: i.log.read_text(errors="replace") for i in instances}
            problems = tasks_problems(checks)
            tails = "\n".join(f"{i.name}:\n{i.log_tail(15)}" for i in instances)
            assert not problems, "\n".join([*problems, tails])
            passed = sum(c["status"] == "SUCCESS" for found in checks.values() for c in found)
            print(f"tasks via nginx, 3 instances, {redis_target.name}: {passed} checks pass")
            # Round robin spread every kind of tasks request over the instances, so a task
            # was created, read, answered and cancelled on different ones.
            for method in ("tools/call", "tasks/get", "tasks/update", "tasks/cancel"):
                served = _served(logs, method)
                print(method, dict(served))
                assert len(served) >= 2, (method, served)
    finally:
        for instance in instances:
            instance.stop()
