"""Fixtures for the store contract: every test runs on memory, on the real Redis, and on
two Redis Clusters of our own (3 masters with a replica each; 1 master with a replica,
the shape ElastiCache Serverless shows), each store given the address of one node only.

Redis tests use 127.0.0.1:6379 (REDIS_TEST_URL to override), each under a key prefix
of its own, and delete what they wrote. The clusters are started once per session from
`redis-server --cluster-enabled yes` in temporary directories, and stopped at the end.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from redis_support import REDIS_URL, LocalCluster, delete_prefix, require_redis

from cloudmcp.state.memory import MemoryStore
from cloudmcp.state.store import Store


@pytest.fixture
def prefix() -> str:
    return f"cloudmcp-test:{secrets.token_hex(6)}:"


@pytest.fixture(
    params=[
        "memory",
        "redis",
        pytest.param("cluster", marks=pytest.mark.redis_cluster),
        pytest.param("cluster-1", marks=pytest.mark.redis_cluster),
    ]
)
async def store(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    from cloudmcp.state.redis import RedisStore

    if request.param == "redis":
        require_redis()
        redis_store = RedisStore(REDIS_URL)
        try:
            yield redis_store
        finally:
            await redis_store.close()
            await delete_prefix(prefix)
        return
    name = "redis_cluster" if request.param == "cluster" else "redis_cluster_single"
    cluster: LocalCluster = request.getfixturevalue(name)
    # One node's address: the store finds the others, and that it is a cluster.
    redis_store = RedisStore(cluster.nodes[-1].url)
    try:
        yield redis_store
        assert redis_store.cluster is True
    finally:
        await redis_store.close()
