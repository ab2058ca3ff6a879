"""Store figures: operation latency and failures, from a proxy around any backend."""

from __future__ import annotations

import pytest

from cloudmcp.errors import StoreUnavailable
from cloudmcp.ops.storewatch import WatchedStore
from cloudmcp.state.memory import MemoryStore


class Recorder:
    def __init__(self) -> None:
        self.operations: list[tuple[str, str]] = []
        self.failures: list[tuple[str, str]] = []

    def store_operation(self, backend: str, operation: str, seconds: float) -> None:
        assert seconds >= 0
        self.operations.append((backend, operation))

    def store_failure(self, backend: str, operation: str) -> None:
        self.failures.append((backend, operation))


class Flaky(MemoryStore):
    backend = "redis"  # a network backend: timed

    async def get(self, key: str, *, touch: float | None = None) -> bytes | None:
        raise StoreUnavailable("Redis is unavailable: connection refused")


async def test_times_operations_and_counts_failures() -> None:
    recorder = Recorder()
    store = WatchedStore(Flaky(), [recorder], timed=True)
    await store.set("k", b"v", 10)
    await store.append("log", b"e", ttl=10, cap=5)
    assert await store.read({"log": "0"}, timeout=0.01)  # blocking read: not timed
    with pytest.raises(StoreUnavailable):
        await store.get("k")
    assert recorder.operations == [("redis", "set"), ("redis", "append")]
    assert recorder.failures == [("redis", "get")]
    assert store.backend == "redis"


async def test_memory_is_not_timed() -> None:
    recorder = Recorder()
    store = WatchedStore(MemoryStore(), [recorder], timed=False)
    await store.set("k", b"v", 10)
    assert await store.get("k") == b"v"
    assert recorder.operations == []
