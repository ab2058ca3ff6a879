"""`Batch` on a real event loop, and from threads without one."""

from __future__ import annotations

import asyncio
import threading

import uvloop

from cloudmcp.ops.batch import SIZE, WAIT, Batch


def test_items_wait_for_the_timer_or_a_full_batch() -> None:
    handled: list[list[int]] = []

    async def main() -> None:
        batch: Batch[int] = Batch(handled.append)
        batch.add(1)
        batch.add(2)
        assert handled == []  # waiting
        await asyncio.sleep(WAIT * 5)
        assert handled == [[1, 2]]  # the timer fired
        for item in range(SIZE):
            batch.add(item)
        assert handled[-1] == list(range(SIZE))  # full: handled at once, no timer needed
        batch.add(7)
        batch.flush()
        assert handled[-1] == [7]
        batch.flush()  # nothing pending: nothing handled
        assert len(handled) == 3

    uvloop.run(main())


def test_a_thread_without_a_loop_is_handled_at_once() -> None:
    handled: list[list[str]] = []
    batch: Batch[str] = Batch(handled.append)

    async def main() -> None:
        batch.add("on the loop")
        worker = threading.Thread(target=batch.add, args=("from a worker thread",))
        worker.start()
        worker.join()
        assert handled == [["from a worker thread"]]
        batch.flush()

    asyncio.run(main())
    assert handled[-1] == ["on the loop"]


def test_a_new_loop_gets_a_new_timer() -> None:
    """A loop that ended with items pending does not strand the next loop's items."""
    handled: list[list[int]] = []
    batch: Batch[int] = Batch(handled.append)

    async def add_and_wait(item: int, wait: float) -> None:
        batch.add(item)
        await asyncio.sleep(wait)

    asyncio.run(add_and_wait(1, 0))  # ends before the timer fires
    asyncio.run(add_and_wait(2, WAIT * 5))
    assert [2] in handled or [1, 2] in handled
