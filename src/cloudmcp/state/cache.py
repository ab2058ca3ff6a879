"""The tool result cache: opt-in per tool, shared by every instance through the store.

An entry is keyed by the tool, its arguments in canonical form and the caller, so one
principal never sees a result computed for another. The store being unreachable is
never an error here: the tool simply runs, and `cache_errors` counts it.
"""

from __future__ import annotations

from collections.abc import Callable

from cloudmcp.errors import StoreUnavailable
from cloudmcp.state.counters import StateCounters
from cloudmcp.state.store import Store


class ToolCache:
    def __init__(
        self,
        store: Store,
        key: Callable[[str, str], str],
        counters: StateCounters,
        *,
        default_ttl: float = 300.0,
    ) -> None:
        self.store = store
        self._key = key
        self.counters = counters
        #: The TTL of tools that opt in with `cache_ttl=True` (`CACHE_TTL`).
        self.default_ttl = default_ttl

    def key(self, tool: str, identity: bytes) -> str:
        """The store key for `tool` called with `identity` (canonical arguments and caller)."""
        import hashlib  # only apps with cached tools get here

        return self._key(tool, hashlib.sha256(identity).hexdigest())

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self.store.get(key)
        except StoreUnavailable:
            self.counters.cache_errors += 1
            return None
        if value is None:
            self.counters.cache_misses += 1
        else:
            self.counters.cache_hits += 1
        return value

    async def put(self, key: str, value: bytes, ttl: float | bool) -> None:
        seconds = self.default_ttl if ttl is True else float(ttl)
        try:
            await self.store.set(key, value, seconds)
        except StoreUnavailable:
            self.counters.cache_errors += 1
