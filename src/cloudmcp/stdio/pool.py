"""A pool of initialized children: leased one call at a time, reused, replaced when they die.

A lease gives a caller a child to itself for one call, so what the child asks or logs
during the call belongs to that caller. Children outlive requests (and warm Lambda
invocations); at most `size` run at once. With `isolate`, a child serves one owner
(principal) for its whole life, for servers that keep per-user state; an idle child of
another owner is stopped to make room when the pool is full.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any

from cloudmcp.protocol.errors import INTERNAL_ERROR, SERVICE_UNAVAILABLE, MCPError
from cloudmcp.stdio.child import Child, ChildExited, Notified

log = logging.getLogger("cloudmcp.stdio")


class Pool:
    def __init__(
        self,
        argv: Sequence[str],
        on_notification: Notified,
        *,
        size: int = 4,
        isolate: bool = False,
        env: dict[str, str] | None = None,
        start_timeout: float = 30.0,
        wait_timeout: float = 30.0,
    ) -> None:
        if size < 1:
            raise ValueError("the pool needs room for one child at least")
        self.argv = list(argv)
        self.on_notification = on_notification
        self.size = size
        self.isolate = isolate
        self.env = env
        self.start_timeout = start_timeout
        self.wait_timeout = wait_timeout
        self.children: list[Child] = []
        self._idle: list[Child] = []
        self._starting = 0
        self._changed = asyncio.Condition()
        #: Children started since the pool began (a replacement counts): for tests and logs.
        self.started = 0
        self.closed = False
        self._tasks: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def lease(self, owner: str | None = None) -> AsyncIterator[Child]:
        """A child for this caller alone until the block ends."""
        child = await self._acquire(owner if self.isolate else None)
        try:
            yield child
        finally:
            child.caller = None
            await self._release(child)

    async def _acquire(self, owner: str | None) -> Child:
        try:
            async with asyncio.timeout(self.wait_timeout):
                while True:
                    if self.closed:
                        raise MCPError(SERVICE_UNAVAILABLE, "Shutting down", status=503)
                    child = self._take_idle(owner)
                    if child is not None:
                        return child
                    if len(self.children) + self._starting < self.size or self._evict(owner):
                        return await self._spawn(owner)
                    async with self._changed:
                        await self._changed.wait()
        except TimeoutError:
            raise MCPError(
                SERVICE_UNAVAILABLE,
                f"All {self.size} stdio servers are busy; retry shortly",
                status=503,
                headers={"retry-after": "1"},
            ) from None

    def _take_idle(self, owner: str | None) -> Child | None:
        # Most recently used first: it is the warmest.
        for child in reversed(self._idle):
            if child.owner == owner and child.alive:
                self._idle.remove(child)
                return child
        return None

    def _evict(self, owner: str | None) -> bool:
        """Make room by stopping an idle child of another owner (isolation only)."""
        for child in self._idle:
            if child.owner != owner:
                self._idle.remove(child)
                self._forget(child)
                self._background(child.stop())
                return True
        return False

    async def _spawn(self, owner: str | None) -> Child:
        self._starting += 1
        try:
            child = await Child.start(
                self.argv, self.on_notification, env=self.env, timeout=self.start_timeout
            )
        except (ChildExited, TimeoutError) as exc:
            reason = str(exc) or "no answer to initialize in time"
            log.error("stdio server %r did not start: %s", self.argv[0], reason)
            raise MCPError(INTERNAL_ERROR, f"The stdio server could not start: {reason}") from None
        finally:
            self._starting -= 1
        child.owner = owner
        self.children.append(child)
        self.started += 1
        self._background(self._watch(child))
        log.info("stdio server pid %s started (%d running)", child.pid, len(self.children))
        return child

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, child: Child) -> None:
        await child.exited.wait()
        self._forget(child)
        async with self._changed:
            self._changed.notify_all()

    def _forget(self, child: Child) -> None:
        if child in self.children:
            self.children.remove(child)
        if child in self._idle:
            self._idle.remove(child)

    async def _release(self, child: Child) -> None:
        if child.alive and not self.closed:
            self._idle.append(child)
        else:
            self._forget(child)
        async with self._changed:
            self._changed.notify_all()

    async def close(self) -> None:
        """Stop every child."""
        self.closed = True
        children, self.children, self._idle = list(self.children), [], []
        await asyncio.gather(*(child.stop() for child in children), return_exceptions=True)
        async with self._changed:
            self._changed.notify_all()
