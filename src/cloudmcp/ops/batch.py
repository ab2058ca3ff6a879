"""Work gathered per request and done in one go: after a few milliseconds, or once
enough has gathered, or when asked (before a scrape, at the end of a Lambda
invocation, at exit).

Log lines formatted one at a time, squeezed between the engine's work, measured
slower than a batch of them formatted in a row, and a batch leaves in one write
instead of one per line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from threading import get_ident
from typing import Generic, TypeVar

from cloudmcp.eventloop import running_loop

T = TypeVar("T")

#: Items wait at most this long, or until this many are pending, before one go. A
#: timer and a write cost the same however many lines they carry: at moderate load a
#: batch is as large as the wait allows.
WAIT = 0.05
SIZE = 256


class Batch(Generic[T]):
    """Items added on an event loop's thread wait there for one go; an item added on a
    thread without a loop (a tool run in a worker thread) is handled at once."""

    def __init__(self, handle: Callable[[list[T]], None]) -> None:
        self._handle = handle
        self._pending: list[T] = []
        self._timer: asyncio.TimerHandle | None = None
        #: The loop the timer runs on, and its thread.
        self._owner: asyncio.AbstractEventLoop | None = None
        self._thread = 0

    def add(self, item: T) -> None:
        owner = self._owner
        if owner is None or get_ident() != self._thread or not owner.is_running():
            try:
                loop = running_loop()
            except RuntimeError:
                self._handle([item])
                return
            if owner is None or not owner.is_running():
                # No timer yet, or one on a loop that stopped and may never fire it.
                self._timer = loop.call_later(WAIT, self.flush)
                self._owner, self._thread = loop, get_ident()
        self._pending.append(item)
        if len(self._pending) >= SIZE:
            self.flush()

    def flush(self) -> None:
        """Handle what is pending now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._owner = None
        if self._pending:
            items, self._pending = self._pending, []
            self._handle(items)
