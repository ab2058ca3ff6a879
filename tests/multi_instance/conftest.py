"""Two processes of tests/multi_instance/state_app.py sharing one store, one key prefix
per module; tests talk to each instance directly, so they choose which serves what.

Every module runs three times: on the shared Redis, on a Redis Cluster of 3 masters and
3 replicas, and on a single-master cluster; with a cluster, each instance is given the
address of a different node only."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_support import (
    REDIS_URL,
    LocalCluster,
    RedisTarget,
    cluster_target,
    delete_prefix,
    require_redis,
)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "conformance"))  # the suite's runner and parser

from instances import STATE_APP, Instance, start_many, state_key  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _redis() -> None:
    require_redis()


@pytest.fixture(
    scope="module",
    params=[
        "redis",
        pytest.param("cluster", marks=pytest.mark.redis_cluster),
        pytest.param("cluster-1", marks=pytest.mark.redis_cluster),
    ],
)
def redis_target(request: pytest.FixtureRequest) -> RedisTarget:
    if request.param == "redis":
        return RedisTarget("redis", [REDIS_URL])
    name = "redis_cluster" if request.param == "cluster" else "redis_cluster_single"
    cluster: LocalCluster = request.getfixturevalue(name)
    return cluster_target(request.param, cluster)


@pytest.fixture(scope="module")
def key_prefix(redis_target: RedisTarget) -> Iterator[str]:
    prefix = f"cloudmcp-test:{secrets.token_hex(6)}:"
    yield prefix
    if redis_target.name == "redis":  # the clusters are ours, and go at the end
        asyncio.run(delete_prefix(prefix))


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, key_prefix: str, redis_target: RedisTarget
) -> Iterator[list[Instance]]:
    """Instances A and B of the state test app: one store, one prefix, one key ring."""
    env = {
        "KEY_PREFIX": key_prefix,
        "STATE_KEYS": state_key("k1"),
        "SSE_KEEPALIVE": "1",
        "RATE_LIMIT": "",
    }
    instances = start_many(2, STATE_APP, tmp_path_factory.mktemp("pair"), env, redis_target)
    yield instances
    for instance in instances:
        instance.stop()
