"""How long this process has run: from its start as the system saw it, not from when some
module happened to be imported (a first `/health` request, a first tool call)."""

from __future__ import annotations

import os
import time


def _started() -> float:
    """The `time.monotonic()` reading at which this process started."""
    try:
        # Field 22 of /proc/self/stat: clock ticks after boot at which the process started.
        # The command name (field 2) may hold spaces and parentheses: count from its end.
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - since_boot
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic()  # not Linux: from the first look, the best there is
    return time.monotonic() - max(0.0, age)


STARTED = _started()


def uptime() -> float:
    """Seconds since this process started."""
    return time.monotonic() - STARTED
