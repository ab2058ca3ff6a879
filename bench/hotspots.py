"""Where the time goes, for the note on a missed target.

    python3 bench/run.py --profile cloudmcp/2026     # a server under load, with py-spy
    python3 bench/run.py --profile lambda/cloudmcp   # a cold start's imports

The first writes bench/results/profile-cloudmcp-2026.txt (self and inclusive time per
function; the raw collapsed stacks beside it, for a flame graph tool); the second
bench/results/imports-cloudmcp.txt (`python -X importtime`, slowest imports first).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from pathlib import Path

import coldstart
import load
import venvs
from contenders import LOAD_CORE, Server

TOP = 30


def _function(frame: str) -> str:
    """`name (path:line)` -> `name (file)`, so lines of one function add up."""
    match = re.match(r"^(.*) \((.*?)(?::\d+)?\)$", frame)
    if not match:
        return frame
    name, path = match.groups()
    parts = Path(path).parts
    short = "/".join(
        parts[parts.index("site-packages") + 1 :] if "site-packages" in parts else parts[-2:]
    )
    return f"{name} ({short})"


def summarize(raw: Path) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_function(f) for f in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    lines = [f"{total} samples while under load", "", "self time:"]
    lines += [f"{100 * n / total:6.1f}%  {f}" for f, n in own.most_common(TOP)]
    lines += ["", "inclusive time:"]
    lines += [f"{100 * n / total:6.1f}%  {f}" for f, n in inclusive.most_common(TOP)]
    return "\n".join(lines) + "\n"


def profile(server: Server, wire_name: str, seconds: float, out_dir: Path) -> Path:
    """Sample `server` for `seconds` of load on `wire_name`; return the summary file."""
    stem = f"profile-{server.contender.name}-{wire_name}"
    raw = out_dir / f"{stem}.collapsed"
    spy = venvs.VENVS / "tools" / "bin" / "py-spy"
    record = subprocess.Popen(
        ["taskset", "-c", LOAD_CORE, str(spy), "record", "--pid", str(server.pid),
         "--duration", f"{seconds:.0f}", "--rate", "250", "--nonblocking", "--format", "raw",
         "--output", str(raw)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    load.timed(server.port, server.contender.path, wire_name, seconds + 1, server.pid)
    _, err = record.communicate(timeout=60)
    if not raw.exists():
        raise RuntimeError(f"py-spy wrote nothing: {err.strip()[-300:]}")
    summary = out_dir / f"{stem}.txt"
    summary.write_text(summarize(raw))
    return summary


def imports(handler: coldstart.Handler, work: Path, out_dir: Path) -> Path:
    """One cold start of `handler` under `-X importtime`; the slowest imports, summarized."""
    event = coldstart.event_file(work)
    env = os.environ | {"PYTHONDONTWRITEBYTECODE": "1", **handler.env}
    done = subprocess.run(
        [str(venvs.python(handler.venv)), "-X", "importtime", str(coldstart.RUNTIME),
         handler.target, str(event)],
        env=env, cwd=work, capture_output=True, text=True, check=False,
    )  # fmt: skip
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if match:
            own, total, indent, name = match.groups()
            rows.append((int(own), int(total), len(indent) // 2, name))
    whole = sum(own for own, *_ in rows)
    lines = [f"{whole / 1000:.1f} ms of imports in all; exit {done.returncode}", ""]
    lines.append("top-level imports, cumulative ms:")
    for _, total, _, name in sorted((r for r in rows if r[2] == 0), key=lambda r: -r[1])[:TOP]:
        lines.append(f"{total / 1000:8.1f}  {name}")
    lines += ["", "slowest modules, own ms:"]
    for own, _, _, name in sorted(rows, key=lambda r: -r[0])[:TOP]:
        lines.append(f"{own / 1000:8.1f}  {name}")
    summary = out_dir / f"imports-{handler.name}.txt"
    summary.write_text("\n".join(lines) + "\n")
    return summary
