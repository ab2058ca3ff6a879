"""What a server process uses, read from /proc: resident memory and CPU time.

Both count the process and any children it started (a server may fork workers).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from pathlib import Path


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = task / "children"
        if children.exists():
            found += [int(x) for x in children.read_text().split()]
    return found


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            todo += _children(current)
        except (FileNotFoundError, ProcessLookupError):
            continue
        found.append(current)
    return found


def _total(pid: int, read: Callable[[int], int]) -> int:
    total = 0
    for member in _tree(pid):
        try:
            total += read(member)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def rss_mib(pid: int) -> float:
    """RSS of `pid` and its descendants; 0.0 if it is gone."""
    return round(_total(pid, _rss_kib) / 1024, 1)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time that `pid` and its descendants have used."""
    return _total(pid, _cpu_ticks) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time all processes on the machine have used since boot (all cores, no idle)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of this process's finished children (wrk, for one)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
