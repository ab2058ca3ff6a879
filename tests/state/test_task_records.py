"""Task records and their transitions, on memory and on Redis: claims, leases, fencing."""

from __future__ import annotations

import asyncio

from cloudmcp.state.keys import Keys
from cloudmcp.state.store import Store
from cloudmcp.state.tasks import (
    TaskRecord,
    TaskStore,
    answer,
    cancel,
    claim,
    finish,
    now_ms,
    park,
    release,
    renew,
)


def _record(task_id: str = "t1") -> TaskRecord:
    now = now_ms()
    return TaskRecord(
        id=task_id,
        state="queued",
        tool="work",
        arguments={},
        meta={},
        capabilities={},
        created=now,
        updated=now,
        ttl_ms=60_000,
        poll_ms=1000,
    )


async def test_one_claim_wins_and_a_lost_worker_is_fenced(store: Store, prefix: str) -> None:
    tasks = TaskStore(store, Keys(prefix))
    await tasks.create(_record())
    first, won = await tasks.change("t1", claim("A", 200, 2))
    assert won and first is not None and first.attempt == 1 and first.worker == "A"
    _, won = await tasks.change("t1", claim("B", 200, 2))
    assert not won  # A's lease holds

    await asyncio.sleep(0.4)  # A's lease runs out
    second, won = await tasks.change("t1", claim("B", 60_000, 2))
    assert won and second is not None and (second.attempt, second.retries) == (2, 1)

    # A comes back: its renewal and its result are refused; B's result stands.
    assert not (await tasks.change("t1", renew(1, 60_000)))[1]
    assert not (await tasks.change("t1", finish(1, result={"content": []})))[1]
    done, won = await tasks.change("t1", finish(2, result={"content": [{"type": "text"}]}))
    assert won and done is not None and done.state == "completed"
    stored = await tasks.load("t1")
    assert stored is not None and stored.result == {"content": [{"type": "text"}]}
    assert "t1" not in await tasks.unfinished()


async def test_concurrent_claims_have_one_winner(store: Store, prefix: str) -> None:
    tasks = TaskStore(store, Keys(prefix))
    await tasks.create(_record())
    results = await asyncio.gather(
        *(tasks.change("t1", claim(f"w{i}", 60_000, 2)) for i in range(8))
    )
    assert sum(won for _, won in results) == 1
    stored = await tasks.load("t1")
    assert stored is not None and stored.attempt == 1


async def test_too_many_takeovers_fail_the_task(store: Store, prefix: str) -> None:
    tasks = TaskStore(store, Keys(prefix))
    await tasks.create(_record())
    for worker in ("A", "B"):
        assert (await tasks.change("t1", claim(worker, 1, 1)))[1]
        await asyncio.sleep(0.01)
    failed, won = await tasks.change("t1", claim("C", 1, 1))
    assert won and failed is not None and failed.state == "failed"
    assert failed.error is not None and failed.error["code"] == -32603


async def test_questions_partial_answers_and_the_next_leg(store: Store, prefix: str) -> None:
    tasks = TaskStore(store, Keys(prefix))
    await tasks.create(_record())
    running, _ = await tasks.change("t1", claim("A", 60_000, 2))
    assert running is not None
    asked = {"a": {"method": "elicitation/create"}, "b": {"method": "elicitation/create"}}
    parked, won = await tasks.change("t1", park(running.attempt, asked))
    assert won and parked is not None and parked.status == "input_required"

    # An answer to a question not asked changes nothing; a partial answer keeps waiting.
    assert not (await tasks.change("t1", answer({"zzz": {}})))[1]
    partial, won = await tasks.change("t1", answer({"a": {"action": "accept"}, "zzz": {}}))
    assert won and partial is not None and list(partial.pending) == ["b"]
    assert partial.status == "input_required" and "zzz" not in partial.answers
    resumed, _ = await tasks.change("t1", answer({"b": {"action": "decline"}}))
    assert resumed is not None and resumed.state == "queued" and resumed.legs == 2
    assert set(resumed.answers) == {"a", "b"}


async def test_cancel_is_final_and_release_requeues(store: Store, prefix: str) -> None:
    tasks = TaskStore(store, Keys(prefix))
    await tasks.create(_record("t1"))
    running, _ = await tasks.change("t1", claim("A", 60_000, 2))
    assert running is not None
    released, won = await tasks.change("t1", release(running.attempt))
    assert won and released is not None and released.state == "queued"
    assert not (await tasks.change("t1", release(running.attempt)))[1]

    cancelled, won = await tasks.change("t1", cancel)
    assert won and cancelled is not None and cancelled.status == "cancelled"
    assert not (await tasks.change("t1", cancel))[1]  # terminal: nothing changes
    assert not (await tasks.change("t1", claim("B", 60_000, 2)))[1]


def test_a_task_keys_share_one_cluster_slot() -> None:
    from redis.crc import key_slot

    keys = Keys("cloudmcp:")
    for task_id in ("t1", "Zm9v-YmFy_baz", "x" * 32):
        slots = {
            key_slot(keys.task(task_id).encode()),
            key_slot(keys.task_signals(task_id).encode()),
        }
        assert slots == {key_slot(task_id.encode())}
