"""What metrics and access logs cost: `python bench/ops_overhead.py`.

Serves bench/apps/cloudmcp_app.py with `cloudmcp serve` twice, operations off
(`METRICS=off ACCESS_LOG=off`) and on (`METRICS=on ACCESS_LOG=on LOG_FORMAT=json`, the
log going to a file, as a platform's log agent would take it), and drives each with
wrk, alternating rounds so drift on a shared machine hits both alike. The server is
pinned to one core and wrk to another when there are two. Prints requests/s per
round, the medians, and the difference.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import wire  # noqa: E402 - the bench's own requests, from beside this script

OFF = {"METRICS": "off", "ACCESS_LOG": "off", "OTEL_ENABLED": "off"}
ON = {"METRICS": "on", "ACCESS_LOG": "on", "LOG_FORMAT": "json", "OTEL_ENABLED": "off"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(command: list[str], core: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core), *command]
    return command


def serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cloudmcp = ROOT / ".venv" / "bin" / "cloudmcp"
    command = [str(cloudmcp), "serve", str(BENCH / "apps" / "cloudmcp_app.py"), "--port", str(port)]
    environment = {k: v for k, v in os.environ.items() if k not in ("PORT", "REDIS_URL")}
    environment.update(env)
    with log.open("ab") as sink:
        process = subprocess.Popen(
            pinned(command, 0), env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"cloudmcp serve did not start:\n{log.read_text()[-2000:]}")


def session_for(port: int, wire_name: str) -> str:
    return wire.open_session(port, "/mcp") if wire_name == "session" else ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(port: int, wire_name: str, seconds: float, connections: int) -> tuple[float, int]:
    request = wire.echo_request(wire_name)
    sessions = ",".join(session_for(port, wire_name) for _ in range(2))
    env = {
        **os.environ,
        "BENCH_BODY": request.body,
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in request.headers.items()),
        "BENCH_SESSIONS": sessions if wire_name == "session" else "",
    }
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "-s",
        str(BENCH / "wrk" / "mcp.lua"),
        f"http://127.0.0.1:{port}/mcp",
    ]
    out = subprocess.run(
        pinned(command, 1), env=env, capture_output=True, text=True, check=True
    ).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    if summary["status"] or summary["connect"] or summary["timeout"]:
        raise SystemExit(f"wrk saw errors: {summary}")
    return float(summary["requests"]) / (summary["duration_us"] / 1e6), int(summary["requests"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wire", choices=wire.WIRES, default="2026")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--on", help="the 'on' environment instead, e.g. METRICS=on,ACCESS_LOG=off")
    args = parser.parse_args()
    on_env = dict(item.split("=", 1) for item in args.on.split(",")) if args.on else ON
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed")
    work = Path(tempfile.mkdtemp(prefix="ops-overhead-"))
    results: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    for round_number in range(args.rounds):
        for label, env in (("off", OFF), ("on", on_env)):
            log = work / f"{label}.log"
            process, port = serve(env, log)
            try:
                run_wrk(port, args.wire, 1.0, args.connections)  # warm-up
                before = cpu_seconds(process.pid)
                rate, requests = run_wrk(port, args.wire, args.seconds, args.connections)
                per_request = (cpu_seconds(process.pid) - before) / requests * 1e6
            finally:
                process.terminate()
                process.wait(timeout=15)
            results[label].append(rate)
            cpu[label].append(per_request)
            print(
                f"round {round_number + 1} {label:>3}: {rate:9.0f} req/s"
                f"  {per_request:6.1f} us CPU/request",
                flush=True,
            )
    off, on = statistics.median(results["off"]), statistics.median(results["on"])
    cpu_off, cpu_on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
    logged = sum(1 for _ in (work / "on.log").open()) if (work / "on.log").exists() else 0
    print(f"\nwire {args.wire}, median of {args.rounds} rounds of {args.seconds:g}s:")
    print(f"  operations off: {off:9.0f} req/s")
    print(f"  operations on:  {on:9.0f} req/s  ({logged} log lines written)")
    print(f"  cost:           {100 * (off - on) / off:+.1f}% of throughput")
    print(
        f"  server CPU:     {cpu_off:.1f} -> {cpu_on:.1f} us per request "
        f"({100 * (cpu_on - cpu_off) / cpu_off:+.1f}%; steadier than req/s on a busy machine)"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
