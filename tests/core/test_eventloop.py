"""`running_loop` and `current_task` agree with asyncio's, across loops and threads."""

from __future__ import annotations

import asyncio
import threading

import pytest
import uvloop

from cloudmcp.eventloop import current_task, running_loop


def test_outside_a_loop_it_raises_like_asyncio() -> None:
    with pytest.raises(RuntimeError):
        running_loop()
    with pytest.raises(RuntimeError):
        current_task()


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run])
def test_each_loop_is_found_in_turn(run: object) -> None:
    seen = []

    async def main() -> None:
        assert running_loop() is asyncio.get_running_loop()
        assert current_task() is asyncio.current_task()
        seen.append(running_loop())

    for _ in range(2):
        run(main())  # type: ignore[operator]
    assert seen[0] is not seen[1]
    with pytest.raises(RuntimeError):
        running_loop()  # the last loop stopped


def test_every_thread_sees_its_own_loop() -> None:
    found: dict[str, object] = {}

    def in_thread() -> None:
        async def main() -> None:
            found["thread"] = running_loop() is asyncio.get_running_loop()

        asyncio.run(main())

    async def main() -> None:
        loop = running_loop()
        worker = threading.Thread(target=in_thread)
        worker.start()
        worker.join()
        found["main"] = running_loop() is loop

    asyncio.run(main())
    assert found == {"thread": True, "main": True}
