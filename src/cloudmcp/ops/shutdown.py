"""Graceful shutdown on SIGTERM.

Cloud Run sends SIGTERM and kills the instance 10 s later. uvicorn, on SIGTERM, stops
listening and waits (`GRACEFUL_TIMEOUT`) for open connections to finish. Calls in
flight finish on their own, but a legacy GET stream or a `subscriptions/listen`
stream never would: they would hold shutdown for the whole grace and then be cut.
So the moment SIGTERM arrives the engine starts closing, which ends those streams at
once, with a `retry` hint, and legacy clients reconnect to another instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any] | int | None


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def sigterm_starts_closing(begin_closing: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGTERM first calls `begin_closing` on the running loop, then
    whatever handler was there (uvicorn's, which starts its own shutdown)."""
    if not _main_thread():  # signals reach the main thread only (e.g. a test client)
        yield
        return
    loop = asyncio.get_running_loop()
    previous: Handler = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        # A signal handler interrupts whatever the loop was doing: only schedule.
        loop.call_soon_threadsafe(begin_closing)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)


def _exit_zero(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def exit_cleanly_on_sigterm() -> None:
    """Make a SIGTERM that reaches the default handler end the process with status 0.

    uvicorn, after its graceful shutdown, restores the handler it found and raises the
    signal again; with the default handler the process then dies *by* SIGTERM (status
    143), which platforms report as a crash though every request finished. Raising
    SystemExit instead still ends a process that nothing else handled SIGTERM for, but
    runs `finally` blocks and atexit hooks, and exits 0.
    """
    if _main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_zero)
