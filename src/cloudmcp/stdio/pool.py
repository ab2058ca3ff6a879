"""A pool of initialized children: leased for a call, reused, replaced when they die.

A lease gives a caller a child for one call. By default (`share=1`) the caller has it
to itself, so whatever the child asks or logs during the call belongs to that caller;
`share=N` lets N calls use one child at once (more throughput, for servers that never
ask their client anything). Children outlive requests (and warm Lambda invocations); at
most `size` run at once. With `isolate`, a child serves one owner (principal) for its
whole life, for servers that keep per-user state; an idle child of another owner is
stopped to make room when the pool is full.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any

from cloudmcp.errors import MCPError
from cloudmcp.protocol.errors import INTERNAL_ERROR, SERVICE_UNAVAILABLE
from cloudmcp.stdio.child import Child, ChildExited, Notified

log = logging.getLogger("cloudmcp.stdio")


class Pool:
    def __init__(
        self,
        argv: Sequence[str],
        on_notification: Notified,
        *,
        size: int = 4,
        share: int = 1,
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
        self.share = max(1, share)
        self.isolate = isolate
        self.env = env
        self.start_timeout = start_timeout
        self.wait_timeout = wait_timeout
        self.children: list[Child] = []
        self._idle: list[Child] = []
        self._starting = 0
        self._waiting: collections.deque[tuple[str | None, asyncio.Future[Child | None]]] = (
            collections.deque()
        )
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
            self._release(child)

    async def _acquire(self, owner: str | None) -> Child:
        deadline = asyncio.get_running_loop().time() + self.wait_timeout
        while True:
            if self.closed:
                raise MCPError(SERVICE_UNAVAILABLE, "Shutting down", status=503)
            child = self._take_idle(owner)
            if child is not None:
                return child
            if len(self.children) + self._starting < self.size or self._evict(owner):
                return await self._spawn(owner)
            try:
                async with asyncio.timeout_at(deadline):
                    child = await self._wait(owner)
            except TimeoutError:
                raise MCPError(
                    SERVICE_UNAVAILABLE,
                    f"All {self.size} stdio servers are busy; retry shortly",
                    status=503,
                    headers={"retry-after": "1"},
                ) from None
            if child is not None:
                return child

    async def _wait(self, owner: str | None) -> Child | None:
        """Queue for a child: one handed over on release, or None when room was made."""
        turn: asyncio.Future[Child | None] = asyncio.get_running_loop().create_future()
        entry = (owner, turn)
        self._waiting.append(entry)
        try:
            return await turn
        except BaseException:
            handed = turn.result() if turn.done() and not turn.cancelled() else None
            if handed is not None:
                self._release(handed)  # handed over as the wait ended: pass it on
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiting.remove(entry)

    def _take_idle(self, owner: str | None) -> Child | None:
        """A child with room for one more call: most recently used first, the warmest."""
        for child in reversed(self._idle):
            if child.owner == owner and child.alive:
                self._lease(child)
                return child
        return None

    def _lease(self, child: Child) -> None:
        child.leases += 1
        if child.leases >= self.share and child in self._idle:
            self._idle.remove(child)
        elif child.leases < self.share and child not in self._idle:
            self._idle.append(child)

    def _evict(self, owner: str | None) -> bool:
        """Make room by stopping an idle child of another owner (isolation only)."""
        for child in self._idle:
            if child.owner != owner and not child.leases:
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
        self._lease(child)
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
        self._wake()  # room for a new child

    def _forget(self, child: Child) -> None:
        if child in self.children:
            self.children.remove(child)
        if child in self._idle:
            self._idle.remove(child)

    def _release(self, child: Child) -> None:
        """Hand the child to the first caller waiting for one of its owner, else keep it."""
        child.leases -= 1
        if not child.alive or self.closed:
            self._forget(child)
            self._wake()
            return
        for owner, turn in self._waiting:
            if owner == child.owner and not turn.done():
                child.leases += 1
                turn.set_result(child)
                return
        if child not in self._idle:
            self._idle.append(child)
        if self._waiting:
            self._wake()  # a caller of another owner may stop this idle child for room

    def _wake(self) -> None:
        """Let the first waiting caller look again (room was made, or may be made)."""
        for _, turn in self._waiting:
            if not turn.done():
                turn.set_result(None)
                return

    async def close(self) -> None:
        """Stop every child."""
        self.closed = True
        children, self.children, self._idle = list(self.children), [], []
        await asyncio.gather(*(child.stop() for child in children), return_exceptions=True)
        while self._waiting:
            self._wake()
            self._waiting.popleft()
