"""`notifications/cancelled` for calls of a legacy session, wherever they run.

A call runs in one process; with a shared store its cancellation may arrive at another
instance, which relays it through one log that each instance watches once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from cloudmcp.errors import StoreUnavailable
from cloudmcp.protocol import jsonrpc
from cloudmcp.protocol.closing import Closing
from cloudmcp.state.counters import StateCounters
from cloudmcp.state.keys import Keys
from cloudmcp.state.store import Store

#: Relayed cancellations matter only while a call runs; the watcher wakes this often.
CANCELLATION_TTL = 60.0
CANCELLATION_POLL = 30.0

Running = tuple[str, Any]


class Cancellations:
    def __init__(
        self,
        store: Store,
        keys: Keys,
        closing: Closing,
        counters: StateCounters,
        *,
        cap: int,
    ) -> None:
        self.store = store
        self.log = keys.cancellations
        self.closing = closing
        self.counters = counters
        self.cap = cap
        # Calls running in this process, by (session, request id).
        self.running: dict[Running, asyncio.Task[Any]] = {}
        self.cancelled: set[Running] = set()
        self.relay = store.backend != "memory"
        self._watching = False
        self._watcher: asyncio.Task[None] | None = None

    async def track(self, key: Running, task: asyncio.Task[Any] | None) -> None:
        """Note a call starting; the first one starts watching relayed cancellations."""
        if self.relay and not self._watching:
            await self._start_watching()
        if task is not None:
            self.running[key] = task

    def done(self, key: Running) -> None:
        self.running.pop(key, None)

    def consume(self, key: Running) -> bool:
        """Whether the call was cancelled by its client (once)."""
        if key not in self.cancelled:
            return False
        self.cancelled.discard(key)
        return True

    async def cancel(self, key: Running) -> None:
        """A client's `notifications/cancelled`: here, or relayed to whoever runs it."""
        if not self._cancel(key) and self.relay:
            self.counters.cancellations_relayed += 1
            await self.store.append(
                self.log, jsonrpc.encode(list(key)), ttl=CANCELLATION_TTL, cap=self.cap
            )

    def _cancel(self, key: Running) -> bool:
        """Cancel a call running in this process; False when it runs elsewhere or ended."""
        try:
            task = self.running.get(key)
        except TypeError:  # an id no call could have: a list or an object
            return False
        if task is None:
            return False
        self.cancelled.add(key)
        task.cancel()
        return True

    async def _start_watching(self) -> None:
        # The position is taken before the first call runs, so no cancellation sent
        # while it runs can slip past; later calls pay nothing.
        self._watching = True
        try:
            position = await self.store.tail(self.log)
        except BaseException:
            self._watching = False
            raise
        self._watcher = asyncio.create_task(self._watch(position))

    async def _watch(self, position: str) -> None:
        """Cancel calls of this process that another instance was asked to cancel."""
        while not self.closing.closing:
            try:
                events = await self.store.read({self.log: position}, timeout=CANCELLATION_POLL)
            except StoreUnavailable:
                await asyncio.sleep(1.0)  # Redis is away; nothing to relay until it returns
                continue
            for event in events:
                position = event.id
                session_id, request_id = jsonrpc.decode(event.data)
                if self._cancel((session_id, request_id)):
                    self.counters.cancellations_relayed += 1

    async def close(self) -> None:
        self._watching = False
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
