"""What only the Redis backend has: expiry on every key, outages, pools and loops."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis_support import REDIS_URL, delete_prefix, require_redis

from cloudmcp.errors import StoreUnavailable
from cloudmcp.state.redis import RedisStore


@pytest.fixture(autouse=True)
def _redis() -> None:
    require_redis()


# Nothing listens here: connections are refused at once.
DOWN_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
async def redis_store(prefix: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(REDIS_URL)
    try:
        yield store
    finally:
        await store.close()
        await delete_prefix(prefix)


async def test_every_key_written_has_a_ttl(redis_store: RedisStore, prefix: str) -> None:
    await redis_store.set(f"{prefix}value", b"x", 60)
    await redis_store.get(f"{prefix}value", touch=120)
    await redis_store.add_member(f"{prefix}set", "m", 60)
    await redis_store.append(f"{prefix}log", b"e", ttl=60, cap=10)
    await redis_store.hit(f"{prefix}hits", window=30, limit=5)
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        assert len(keys) == 4
        ttls = {k.decode(): await client.pttl(k) for k in keys}
    finally:
        await client.aclose()
    assert all(ttl > 0 for ttl in ttls.values()), ttls
    assert ttls[f"{prefix}value"] > 60_000  # touched to 120 s


async def test_event_ids_are_stream_ids(redis_store: RedisStore, prefix: str) -> None:
    first = await redis_store.append(f"{prefix}log", b"a", ttl=60, cap=10)
    second = await redis_store.append(f"{prefix}log", b"b", ttl=60, cap=10)
    ms, _, seq = first.partition("-")
    assert ms.isdigit() and seq.isdigit()
    assert tuple(map(int, second.split("-"))) > tuple(map(int, first.split("-")))


async def test_unreachable_redis_raises_store_unavailable() -> None:
    store = RedisStore(DOWN_URL, timeout=1.0)
    try:
        for call in (
            store.get("k"),
            store.set("k", b"v", 1),
            store.append("l", b"e", ttl=1, cap=1),
            store.read({"l": "0"}, timeout=0.1),
            store.hit("h", window=1, limit=1),
            store.members("s"),
        ):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await call
            assert time.monotonic() - started < 3
        assert not await store.ping()
    finally:
        await store.close()


async def test_blocked_readers_do_not_starve_commands(prefix: str) -> None:
    store = RedisStore(REDIS_URL, max_connections=2, max_readers=50)
    try:
        readers = [
            asyncio.create_task(store.read({f"{prefix}l{i}": "$"}, timeout=3)) for i in range(40)
        ]
        await asyncio.sleep(0.2)
        # With 40 reads blocked, short commands still go through the other pool at once.
        started = time.monotonic()
        for i in range(20):
            await store.set(f"{prefix}v{i}", b"x", 60)
        assert time.monotonic() - started < 1
        for i in range(40):
            await store.append(f"{prefix}l{i}", b"e", ttl=60, cap=10)
        results = await asyncio.wait_for(asyncio.gather(*readers), 5)
        assert all(len(events) == 1 for events in results)
    finally:
        await store.close()
        await delete_prefix(prefix)


def test_a_new_event_loop_gets_new_connections(prefix: str) -> None:
    """As on AWS Lambda when each invocation runs its own loop: the store keeps working."""
    store = RedisStore(REDIS_URL)
    results: list[bytes | None] = []

    def invocation(value: bytes) -> None:
        async def handler() -> None:
            await store.set(f"{prefix}k", value, 60)
            results.append(await store.get(f"{prefix}k"))

        asyncio.run(handler())

    for value in (b"one", b"two"):
        thread = threading.Thread(target=invocation, args=(value,))
        thread.start()
        thread.join()
    assert results == [b"one", b"two"]
    asyncio.run(delete_prefix(prefix))
