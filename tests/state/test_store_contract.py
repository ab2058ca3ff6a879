"""The `Store` contract: what the engine relies on, checked on memory and on Redis alike."""

from __future__ import annotations

import asyncio
import time

from cloudmcp.state.store import Store

# Small TTLs keep the suite quick; the margins cover a loaded CI machine.
SHORT = 0.3
PAST_SHORT = 0.6


# values


async def test_set_then_get(store: Store, prefix: str) -> None:
    assert await store.get(f"{prefix}v") is None
    assert await store.set(f"{prefix}v", b"one", 60)
    assert await store.get(f"{prefix}v") == b"one"


async def test_set_only_new_keeps_the_first_value(store: Store, prefix: str) -> None:
    assert await store.set(f"{prefix}v", b"first", 60, only_new=True)
    assert not await store.set(f"{prefix}v", b"second", 60, only_new=True)
    assert await store.get(f"{prefix}v") == b"first"


async def test_swap_writes_only_over_the_value_read(store: Store, prefix: str) -> None:
    key = f"{prefix}v"
    assert not await store.swap(key, b"old", b"new", 60)  # absent: nothing to swap
    assert await store.get(key) is None
    await store.set(key, b"one", 60)
    assert await store.swap(key, b"one", b"two", 60)
    assert not await store.swap(key, b"one", b"three", 60)  # someone changed it first
    assert await store.get(key) == b"two"


async def test_swap_sets_the_ttl(store: Store, prefix: str) -> None:
    key = f"{prefix}v"
    await store.set(key, b"one", 60)
    assert await store.swap(key, b"one", b"two", SHORT)
    await asyncio.sleep(PAST_SHORT)
    assert await store.get(key) is None


async def test_value_expires(store: Store, prefix: str) -> None:
    await store.set(f"{prefix}v", b"x", SHORT)
    await asyncio.sleep(PAST_SHORT)
    assert await store.get(f"{prefix}v") is None
    assert await store.set(f"{prefix}v", b"again", 60, only_new=True)


async def test_touch_extends_the_ttl(store: Store, prefix: str) -> None:
    await store.set(f"{prefix}v", b"x", SHORT)
    for _ in range(3):
        await asyncio.sleep(SHORT / 2)
        assert await store.get(f"{prefix}v", touch=SHORT) == b"x"
    await asyncio.sleep(PAST_SHORT)
    assert await store.get(f"{prefix}v") is None


async def test_delete_counts_keys_of_every_kind(store: Store, prefix: str) -> None:
    await store.set(f"{prefix}v", b"x", 60)
    await store.add_member(f"{prefix}s", "m", 60)
    await store.append(f"{prefix}l", b"e", ttl=60, cap=10)
    assert await store.delete(f"{prefix}v", f"{prefix}s", f"{prefix}l", f"{prefix}none") == 3
    assert await store.get(f"{prefix}v") is None
    assert await store.members(f"{prefix}s") == set()
    assert await store.read({f"{prefix}l": "0"}, timeout=0) == []
    assert await store.delete() == 0


# sets


async def test_members(store: Store, prefix: str) -> None:
    key = f"{prefix}s"
    assert await store.members(key) == set()
    await store.add_member(key, "a", 60)
    await store.add_member(key, "b", 60)
    await store.add_member(key, "a", 60)
    assert await store.members(key) == {"a", "b"}
    await store.remove_member(key, "a")
    await store.remove_member(key, "missing")
    assert await store.members(key) == {"b"}


async def test_set_expires_and_adding_refreshes_it(store: Store, prefix: str) -> None:
    key = f"{prefix}s"
    await store.add_member(key, "a", SHORT)
    await asyncio.sleep(SHORT / 2)
    await store.add_member(key, "b", SHORT)
    await asyncio.sleep(SHORT * 0.7)
    assert await store.members(key) == {"a", "b"}
    await asyncio.sleep(PAST_SHORT)
    assert await store.members(key) == set()


# event logs


async def test_append_then_read_from_the_start(store: Store, prefix: str) -> None:
    log = f"{prefix}l"
    ids = [await store.append(log, f"e{i}".encode(), ttl=60, cap=100) for i in range(3)]
    events = await store.read({log: "0"}, timeout=0)
    assert [e.data for e in events] == [b"e0", b"e1", b"e2"]
    assert [e.id for e in events] == ids
    assert {e.log for e in events} == {log}
    assert len(set(ids)) == 3


async def test_read_after_an_id_gets_only_newer_events(store: Store, prefix: str) -> None:
    log = f"{prefix}l"
    first = await store.append(log, b"a", ttl=60, cap=100)
    await store.append(log, b"b", ttl=60, cap=100)
    events = await store.read({log: first}, timeout=0)
    assert [e.data for e in events] == [b"b"]
    assert await store.read({log: events[-1].id}, timeout=0) == []


async def test_read_blocks_until_an_event_arrives(store: Store, prefix: str) -> None:
    log = f"{prefix}l"
    start = await store.tail(log)
    reader = asyncio.create_task(store.read({log: start}, timeout=5))
    await asyncio.sleep(0.1)
    assert not reader.done()
    await store.append(log, b"late", ttl=60, cap=100)
    events = await asyncio.wait_for(reader, 2)
    assert [e.data for e in events] == [b"late"]


async def test_read_times_out_empty(store: Store, prefix: str) -> None:
    started = time.monotonic()
    assert await store.read({f"{prefix}l": "0"}, timeout=0.2) == []
    assert 0.15 <= time.monotonic() - started < 2


async def test_dollar_means_only_new_events(store: Store, prefix: str) -> None:
    log = f"{prefix}l"
    await store.append(log, b"old", ttl=60, cap=100)
    assert await store.read({log: "$"}, timeout=0) == []
    reader = asyncio.create_task(store.read({log: "$"}, timeout=5))
    await asyncio.sleep(0.1)
    await store.append(log, b"new", ttl=60, cap=100)
    assert [e.data for e in await asyncio.wait_for(reader, 2)] == [b"new"]


async def test_tail_then_read_misses_nothing(store: Store, prefix: str) -> None:
    log = f"{prefix}l"
    assert await store.tail(log) == "0"
    await store.append(log, b"before", ttl=60, cap=100)
    position = await store.tail(log)
    # Appended between looking at the tail and starting to read: must still arrive.
    await store.append(log, b"between", ttl=60, cap=100)
    events = await store.read({log: position}, timeout=1)
    assert [e.data for e in events] == [b"between"]
    assert await store.tail(log) == events[-1].id


async def test_read_several_logs_at_once(store: Store, prefix: str) -> None:
    a, b = f"{prefix}a", f"{prefix}b"
    positions = {a: await store.tail(a), b: await store.tail(b)}
    reader = asyncio.create_task(store.read(positions, timeout=5))
    await asyncio.sleep(0.1)
    await store.append(b, b"on b", ttl=60, cap=100)
    events = await asyncio.wait_for(reader, 2)
    assert [(e.log, e.data) for e in events] == [(b, b"on b")]
    await store.append(a, b"on a", ttl=60, cap=100)
    positions[b] = events[-1].id
    events = await store.read(positions, timeout=1)
    assert [(e.log, e.data) for e in events] == [(a, b"on a")]


async def test_cap_keeps_the_newest(store: Store, prefix: str) -> None:
    log = f"{prefix}l"
    for i in range(10):
        await store.append(log, str(i).encode(), ttl=60, cap=3)
    events = await store.read({log: "0"}, timeout=0)
    assert [e.data for e in events] == [b"7", b"8", b"9"]


async def test_ids_keep_growing_after_a_log_expires(store: Store, prefix: str) -> None:
    log = f"{prefix}l"
    old = await store.append(log, b"a", ttl=SHORT, cap=10)
    await asyncio.sleep(PAST_SHORT)
    assert await store.read({log: "0"}, timeout=0) == []
    await store.append(log, b"b", ttl=60, cap=10)
    # A reader that saw the old event still gets the new one.
    assert [e.data for e in await store.read({log: old}, timeout=0)] == [b"b"]


async def test_many_blocked_readers_all_wake(store: Store, prefix: str) -> None:
    log = f"{prefix}l"
    start = await store.tail(log)
    readers = [asyncio.create_task(store.read({log: start}, timeout=5)) for _ in range(20)]
    await asyncio.sleep(0.2)
    await store.append(log, b"all", ttl=60, cap=10)
    results = await asyncio.wait_for(asyncio.gather(*readers), 3)
    assert all([e.data for e in events] == [b"all"] for events in results)


async def test_a_cancelled_read_leaves_the_store_usable(store: Store, prefix: str) -> None:
    log = f"{prefix}l"
    reader = asyncio.create_task(store.read({log: "$"}, timeout=5))
    await asyncio.sleep(0.1)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    await store.append(log, b"after", ttl=60, cap=10)
    assert [e.data for e in await store.read({log: "0"}, timeout=1)] == [b"after"]


# rate limits


async def test_hit_allows_up_to_the_limit_then_says_how_long_to_wait(
    store: Store, prefix: str
) -> None:
    key = f"{prefix}h"
    assert [await store.hit(key, window=1.0, limit=3) for _ in range(3)] == [0, 0, 0]
    wait = await store.hit(key, window=1.0, limit=3)
    assert 0 < wait <= 1.0


async def test_hit_window_slides(store: Store, prefix: str) -> None:
    key = f"{prefix}h"
    assert await store.hit(key, window=0.4, limit=1) == 0
    assert await store.hit(key, window=0.4, limit=1) > 0
    await asyncio.sleep(0.5)
    assert await store.hit(key, window=0.4, limit=1) == 0


async def test_concurrent_hits_never_exceed_the_limit(store: Store, prefix: str) -> None:
    key = f"{prefix}h"
    waits = await asyncio.gather(*(store.hit(key, window=10, limit=5) for _ in range(30)))
    assert sum(1 for w in waits if w == 0) == 5


# health


async def test_ping(store: Store) -> None:
    assert await store.ping()
