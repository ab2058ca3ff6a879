"""What metrics and access logs cost: `python bench/ops_overhead.py`.

Serves bench/apps/cloudmcp_app.py with `cloudmcp serve` in five configurations:
operations off (`METRICS=off ACCESS_LOG=off`, as in the main bench), metrics only,
metrics with JSON access lines as configured by default (a line per request up to
`ACCESS_LOG_PER_SECOND`, 100 a second of each kind, then one line per 100 requests),
metrics with a line for every request (`ACCESS_LOG_PER_SECOND=0`), and metrics with
lines for 1% of successful requests (`ACCESS_LOG_SAMPLE_RATE=0.01`). Lines are written
to a file, as a platform's log agent would take them.

The servers run side by side on one core, each driven at once by its own wrk on the
other core, every one saturated. The kernel gives each the same share of the core, so
how many requests each answers in that time is the inverse of what a request costs
it, and whatever slows the machine meanwhile slows all of them alike (measured one
after the other, a shared VM's slow spells land on one configuration and not the
other). Servers are started afresh several times, because one process can be slower
than another for its whole life (memory layout), and each burst is compared with the
same burst's "off". Reported: the medians of those ratios, and of server CPU time per
request. `--in-turn` drives one server at a time instead, with the core to itself (as
on a one-vCPU Cloud Run instance): noisier, and it has agreed with the side-by-side
figures.
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
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import wire  # noqa: E402 - the bench's own requests, from beside this script
from ops_configs import add_arguments, chosen  # noqa: E402


def pinned(command: list[str], core: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core), *command]
    return command


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @classmethod
    def start(cls, env: dict[str, str], log: Path) -> Server:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        cloudmcp = ROOT / ".venv" / "bin" / "cloudmcp"
        app = BENCH / "apps" / "cloudmcp_app.py"
        environment = {k: v for k, v in os.environ.items() if k not in ("PORT", "REDIS_URL")}
        environment.update(env, OTEL_ENABLED="off")
        with log.open("ab") as sink:
            process = subprocess.Popen(
                pinned([str(cloudmcp), "serve", str(app), "--port", str(port)], 0),
                env=environment,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return cls(process, port)
            except OSError:
                time.sleep(0.1)
        process.kill()
        raise SystemExit(f"cloudmcp serve did not start:\n{log.read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used (Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def load(
    server: Server, wire_name: str, seconds: float, connections: int, text: str
) -> subprocess.Popen[str]:
    request = wire.tools_call(wire_name, "echo", {"text": text})
    sessions = ""
    if wire_name == "session":
        sessions = ",".join(wire.open_session(server.port, "/mcp") for _ in range(connections))
    env = {
        **os.environ,
        "BENCH_BODY": request.body,
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in request.headers.items()),
        "BENCH_SESSIONS": sessions,
    }
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "-s", str(BENCH / "wrk" / "mcp.lua"), f"http://127.0.0.1:{server.port}/mcp",
    ]  # fmt: skip
    return subprocess.Popen(pinned(command, 1), env=env, stdout=subprocess.PIPE, text=True)


def burst(
    servers: dict[str, Server],
    wire_name: str,
    seconds: float,
    connections: int,
    *,
    text: str,
    in_turn: bool,
) -> dict[str, tuple[int, float]]:
    """Drive every server, all at once or one after another: each one's answered
    requests and CPU seconds."""
    figures = {}
    groups = [[name] for name in servers] if in_turn else [list(servers)]
    for group in groups:
        before = {name: servers[name].cpu_seconds() for name in group}
        loads = {name: load(servers[name], wire_name, seconds, connections, text) for name in group}
        for name, running in loads.items():
            out, _ = running.communicate()
            summary = json.loads(out.strip().splitlines()[-1])
            if summary["status"] or summary["connect"] or summary["timeout"]:
                raise SystemExit(f"wrk saw errors against {name}: {summary}")
            used = servers[name].cpu_seconds() - before[name]
            figures[name] = (int(summary["requests"]), used)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wire", choices=wire.WIRES, default="2026")
    parser.add_argument("--starts", type=int, default=5, help="times to start fresh servers")
    parser.add_argument("--bursts", type=int, default=3, help="bursts per start")
    parser.add_argument("--seconds", type=int, default=5, help="length of one burst")
    parser.add_argument("--connections", type=int, default=16, help="per server")
    parser.add_argument(
        "--text-bytes",
        type=int,
        help="size of the text the echo tool sends back (a tool's typical answer: 2000-8000)",
    )
    parser.add_argument(
        "--in-turn",
        action="store_true",
        help="drive one server at a time, with the core to itself, instead of all at once",
    )
    add_arguments(parser)
    args = parser.parse_args()
    configs = chosen(args)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed")
    work = Path(tempfile.mkdtemp(prefix="ops-overhead-"))
    text = wire.ECHO_TEXT if args.text_bytes is None else "x" * args.text_bytes
    ratios: dict[str, list[float]] = {name: [] for name in configs}
    cpu: dict[str, list[float]] = {name: [] for name in configs}
    for start in range(args.starts):
        servers = {name: Server.start(env, work / f"{name}.log") for name, env in configs.items()}
        try:
            burst(servers, args.wire, 1, args.connections, text=text, in_turn=False)  # warm-up
            for number in range(args.bursts):
                figures = burst(
                    servers,
                    args.wire,
                    args.seconds,
                    args.connections,
                    text=text,
                    in_turn=args.in_turn,
                )
                off = figures["off"][0]
                for name, (requests, used) in figures.items():
                    ratios[name].append(requests / off)
                    cpu[name].append(used / requests * 1e6)
                print(
                    f"start {start + 1} burst {number + 1}: "
                    + "  ".join(
                        f"{name} {requests / args.seconds:6.0f}/s {used / requests * 1e6:5.1f} us"
                        for name, (requests, used) in figures.items()
                    ),
                    flush=True,
                )
        finally:
            for server in servers.values():
                server.stop()
    logged = sum(
        1 for log in work.glob("*.log") for line in log.open() if "cloudmcp.access" in line
    )
    shutil.rmtree(work, ignore_errors=True)
    count = args.starts * args.bursts
    base = statistics.median(cpu["off"])
    print(
        f"\nwire {args.wire}, {len(configs)} servers "
        f"{'one at a time' if args.in_turn else 'side by side'} on one core, "
        f"{count} bursts of {args.seconds} s, medians:"
    )
    print(f"  off: {base:.1f} us server CPU per request")
    for name in list(configs)[1:]:
        ratio = statistics.median(ratios[name])
        extra = statistics.median(c - o for c, o in zip(cpu[name], cpu["off"], strict=True))
        print(
            f"  {name}: {ratio:.3f}x the throughput ({100 * (ratio - 1):+.1f}%), "
            f"{extra:+.1f} us CPU per request ({100 * extra / base:+.1f}%)"
        )
    print(f"  ({logged} access lines written)")


if __name__ == "__main__":
    main()
