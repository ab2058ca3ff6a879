"""What only the Redis backend has: expiry on every key, outages, pools and loops."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis_support import REDIS_URL, LocalCluster, delete_prefix, require_redis

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


async def test_blocked_readers_hold_no_connections(prefix: str) -> None:
    """400 blocked reads on 400 logs: one subscriber connection waits for all of them,
    and two command connections are enough for everything else."""
    store = RedisStore(REDIS_URL, max_connections=2)
    try:
        readers = [
            asyncio.create_task(store.read({f"{prefix}l{i}": "$"}, timeout=5)) for i in range(400)
        ]
        await asyncio.sleep(0.5)
        assert store.connections() == {"commands": 2, "subscribers": 1}
        for i in range(20):
            await store.set(f"{prefix}v{i}", b"x", 60)
        for i in range(400):
            await store.append(f"{prefix}l{i}", f"e{i}".encode(), ttl=60, cap=10)
        results = await asyncio.wait_for(asyncio.gather(*readers), 5)
        assert [[e.data for e in events] for events in results] == [
            [f"e{i}".encode()] for i in range(400)
        ]
        assert store.connections() == {"commands": 2, "subscribers": 1}
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


@pytest.mark.redis_cluster
async def test_a_cluster_keeps_to_the_connection_budget(redis_cluster: LocalCluster) -> None:
    """300 blocked reads on logs spread over every shard, and 300 commands at once: at
    most the command budget open, plus one subscriber connection per master."""
    store = RedisStore(redis_cluster.nodes[-1].url, max_connections=6)
    prefix = f"budget-{secrets.token_hex(4)}:"
    logs = [f"{prefix}sse:{{{i}}}:get" for i in range(300)]
    try:
        readers = [asyncio.create_task(store.read({log: "$"}, timeout=10)) for log in logs]
        writes = [store.set(f"{prefix}v:{{{i}}}", b"x", 60) for i in range(300)]
        assert all(await asyncio.gather(*writes))
        await asyncio.sleep(0.5)
        await asyncio.gather(*(store.append(log, log.encode(), ttl=60, cap=10) for log in logs))
        results = await asyncio.wait_for(asyncio.gather(*readers), 10)
        assert [[e.data for e in events] for events in results] == [[log.encode()] for log in logs]
        counts = store.connections()
        # The budget, and the connection that looked up the topology at the start.
        assert 3 <= counts["commands"] <= 6 + 1, counts
        assert counts["subscribers"] == 3, counts
    finally:
        await store.close()


@pytest.mark.redis_cluster
async def test_an_acl_user_on_a_cluster(redis_cluster: LocalCluster) -> None:
    """`redis://user:password@node`: commands, the topology lookup and the subscriber
    connections all authenticate as that user."""
    password = secrets.token_hex(8)
    for node in redis_cluster.nodes:  # ACLs are per node
        node.cli("acl", "setuser", "cloudmcp", "on", f">{password}", "~*", "&*", "+@all")
    node = redis_cluster.nodes[1]
    store = RedisStore(f"redis://cloudmcp:{password}@127.0.0.1:{node.port}/0")
    prefix = f"acl-{secrets.token_hex(4)}:"
    try:
        await store.set(f"{prefix}v", b"x", 60)
        assert await store.get(f"{prefix}v") == b"x"
        reader = asyncio.create_task(store.read({f"{prefix}l": "$"}, timeout=5))
        await asyncio.sleep(0.2)
        await store.append(f"{prefix}l", b"e", ttl=60, cap=10)
        assert [e.data for e in await asyncio.wait_for(reader, 3)] == [b"e"]
        assert store.cluster is True
    finally:
        await store.close()
    wrong = RedisStore(f"redis://cloudmcp:wrong@127.0.0.1:{node.port}/0")
    try:
        with pytest.raises(StoreUnavailable, match="invalid username-password"):
            await wrong.get(f"{prefix}v")
    finally:
        await wrong.close()


async def test_a_lost_subscriber_connection_is_replaced_and_nothing_is_missed(
    redis_store: RedisStore, prefix: str
) -> None:
    """The subscriber connection drops while reads wait: they subscribe again on a new
    one, and an event appended while no connection listened still arrives."""
    logs = [f"{prefix}l{i}" for i in range(5)]
    readers = [asyncio.create_task(redis_store.read({log: "0"}, timeout=10)) for log in logs]
    await asyncio.sleep(0.3)
    assert redis_store.connections()["subscribers"] == 1
    assert redis_store._links is not None
    (link,) = redis_store._links.links()
    await link.connection.disconnect()
    await redis_store.append(logs[0], b"while away", ttl=60, cap=10)
    for log in logs[1:]:
        await redis_store.append(log, b"after", ttl=60, cap=10)
    results = await asyncio.wait_for(asyncio.gather(*readers), 5)
    assert [[e.data for e in events] for events in results] == [[b"while away"]] + [[b"after"]] * 4
    assert redis_store.connections()["subscribers"] == 1
    assert not link.alive
