"""Rate limits: sliding windows counted in the shared store, so a limit holds across
every instance.

When the store is unreachable, each process counts on its own (the limit then holds
per instance, not per deployment) rather than refusing or waving through everything;
`fallback` says so for health checks, and `rate_limit_fallbacks` counts such hits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

import msgspec

from cloudmcp.errors import StoreUnavailable
from cloudmcp.state.counters import StateCounters
from cloudmcp.state.memory import MemoryStore
from cloudmcp.state.store import Store

_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")


class Limit(msgspec.Struct, frozen=True):
    """At most `count` requests in any `window` seconds."""

    count: int
    window: float

    @classmethod
    def parse(cls, text: str) -> Limit:
        """From `"count/seconds"`, as in `RATE_LIMIT=100/60`."""
        found = _LIMIT.match(text)
        if not found or int(found[1]) < 1 or float(found[2]) <= 0:
            raise ValueError(f"rate limit {text!r} is not of the form count/seconds, e.g. 100/60")
        return cls(int(found[1]), float(found[2]))

    def __str__(self) -> str:
        return f"{self.count}/{self.window:g}s"


class Exceeded(msgspec.Struct, frozen=True):
    """A refused request: which limit, on what, and how long until it would pass."""

    limit: Limit
    scope: str
    retry_after: float

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


class RateLimiter:
    def __init__(
        self,
        store: Store,
        key: Callable[[str], str],
        counters: StateCounters,
        *,
        per_principal: Limit | None = None,
        per_tool: Mapping[str, Limit] | None = None,
    ) -> None:
        self.store = store
        self._key = key
        self.counters = counters
        self.per_principal = per_principal
        self.per_tool = dict(per_tool or {})
        #: Whether any limit is configured: when not, requests skip the limiter entirely.
        self.active = per_principal is not None or bool(self.per_tool)
        #: True while hits are counted per process because the store is unreachable.
        self.fallback = False
        self._local = MemoryStore()

    async def check(
        self, principal: str, tool: str | None = None, tool_limit: Limit | None = None
    ) -> Exceeded | None:
        """Count one request of `principal` (a call of `tool`, limited to `tool_limit` or
        what `per_tool` says); what refuses it, if anything."""
        if self.per_principal is not None:
            exceeded = await self._hit(f"principal:{principal}", self.per_principal, "principal")
            if exceeded is not None:
                return exceeded
        if tool_limit is None and tool is not None:
            tool_limit = self.per_tool.get(tool)
        if tool_limit is not None and tool is not None:
            return await self._hit(f"tool:{tool}:{principal}", tool_limit, f"tool {tool}")
        return None

    async def _hit(self, name: str, limit: Limit, scope: str) -> Exceeded | None:
        key = self._key(name)
        try:
            wait = await self.store.hit(key, window=limit.window, limit=limit.count)
            self.fallback = False
        except StoreUnavailable:
            self.fallback = True
            self.counters.rate_limit_fallbacks += 1
            wait = await self._local.hit(key, window=limit.window, limit=limit.count)
        if wait <= 0:
            return None
        self.counters.rate_limited += 1
        return Exceeded(limit, scope, wait)

    @property
    def mode(self) -> str:
        """How limits are counted now, for health checks."""
        if not self.active:
            return "off"
        if self.store.backend == "memory":
            return "per-process"
        return "per-process fallback (store unreachable)" if self.fallback else "shared"
