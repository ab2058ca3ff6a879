"""The `Store`: every piece of protocol state that must outlive one process.

The engine keeps nothing about a session in its own objects. It reads and writes
three kinds of thing through this interface, each of which maps onto one Redis
data type, so any instance can serve any request:

- values with a TTL (session records, cached tool results, task records), which
  `swap` changes only if nobody else changed them first;
- sets with a TTL (resource subscribers);
- append-only event logs with a cap and a TTL (SSE streams for resumption, replies
  to server-to-client requests, change notifications). A reader blocks until an
  event newer than the id it has seen arrives, which is what carries a message from
  the instance that receives it to the instance that waits for it.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import NamedTuple


class Event(NamedTuple):
    log: str
    id: str
    data: bytes


class Store(ABC):
    """Shared state: values, sets and event logs, each with a TTL in seconds."""

    #: "memory" or "redis", as health checks and metrics report it.
    backend: str

    @abstractmethod
    async def get(self, key: str, *, touch: float | None = None) -> bytes | None:
        """The value at `key`; with `touch`, also extend its TTL to that many seconds."""

    @abstractmethod
    async def set(self, key: str, value: bytes, ttl: float, *, only_new: bool = False) -> bool:
        """Store `value`; with `only_new`, only if `key` is absent. True when written."""

    @abstractmethod
    async def delete(self, *keys: str) -> int:
        """Remove keys of any kind; the number that existed."""

    @abstractmethod
    async def add_member(self, key: str, member: str, ttl: float) -> None: ...

    @abstractmethod
    async def remove_member(self, key: str, member: str) -> None: ...

    @abstractmethod
    async def members(self, key: str) -> builtins.set[str]: ...

    @abstractmethod
    async def append(self, log: str, data: bytes, *, ttl: float, cap: int) -> str:
        """Append an event to `log`, keeping at most `cap` newest; its id, ordered in the log."""

    @abstractmethod
    async def read(self, after: Mapping[str, str], *, timeout: float) -> list[Event]:
        """Events newer than the given id in each log (`"0"`: from the start; `"$"`: only
        events appended from now on), waiting up to `timeout` seconds when there are none."""

    @abstractmethod
    async def tail(self, log: str) -> str:
        """The id of the newest event in `log` (`"0"` when empty): read after it to get
        only what comes next, without missing an event appended in between."""

    @abstractmethod
    async def swap(self, key: str, old: bytes, new: bytes, ttl: float) -> bool:
        """Replace the value at `key` with `new` only if it is still `old` (compare and
        set), atomically across instances. True when written."""

    @abstractmethod
    async def hit(self, key: str, *, window: float, limit: int) -> float:
        """Count one hit in a sliding window. 0 when within `limit`, else seconds to wait."""

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:  # noqa: B027 - optional for backends
        """Release connections."""
