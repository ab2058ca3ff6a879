"""Counts of what the state layer did, for metrics and health.

Plain integers on one object per engine (`engine.counters`): a metrics exporter reads
them whenever it scrapes, and incrementing one costs nothing on the request path.
"""

from __future__ import annotations

import msgspec


class StateCounters(msgspec.Struct):
    #: Tool calls answered from the result cache, and those that ran and may be cached.
    cache_hits: int = 0
    cache_misses: int = 0
    #: Cache lookups or writes skipped because the store was unreachable (the tool ran).
    cache_errors: int = 0
    #: Requests refused with HTTP 429.
    rate_limited: int = 0
    #: Rate-limit hits counted by the per-process fallback while the store was unreachable.
    rate_limit_fallbacks: int = 0
    #: Requests answered 503 because the store was unreachable.
    store_unavailable: int = 0
    #: `notifications/cancelled` handed to or received from another instance.
    cancellations_relayed: int = 0

    def snapshot(self) -> dict[str, int]:
        return msgspec.structs.asdict(self)
