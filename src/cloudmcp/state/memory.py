"""The in-process `Store`: the default for `cloudmcp serve` on one machine."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections import deque
from collections.abc import Callable, Mapping

import msgspec

from cloudmcp.eventloop import running_loop
from cloudmcp.state.store import Event, Store

# Expired entries are dropped when touched, and all of them once every this many writes,
# so nothing grows without bound even when keys are never read again.
SWEEP_EVERY = 1024


class _Log(msgspec.Struct):
    events: deque[tuple[int, bytes]]
    expires: float
    seq: int = 0
    waiters: set[asyncio.Future[None]] = msgspec.field(default_factory=set)


class MemoryStore(Store):
    backend = "memory"

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[bytes, float]] = {}
        self._sets: dict[str, tuple[builtins.set[str], float]] = {}
        self._logs: dict[str, _Log] = {}
        self._hits: dict[str, deque[float]] = {}
        self._writes = 0

    # values

    async def get(self, key: str, *, touch: float | None = None) -> bytes | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        now = self._clock()
        if expires <= now:
            del self._values[key]
            return None
        if touch is not None:
            self._values[key] = (value, now + touch)
        return value

    async def set(self, key: str, value: bytes, ttl: float, *, only_new: bool = False) -> bool:
        self._wrote()
        if only_new and await self.get(key) is not None:
            return False
        self._values[key] = (value, self._clock() + ttl)
        return True

    async def swap(self, key: str, old: bytes, new: bytes, ttl: float) -> bool:
        if await self.get(key) != old:
            return False
        self._wrote()
        self._values[key] = (new, self._clock() + ttl)
        return True

    async def delete(self, *keys: str) -> int:
        count = 0
        for key in keys:
            found = [
                self._values.pop(key, None),
                self._sets.pop(key, None),
                self._logs.pop(key, None),
            ]
            count += any(entry is not None for entry in found)
        return count

    # sets

    async def add_member(self, key: str, member: str, ttl: float) -> None:
        self._wrote()
        members = self._live_set(key)
        members.add(member)
        self._sets[key] = (members, self._clock() + ttl)

    async def remove_member(self, key: str, member: str) -> None:
        self._live_set(key).discard(member)

    async def members(self, key: str) -> builtins.set[str]:
        return set(self._live_set(key))

    def _live_set(self, key: str) -> builtins.set[str]:
        entry = self._sets.get(key)
        if entry is None or entry[1] <= self._clock():
            self._sets.pop(key, None)
            return set()
        return entry[0]

    # event logs

    async def append(self, log: str, data: bytes, *, ttl: float, cap: int) -> str:
        self._wrote()
        now = self._clock()
        entry = self._logs.get(log)
        if entry is None or entry.expires <= now:
            # Positions keep counting across expiry, so a reader never skips new events.
            seq = entry.seq if entry is not None else 0
            entry = self._logs[log] = _Log(deque(maxlen=cap), now + ttl, seq)
        entry.seq += 1
        entry.events.append((entry.seq, data))
        entry.expires = now + ttl
        for waiter in entry.waiters:
            if not waiter.done():
                waiter.set_result(None)
        entry.waiters.clear()
        return str(entry.seq)

    async def read(self, after: Mapping[str, str], *, timeout: float) -> list[Event]:
        positions = {log: self._position(log, last) for log, last in after.items()}
        events = self._collect(positions)
        if events or timeout <= 0:
            return events
        waiter: asyncio.Future[None] = running_loop().create_future()
        logs = []
        for log in positions:
            entry = self._logs.get(log)
            if entry is None:
                # A reader may wait on a log before its first event: create it empty.
                entry = self._logs[log] = _Log(deque(maxlen=1024), self._clock() + 3600)
            entry.waiters.add(waiter)
            logs.append((log, entry))
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            for log, entry in logs:
                entry.waiters.discard(waiter)
                # A log only ever waited on (an unknown resume token, say) leaves with its
                # last reader: memory stays bounded by what was written.
                if not entry.seq and not entry.waiters and self._logs.get(log) is entry:
                    del self._logs[log]
        return self._collect(positions)

    async def tail(self, log: str) -> str:
        entry = self._logs.get(log)
        return str(entry.seq) if entry is not None and entry.expires > self._clock() else "0"

    def _position(self, log: str, last: str) -> int:
        if last == "$":
            entry = self._logs.get(log)
            return entry.seq if entry is not None else 0
        try:
            return int(last)
        except ValueError:
            return 0

    def _collect(self, positions: Mapping[str, int]) -> list[Event]:
        now = self._clock()
        events: list[Event] = []
        for log, position in positions.items():
            entry = self._logs.get(log)
            if entry is None or entry.expires <= now:
                continue
            events.extend(
                Event(log, str(seq), data) for seq, data in entry.events if seq > position
            )
        return events

    # rate limits

    async def hit(self, key: str, *, window: float, limit: int) -> float:
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return hits[0] + window - now
        hits.append(now)
        return 0.0

    # housekeeping

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0:
            self._sweep()

    def _sweep(self) -> None:
        now = self._clock()
        for key in [k for k, (_, exp) in self._values.items() if exp <= now]:
            del self._values[key]
        for key in [k for k, (_, exp) in self._sets.items() if exp <= now]:
            del self._sets[key]
        for key in [k for k, e in self._logs.items() if e.expires <= now and not e.waiters]:
            del self._logs[key]
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - 3600]:
            del self._hits[key]
