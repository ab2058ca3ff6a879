"""How long this process took from its start to its first answered request."""

from __future__ import annotations

import os
import time

_IMPORTED = time.monotonic()


def process_age() -> float:
    """Seconds since the process started (Linux: from /proc; elsewhere: since this import).

    The process start, not our import, is what a cold start costs a caller: it includes
    the interpreter, the imports and the app's own start-up.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as stat_file:
            stat = stat_file.read()
        with open("/proc/uptime", encoding="ascii") as uptime_file:
            uptime = float(uptime_file.read().split()[0])
        # Fields after the command name (which may hold spaces); starttime is field 22.
        started = int(stat[stat.rindex(")") + 2 :].split()[19]) / os.sysconf("SC_CLK_TCK")
        return max(0.0, uptime - started)
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED
