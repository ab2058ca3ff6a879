"""The real Redis the state tests use: where it is, whether it answers, and cleanup."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")


def redis_available() -> bool:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1):
            return True
    except OSError:
        return False


async def delete_prefix(prefix: str) -> int:
    """Delete every key under `prefix`; the number deleted."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        return int(await client.delete(*keys)) if keys else 0
    finally:
        await client.aclose()


def require_redis() -> None:
    """Fail (never skip) a test that needs the real Redis when none answers: `make test`
    starts one, so a missing Redis is a broken setup, not a reason to pass."""
    import pytest

    if not redis_available():
        pytest.fail(f"no Redis at {REDIS_URL}: run scripts/install-tools.sh to start it")


# Redis Clusters of our own: never the shared Redis on 6379.

CLUSTER_SLOTS = 16384


@dataclass
class LocalNode:
    port: int
    bus_port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def role(self) -> str:
        return self.cli("role").split("\n", 1)[0].strip()


@dataclass
class LocalCluster:
    """`redis-server --cluster-enabled yes` processes on free ports, joined into a cluster."""

    nodes: list[LocalNode]
    dir: Path

    @property
    def url(self) -> str:
        """One node's address: all a client is given."""
        return self.nodes[0].url

    def masters(self) -> list[LocalNode]:
        return [node for node in self.nodes if node.role() == "master"]

    def replicas(self) -> list[LocalNode]:
        return [node for node in self.nodes if node.role() == "slave"]

    def master_of(self, key: str) -> LocalNode:
        slot = int(self.nodes[0].cli("cluster", "keyslot", key).strip())
        for node in self.masters():
            for line in node.cli("cluster", "nodes").splitlines():
                fields = line.split()
                if "myself" in fields[2]:
                    for interval in fields[8:]:
                        first, _, last = interval.partition("-")
                        if first.isdigit() and int(first) <= slot <= int(last or first):
                            return node
        raise LookupError(f"no master serves slot {slot}")

    def replica_of(self, master: LocalNode) -> LocalNode:
        master_id = master.cli("cluster", "myid").strip()
        for node in self.replicas():
            if master_id in node.cli("cluster", "nodes").split("myself", 1)[1].split("\n")[0]:
                return node
        raise LookupError(f"no replica of {master.port}")

    def failover(self, replica: LocalNode, timeout: float = 30.0) -> None:
        """`CLUSTER FAILOVER` on `replica`, until it is a master everyone agrees on."""
        replica.cli("cluster", "failover")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if replica.role() == "master" and self.ok():
                return
            time.sleep(0.1)
        raise TimeoutError(f"{replica.port} did not become a master")

    def ok(self) -> bool:
        return all("cluster_state:ok" in node.cli("cluster", "info") for node in self.nodes)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_cluster(work: Path, *, masters: int = 3, replicas: int = 1) -> LocalCluster:
    """A Redis Cluster of `masters` masters with `replicas` replicas each, in `work`.

    Three masters or more are joined by `redis-cli --cluster create`; a single master
    (the shape ElastiCache Serverless shows a client) is given every slot itself."""
    nodes: list[LocalNode] = []
    cluster = LocalCluster(nodes, work)
    try:
        for _ in range(masters * (1 + replicas)):
            port, bus_port = _free_port(), _free_port()
            node_dir = work / str(port)
            node_dir.mkdir(parents=True)
            command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
            command += ["--cluster-enabled", "yes", "--cluster-port", str(bus_port)]
            command += ["--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "3000"]
            command += ["--dir", str(node_dir), "--save", "", "--appendonly", "no"]
            with (node_dir / "redis.log").open("wb") as log:
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            nodes.append(LocalNode(port, bus_port, process))
        for node in nodes:
            _wait(lambda node=node: _answers(node), f"redis-server on {node.port}")
        if masters >= 3:
            addresses = [f"127.0.0.1:{node.port}" for node in nodes]
            options = ["--cluster-replicas", str(replicas), "--cluster-yes"]
            subprocess.run(
                ["redis-cli", "--cluster", "create", *addresses, *options],
                capture_output=True,
                timeout=60,
                check=True,
            )
        else:
            first = nodes[0]
            first.cli("cluster", "addslotsrange", "0", str(CLUSTER_SLOTS - 1))
            for node in nodes[1:]:
                node.cli("cluster", "meet", "127.0.0.1", str(first.port), str(first.bus_port))
            _wait(lambda: len(first.cli("cluster", "nodes").splitlines()) == len(nodes), "meet")
            first_id = first.cli("cluster", "myid").strip()
            for node in nodes[1:]:
                _wait(lambda node=node: first_id in node.cli("cluster", "nodes"), "gossip")
                node.cli("cluster", "replicate", first_id)
        _wait(cluster.ok, "cluster_state:ok")
        _wait(lambda: len(cluster.replicas()) == masters * replicas, "replicas")
        _wait(lambda: all(_in_sync(node) for node in cluster.replicas()), "replication")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _answers(node: LocalNode) -> bool:
    try:
        return node.cli("ping").strip() == "PONG"
    except subprocess.CalledProcessError:
        return False


def _in_sync(replica: LocalNode) -> bool:
    return "master_link_status:up" in replica.cli("info", "replication")


def _wait(ready: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Redis Cluster: no {what} within {timeout:.0f}s")
        time.sleep(0.1)


@dataclass
class RedisTarget:
    """Where a group of instances keeps its state: `url(i)` is what instance i is given."""

    name: str
    urls: list[str]
    cluster: LocalCluster | None = None

    def url(self, index: int) -> str:
        return self.urls[index % len(self.urls)]


def cluster_target(name: str, cluster: LocalCluster) -> RedisTarget:
    """Each instance gets one node's address, masters and replicas alike."""
    count = len(cluster.nodes)
    order = [cluster.nodes[(i * (count - 1)) % count] for i in range(count)]
    return RedisTarget(name, [node.url for node in order], cluster)
