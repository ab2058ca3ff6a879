"""Shutdown as long-lived streams see it: once closing begins (SIGTERM), every blocked
read of the store returns at once, so streams end with a `retry` hint and their clients
reconnect to another instance, while calls in flight carry on."""

from __future__ import annotations

import asyncio

from cloudmcp.state.store import Event, Store


class Closing:
    def __init__(self, store: Store) -> None:
        self.store = store
        #: Set on shutdown: long-lived streams end.
        self.closing = False
        self._event: asyncio.Event | None = None

    def begin(self) -> None:
        self.closing = True
        if self._event is not None:
            self._event.set()

    async def read(self, logs: dict[str, str], *, timeout: float) -> list[Event]:
        """`store.read` for long-lived streams: returns at once, empty, when closing
        begins, rather than after up to a keep-alive interval of blocking."""
        if self.closing:
            return []
        if self._event is None:
            self._event = asyncio.Event()
        reader = asyncio.ensure_future(self.store.read(logs, timeout=timeout))
        closing = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait((reader, closing), return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
            if not reader.done():
                reader.cancel()
        return reader.result() if reader.done() and not reader.cancelled() else []
