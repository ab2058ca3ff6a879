"""The running event loop and task, without a system call each time.

On Python 3.11, `asyncio.get_running_loop()`, and `asyncio.current_task()` which calls
it, ask the kernel for the process id on every call (to notice a fork). Per request
that syscall costs more than most of the bookkeeping around it, so the loop is
remembered per thread: only one loop runs in a thread at a time, so the loop last
found on this thread, if it still runs, is the running one. A forked child forgets it.
Python 3.12 keeps the running loop in the thread state; there the asyncio functions
are used as they are.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import Any

__all__ = ["current_task", "running_loop"]

if sys.version_info >= (3, 12):
    running_loop = asyncio.get_running_loop
    current_task = asyncio.current_task
else:

    class _Remembered(threading.local):
        loop: asyncio.AbstractEventLoop | None = None

    _remembered = _Remembered()

    def _forget() -> None:
        _remembered.loop = None

    os.register_at_fork(after_in_child=_forget)

    def running_loop() -> asyncio.AbstractEventLoop:
        """The running loop; `RuntimeError` when there is none, like asyncio's."""
        loop = _remembered.loop
        if loop is None or not loop.is_running():
            loop = _remembered.loop = asyncio.get_running_loop()
        return loop

    def current_task(loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Task[Any] | None:
        """The task running now, or None outside one."""
        return asyncio.current_task(loop or running_loop())
