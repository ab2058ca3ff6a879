"""Three instances behind nginx round robin, sharing one store (the shared Redis, and each
Redis Cluster with every instance given a different node): the official conformance
suite passes through the load balancer, and a session survives the loss of an instance.

nginx comes from Debian's package (scripts/install-tools.sh, `install_nginx`); the test
writes its own configuration and runs it in the foreground on a free port.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from conformance_suite import OUT, run_server_suite, scored_scenarios
from instances import (
    CONFORMANCE_APP,
    STATE_APP,
    Instance,
    Nginx,
    nginx_binary,
    run_nginx,
    start_many,
    state_key,
)
from redis_support import RedisTarget, delete_prefix
from session_client import initialize, post, request, result, tool


@pytest.fixture(autouse=True, scope="module")
def _nginx() -> None:
    if nginx_binary() is None:
        pytest.fail("nginx is not installed: run scripts/install-tools.sh")


INSTANCE_HEADER = "x-cloudmcp-instance"


@pytest.fixture
def prefix(redis_target: RedisTarget) -> Iterator[str]:
    prefix = f"cloudmcp-test:{secrets.token_hex(6)}:"
    yield prefix
    if redis_target.name == "redis":
        asyncio.run(delete_prefix(prefix))


def _cluster(
    tmp_path_factory: pytest.TempPathFactory, target: object, prefix: str, redis: RedisTarget
) -> Iterator[tuple[list[Instance], Nginx]]:
    work = tmp_path_factory.mktemp("cluster")
    env = {"KEY_PREFIX": prefix, "STATE_KEYS": state_key("k1"), "SSE_KEEPALIVE": "5"}
    instances = start_many(3, target, work, env, redis)  # type: ignore[arg-type]
    try:
        for nginx in run_nginx(instances, work / "nginx"):
            yield instances, nginx
    finally:
        for instance in instances:
            instance.stop()


def test_conformance_through_the_load_balancer(
    tmp_path_factory: pytest.TempPathFactory, prefix: str, redis_target: RedisTarget
) -> None:
    for instances, nginx in _cluster(tmp_path_factory, CONFORMANCE_APP, prefix, redis_target):
        # Round robin: consecutive requests land on different instances.
        with httpx.Client(timeout=5) as http:
            seen = [
                http.get(nginx.url.replace("/mcp", "/health")).headers[INSTANCE_HEADER]
                for _ in range(6)
            ]
        assert all(seen[i] != seen[i + 1] for i in range(5)), seen
        assert set(seen) == {i.name for i in instances}

        revision = "2025-11-25"
        scored = scored_scenarios(revision)
        out = OUT / "multi-instance" / redis_target.name / revision
        run = run_server_suite(nginx.url, ["--requirements", revision], out)
        (out / "results.json").write_text(json.dumps(run.report(), indent=2))
        passed, total = run.score(scored)
        print(f"{revision} via nginx, 3 instances, {redis_target.name}: {passed}/{total} pass")
        logs = "\n".join(f"{i.name}:\n{i.log_tail(15)}" for i in instances)
        assert not run.failures(scored), "\n".join(run.failures(scored)) + "\n" + logs
        # Unscored scenarios that ran (SSE polling and resumption among them) pass too.
        assert not run.failures(), "\n".join(run.failures())
        assert sorted(scored - run.checks.keys()) == []
        assert run.returncode == 0, run.stdout[-3000:]
        assert passed == total > 0
        # Every instance took part in the run.
        upstreams = Counter(
            line.split()[0] for line in (nginx.dir / "upstreams.log").read_text().splitlines()
        )
        print("requests per instance:", dict(upstreams))
        assert len(upstreams) == 3, upstreams


def test_a_session_survives_the_loss_of_an_instance(
    tmp_path_factory: pytest.TempPathFactory, prefix: str, redis_target: RedisTarget
) -> None:
    for instances, nginx in _cluster(tmp_path_factory, STATE_APP, prefix, redis_target):
        asyncio.run(_lose_an_instance(instances, nginx))


async def _lose_an_instance(instances: list[Instance], nginx: Nginx) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        session = await initialize(client, nginx.url)
        served: list[str] = []
        for i in range(3):
            response = await post(client, nginx.url, session, tool("whoami", id=i))
            assert "result" in result(response)
            served.append(response.headers[INSTANCE_HEADER])
        assert len(set(served)) == 3, served
        # The instance that served the last request dies without a word.
        victim = next(i for i in instances if i.name == served[-1])
        victim.stop(signal.SIGKILL)
        for i in range(6):
            response = await post(client, nginx.url, session, request("ping", id=10 + i))
            assert response.status_code == 200, response.text
            assert response.json()["result"] == {}
            assert response.headers[INSTANCE_HEADER] != victim.name
        answer = result(await post(client, nginx.url, session, tool("whoami", id=20)))
        alive = {str(i.process.pid) for i in instances if i is not victim}
        assert answer["result"]["content"][0]["text"] in alive
