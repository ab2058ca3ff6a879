"""Shared test setup: every test directory can import the helpers in tests/support."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SUPPORT = str(Path(__file__).resolve().parent / "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)

from redis_support import LocalCluster, start_cluster  # noqa: E402


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A Redis Cluster of 3 masters and 3 replicas of our own, for the whole run."""
    cluster = start_cluster(tmp_path_factory.mktemp("redis-cluster"), masters=3, replicas=1)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_cluster_single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """One master holding every slot and a replica: how ElastiCache Serverless looks."""
    cluster = start_cluster(tmp_path_factory.mktemp("redis-cluster-1"), masters=1, replicas=1)
    yield cluster
    cluster.stop()
