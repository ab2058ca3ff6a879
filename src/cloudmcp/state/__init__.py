"""Shared state behind one `Store` interface: in-process memory, or Redis."""

from __future__ import annotations

from cloudmcp.errors import StoreUnavailable
from cloudmcp.settings import Settings
from cloudmcp.state.store import Event, Store

__all__ = ["Event", "Store", "StoreUnavailable", "open_store"]


def open_store(settings: Settings) -> Store:
    """Redis when `REDIS_URL` is set, else memory."""
    if settings.redis_url:
        from cloudmcp.state.redis import RedisStore

        return RedisStore(settings.redis_url, max_connections=settings.redis_max_connections)
    from cloudmcp.state.memory import MemoryStore

    return MemoryStore()
