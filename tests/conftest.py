"""Shared test setup. Helpers are found through pytest's `pythonpath` (pyproject.toml).

Suites that start processes, talk to Redis or run the Node tools are marked
`integration`, by folder: `pytest -m "not integration"` runs the in-process ones alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_support import LocalCluster, start_cluster

TESTS = Path(__file__).resolve().parent
#: Folders whose tests start servers, Redis, nginx, the Lambda emulator or Node tools.
INTEGRATION = frozenset(
    {
        "auth",
        "aws_lambda",
        "conformance",
        "interop",
        "multi_instance",
        "ops",
        "packaging",
        "security",
        "state",
        "stdio",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(item.path).relative_to(TESTS).parts[0]
        if folder in INTEGRATION:
            item.add_marker(pytest.mark.integration)


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
