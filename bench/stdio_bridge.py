"""The stdio bridge side by side: `tools/call echo` on `@modelcontextprotocol/server-everything`

- `direct`: the child alone, called over its stdin/stdout by a pipelined client
  (the floor: no HTTP, no bridge);
- `bridge`: `cloudmcp serve --stdio` (a pool of STDIO_POOL_SIZE children), on the
  2026-07-28 wire and in a legacy session;
- `supergateway`: supergateway (npm) on the same server, `--stateful` (one child per
  session) and stateless (its default: a child per request).

Servers (and their children) run on core 0, the load (wrk, or the pipelined client) on
core 1, as in bench/run.py. Results: bench/results/stdio-bridge.json and .md.

    python bench/stdio_bridge.py [--seconds 10] [--connections 32] [--pool 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import load
import memory
import venvs
import wire
from contenders import LOAD_CORE, SERVER_CORE, free_port

ROOT = venvs.BENCH.parent
TOOLS = ROOT / ".tools" / "bin"
EVERYTHING = TOOLS / "mcp-server-everything"
SUPERGATEWAY = TOOLS / "supergateway"
CLOUDMCP = ROOT / ".venv" / "bin" / "cloudmcp"
RESULTS = venvs.BENCH / "results"
MESSAGE = "bench-echo-payload"
ECHO = {"name": "echo", "arguments": {"message": MESSAGE}}
#: Connections for supergateway's stateless mode, which starts a child for every request.
STATELESS_CONNECTIONS = 4


def cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and its living descendants, and of the children it has reaped:
    a server that starts a child per request is charged for those children too."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return memory.cpu_seconds(pid) + reaped


# the child alone


async def _direct(seconds: float, concurrency: int) -> dict[str, Any]:
    """Keep `concurrency` echo calls in flight on one child for `seconds`."""
    process = await asyncio.create_subprocess_exec(
        "taskset", "-c", SERVER_CORE, str(EVERYTHING),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, limit=1 << 24,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout
    waiting: dict[int, tuple[float, asyncio.Future[bytes]]] = {}

    async def read() -> None:
        while line := await stdout.readline():
            message = json.loads(line)
            entry = waiting.pop(message.get("id"), None) if "method" not in message else None
            if entry is not None:
                entry[1].set_result(line)

    reader = asyncio.ensure_future(read())
    ids = iter(range(1, 1 << 62))

    async def call(method: str, params: dict[str, Any]) -> bytes:
        request_id = next(ids)
        done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        waiting[request_id] = (time.perf_counter(), done)
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        stdin.write(json.dumps(message).encode() + b"\n")
        await stdin.drain()
        return await done

    init = {
        "protocolVersion": wire.LEGACY,
        "capabilities": {},
        "clientInfo": wire.CLIENT_INFO,
    }
    await call("initialize", init)
    stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    latencies: list[float] = []
    wrong = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal wrong
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            answer = await call("tools/call", ECHO)
            latencies.append(time.perf_counter() - started)
            wrong += MESSAGE.encode() not in answer

    for _ in range(50):  # warm-up
        await call("tools/call", ECHO)
    began, cpu = time.perf_counter(), cpu_seconds(process.pid)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - began, cpu_seconds(process.pid) - cpu
    reader.cancel()
    process.kill()
    await process.wait()
    latencies.sort()
    return _figures(len(latencies) / wall, latencies, wrong) | {
        "cpu_us": round(cpu / max(len(latencies), 1) * 1e6, 1)
    }


def _figures(rps: float, seconds: list[float], wrong: int) -> dict[str, Any]:
    ms = [s * 1000 for s in seconds]

    def percentile(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 3)

    return {
        "rps": round(rps, 1),
        "requests": len(ms),
        "p50": percentile(0.50),
        "p99": percentile(0.99),
        "mean": round(statistics.fmean(ms), 3),
        "errors": wrong,
    }


# over HTTP, with wrk


def _server(
    command: list[str], env: dict[str, str], port: int, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, *command],
            env=os.environ | env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command[0]} exited: see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{command[0]} did not listen: see {log}")


def _wrk(port: int, wire_name: str, seconds: float, connections: int, pid: int) -> dict[str, Any]:
    request = wire.tools_call(wire_name, "echo", ECHO["arguments"])  # type: ignore[arg-type]
    sessions = [wire.open_session(port, "/mcp")] if wire_name == "session" else []
    headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
    env = os.environ | {
        "BENCH_BODY": request.body,
        "BENCH_HEADERS": headers,
        "BENCH_SESSIONS": ",".join(sessions),
    }
    command = [
        "taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s",
        "--timeout", "10s", "-s", str(load.SCRIPT), f"http://127.0.0.1:{port}/mcp",
    ]  # fmt: skip
    # Warm-up, then the measured run.
    subprocess.run([*command[:5], "-d2s", *command[6:]], env=env, capture_output=True, check=True)
    cpu = cpu_seconds(pid)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    cpu = cpu_seconds(pid) - cpu
    run = load.Run.parse(done.stdout)
    return {
        "rps": run.rps,
        "requests": run.requests,
        "p50": run.p50,
        "p99": run.p99,
        "errors": run.errors,
        # The server's and its children's CPU per call: less moved by other load than req/s.
        "cpu_us": round(cpu / max(run.requests, 1) * 1e6, 1),
    }


def _check_echo(port: int, wire_name: str) -> None:
    session = wire.open_session(port, "/mcp") if wire_name == "session" else ""
    request = wire.tools_call(wire_name, "echo", ECHO["arguments"])  # type: ignore[arg-type]
    got = wire.call_text(port, "/mcp", request, session)
    if MESSAGE not in got:
        raise wire.WireError(f"echo answered {got!r}")


def _bridge(port: int) -> list[str]:
    return [str(CLOUDMCP), "serve", "--port", str(port), "--log-level", "warning",
            "--stdio", "--", str(EVERYTHING)]  # fmt: skip


def _gateway(port: int, stateful: bool) -> list[str]:
    flags = ["--stateful"] if stateful else []
    return [str(SUPERGATEWAY), "--stdio", str(EVERYTHING), "--outputTransport",
            "streamableHttp", "--port", str(port), "--logLevel", "none", *flags]  # fmt: skip


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pool", type=int, default=4)
    args = parser.parse_args()
    load.ensure_wrk()
    work = venvs.BENCH / ".work" / "stdio-bridge"
    work.mkdir(parents=True, exist_ok=True)

    quiet = {"ACCESS_LOG": "off", "METRICS": "off", "STDIO_POOL_SIZE": str(args.pool)}
    shared = quiet | {"STDIO_POOL_SIZE": "1", "STDIO_CALLS_PER_CHILD": str(args.connections)}
    servers = (
        ("bridge", _bridge, quiet, ("2026", "session")),
        ("bridge-shared", _bridge, shared, ("2026", "session")),
        ("supergateway-stateful", lambda p: _gateway(p, True), {}, ("session",)),
        ("supergateway-stateless", lambda p: _gateway(p, False), {}, ("legacy",)),
    )
    running: list[tuple[str, int, subprocess.Popen[bytes], tuple[str, ...]]] = []
    runs: dict[str, list[dict[str, Any]]] = {"direct [stdio]": []}
    try:
        for name, make, env, wires in servers:
            port = free_port()
            running.append(
                (name, port, _server(make(port), env, port, work / f"{name}.log"), wires)
            )
            for wire_name in wires:
                _check_echo(port, wire_name)
                runs[f"{name} [{wire_name}]"] = []
        # Interleaved rounds: the machine's other load hits every contender alike.
        for round_ in range(args.rounds):
            runs["direct [stdio]"].append(asyncio.run(_direct(args.seconds, args.connections)))
            for name, port, process, wires in running:
                for wire_name in wires:
                    # A child per request in supergateway's stateless mode: 32 at once time out.
                    connections = STATELESS_CONNECTIONS if "stateless" in name else args.connections
                    runs[f"{name} [{wire_name}]"].append(
                        _wrk(port, wire_name, args.seconds, connections, process.pid)
                    )
            print(f"round {round_ + 1}: " + ", ".join(
                f"{key} {found[-1]['rps']:.0f}/s" for key, found in runs.items()
            ), flush=True)  # fmt: skip
    finally:
        for _, _, process, _ in running:
            process.terminate()
            process.wait(timeout=15)

    direct = runs["direct [stdio]"]
    lines = [
        "# stdio bridge: tools/call echo on server-everything",
        "",
        f"{args.rounds} interleaved rounds of {args.seconds:g} s; medians. {args.connections} "
        f"connections (or calls in flight); supergateway stateless {STATELESS_CONNECTIONS}. "
        f"bridge: a pool of {args.pool} children, a call each; bridge-shared: one child "
        f"taking {args.connections} calls at once (STDIO_CALLS_PER_CHILD). Servers and their "
        f"children on core {SERVER_CORE}, load on core {LOAD_CORE}.",
        "",
        "| contender | req/s | p50 ms | p99 ms | CPU µs/call | errors | req/s x direct "
        "| CPU x direct |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, found in runs.items():
        pairs = list(zip(found, direct, strict=True))
        ratio = statistics.median(r["rps"] / d["rps"] for r, d in pairs)
        # A child per request that someone else reaps escapes the count: no figure then.
        counted = all(r["cpu_us"] > 0 for r in found)
        cpu = f"{_median(found, 'cpu_us'):.0f}" if counted else "n/a"
        cpu_ratio = (
            f"{statistics.median(r['cpu_us'] / d['cpu_us'] for r, d in pairs):.2f}"
            if counted
            else "n/a"
        )
        lines.append(
            f"| {key} | {_median(found, 'rps'):.0f} | {_median(found, 'p50'):.2f} "
            f"| {_median(found, 'p99'):.2f} | {cpu} "
            f"| {sum(r['errors'] for r in found)} | {ratio:.2f} | {cpu_ratio} |"
        )
    lines.append("")
    for ours in ("bridge [session]", "bridge-shared [session]", "bridge-shared [2026]"):
        for theirs in ("supergateway-stateful [session]", "supergateway-stateless [legacy]"):
            mine, other = runs[ours], runs[theirs]
            if _median(other, "rps") and _median(mine, "p99"):
                cpu = _median(other, "cpu_us") / _median(mine, "cpu_us")
                lines.append(
                    f"- {ours} / {theirs}: throughput "
                    f"x{_median(mine, 'rps') / _median(other, 'rps'):.2f}, p99 "
                    f"{_median(mine, 'p99'):.1f} ms against {_median(other, 'p99'):.1f} ms"
                    + (f", CPU per call x{cpu:.2f} less" if cpu > 0 else "")
                )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stdio-bridge.json").write_text(json.dumps(runs, indent=2) + "\n")
    (RESULTS / "stdio-bridge.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
