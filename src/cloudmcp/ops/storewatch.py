"""Store figures without touching any backend: a proxy that times each operation and
counts the ones that failed, for whichever sinks record them. (Cache hits and rate
limits are counted by the engine itself, in `engine.counters`.)

A proxy rather than a `Store` subclass so that operations a backend adds later still
pass straight through instead of breaking the wrapper.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol, TypeVar

from cloudmcp.errors import StoreUnavailable
from cloudmcp.state.store import Event, Store

T = TypeVar("T")


class StoreRecorder(Protocol):
    def store_operation(self, backend: str, operation: str, seconds: float) -> None: ...

    def store_failure(self, backend: str, operation: str) -> None: ...


class WatchedStore:
    """Forwards to `store`; `timed` is off for in-process backends, whose operations
    take less time than timing them would."""

    def __init__(self, store: Store, recorders: list[StoreRecorder], *, timed: bool) -> None:
        self._store = store
        self._recorders = recorders
        self._timed = timed
        self.backend = store.backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def _run(self, operation: str, call: Awaitable[T], *, timed: bool = True) -> T:
        started = time.perf_counter()
        try:
            result = await call
        except StoreUnavailable:
            for recorder in self._recorders:
                recorder.store_failure(self.backend, operation)
            raise
        if timed and self._timed:
            seconds = time.perf_counter() - started
            for recorder in self._recorders:
                recorder.store_operation(self.backend, operation, seconds)
        return result

    async def get(self, key: str, *, touch: float | None = None) -> bytes | None:
        return await self._run("get", self._store.get(key, touch=touch))

    async def set(self, key: str, value: bytes, ttl: float, *, only_new: bool = False) -> bool:
        return await self._run("set", self._store.set(key, value, ttl, only_new=only_new))

    async def delete(self, *keys: str) -> int:
        return await self._run("delete", self._store.delete(*keys))

    async def add_member(self, key: str, member: str, ttl: float) -> None:
        await self._run("add_member", self._store.add_member(key, member, ttl))

    async def remove_member(self, key: str, member: str) -> None:
        await self._run("remove_member", self._store.remove_member(key, member))

    async def members(self, key: str) -> builtins.set[str]:
        return await self._run("members", self._store.members(key))

    async def append(self, log: str, data: bytes, *, ttl: float, cap: int) -> str:
        return await self._run("append", self._store.append(log, data, ttl=ttl, cap=cap))

    async def read(self, after: Mapping[str, str], *, timeout: float) -> list[Event]:
        # Blocking reads wait for events by design: their time says nothing about Redis.
        call = self._store.read(after, timeout=timeout)
        return await self._run("read", call, timed=timeout <= 0)

    async def tail(self, log: str) -> str:
        return await self._run("tail", self._store.tail(log))

    async def hit(self, key: str, *, window: float, limit: int) -> float:
        return await self._run("hit", self._store.hit(key, window=window, limit=limit))

    async def ping(self) -> bool:
        ok = await self._run("ping", self._store.ping())
        if not ok:
            for recorder in self._recorders:
                recorder.store_failure(self.backend, "ping")
        return ok

    async def close(self) -> None:
        await self._store.close()
