"""The load generator: `wrk` with bench/wrk/mcp.lua, pinned to the core the servers don't use."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from typing import Any

import memory
import venvs
import wire
from contenders import LOAD_CORE

SCRIPT = venvs.BENCH / "wrk" / "mcp.lua"
CONNECTIONS = 32
THREADS = 1
WRK_NICE = -10


def ensure_wrk() -> None:
    """Install Debian's wrk when it is missing and we may (root)."""
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: apt-get install wrk (as root)")
    print("  installing wrk (apt-get)", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(["apt-get", "update"], check=True, **quiet)  # type: ignore[call-overload]
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, **quiet)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Run:
    """One wrk run: throughput, latency (ms) and every kind of failure it counted."""

    rps: float
    requests: int
    p50: float
    p90: float
    p99: float
    p999: float
    max: float
    non2xx: int
    socket_errors: int
    wrong: int  # bounded runs only: a 2xx whose body lacks the echo text
    cpu_us: float = 0.0  # server CPU time per request, microseconds
    other_cores: float = 0.0  # cores busy with processes other than server and wrk, on average
    wrk_cores: float = 0.0  # the load generator's own CPU use: near 1.0, it would be the limit

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors + self.wrong

    @classmethod
    def parse(cls, out: str) -> Run:
        data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        ms = 1000.0
        return cls(
            rps=round(data["requests"] / (data["duration_us"] / 1e6), 1),
            requests=data["requests"],
            p50=data["p50"] / ms,
            p90=data["p90"] / ms,
            p99=data["p99"] / ms,
            p999=data["p999"] / ms,
            max=data["lat_max"] / ms,
            non2xx=data["status"],
            socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
            wrong=data["wrong"],
        )


def _env(wire_name: str, sessions: list[str]) -> dict[str, str]:
    request = wire.echo_request(wire_name)
    headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
    return os.environ | {
        "BENCH_BODY": request.body,
        "BENCH_HEADERS": headers,
        "BENCH_SESSIONS": ",".join(sessions),
    }


def _command(port: int, path: str, seconds: float) -> list[str]:
    # As root, wrk runs at a higher priority than the machine's other work (it needs a
    # third of a core at most): a fast server idles whenever its load generator waits
    # for a CPU, a slow one does not, so a starved wrk would bias the ratios.
    priority = ["nice", "-n", str(WRK_NICE)] if os.geteuid() == 0 else []
    return [
        *priority, "taskset", "-c", LOAD_CORE, "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}",
        f"-d{seconds:.0f}s", "--timeout", "5s", "-s", str(SCRIPT), f"http://127.0.0.1:{port}{path}",
    ]  # fmt: skip


def sessions_for(port: int, path: str, wire_name: str) -> list[str]:
    """One legacy session per wrk thread on the `session` wire, none otherwise."""
    if wire_name != "session":
        return []
    return [wire.open_session(port, path) for _ in range(THREADS)]


def timed(port: int, path: str, wire_name: str, seconds: float, pid: int) -> Run:
    """Load the server `pid` for `seconds`; the figures of a throughput run."""
    env = _env(wire_name, sessions_for(port, path, wire_name))
    before = memory.cpu_seconds(pid), memory.children_cpu_seconds(), memory.machine_busy_seconds()
    started = time.monotonic()
    done = subprocess.run(
        _command(port, path, seconds), env=env, capture_output=True, text=True, check=True
    )
    wall = time.monotonic() - started
    server = memory.cpu_seconds(pid) - before[0]
    generator = memory.children_cpu_seconds() - before[1]
    other = memory.machine_busy_seconds() - before[2] - server - generator
    run = Run.parse(done.stdout)
    return replace(
        run,
        cpu_us=round(server / max(run.requests, 1) * 1e6, 1),
        other_cores=round(max(other, 0.0) / wall, 2),
        wrk_cores=round(generator / wall, 2),
    )


def bounded(port: int, path: str, wire_name: str, count: int, limit_s: float = 300) -> Run:
    """Send `count` requests (or stop at `limit_s`), checking every response body."""
    env = _env(wire_name, sessions_for(port, path, wire_name))
    env |= {"BENCH_LIMIT": str(count // THREADS), "BENCH_EXPECT": f'"{wire.ECHO_TEXT}"'}
    with subprocess.Popen(
        _command(port, path, limit_s), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    ) as proc:  # fmt: skip
        assert proc.stderr is not None
        finished = 0
        for line in proc.stderr:
            finished += line.startswith("bench: thread done")
            if finished == THREADS:
                proc.send_signal(signal.SIGINT)  # wrk then prints its summary and exits
                break
        out, _ = proc.communicate(timeout=60)
    return Run.parse(out)
