"""A framework's lifespan, entered once per process and left at shutdown.

It runs in a task of its own: frameworks build lifespans on anyio task groups and cancel
scopes, which must be left by the task that entered them. `cloudmcp serve` starts it
with the app; on AWS Lambda, where nothing announces start-up, the first request
starts it and it lasts as long as the execution environment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any


class FrameworkLifespan:
    def __init__(self, open: Callable[[], AbstractAsyncContextManager[Any]] | None) -> None:
        self._open = open
        self._ready: asyncio.Future[Any] | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        #: What the lifespan yielded (None before it starts, or without a lifespan).
        self.state: Any = None
        self._entered = False

    async def start(self) -> Any:
        """Enter the lifespan unless it is entered already; what it yielded."""
        if self._entered:  # every request asks: answer at once
            return self.state
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
            if self._open is None:
                self._ready.set_result(None)
            else:
                self._stop = asyncio.Event()
                self._task = asyncio.create_task(self._hold(self._open, self._ready, self._stop))
        self.state = await asyncio.shield(self._ready)
        self._entered = True
        return self.state

    async def stop(self) -> None:
        """Leave the lifespan (a later `start` enters it again)."""
        task, stop = self._task, self._stop
        self._ready = self._task = self._stop = None
        self.state = None
        self._entered = False
        if task is not None and stop is not None:
            stop.set()
            await task

    @staticmethod
    async def _hold(
        open: Callable[[], AbstractAsyncContextManager[Any]],
        ready: asyncio.Future[Any],
        stop: asyncio.Event,
    ) -> None:
        try:
            async with open() as state:
                ready.set_result(state)
                await stop.wait()
        except Exception as exc:
            if ready.done():
                raise
            ready.set_exception(exc)


__all__ = ["FrameworkLifespan"]
