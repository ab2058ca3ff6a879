"""Open streams on one instance with its state in Redis: connections, fan-out, memory.

    python3 bench/redis_fanout.py [--streams 2000] [--broadcasts 5] [--stores redis,cluster]

One `cloudmcp serve` (pinned to core 0) holds N legacy GET streams and N 2026-07-28
`subscriptions/listen` streams, opened from this process (core 1). The tool list then
changes B times; each change must reach all 2N streams. Reported, per store (the shared
Redis; a Redis Cluster of 3 masters and 3 replicas started here, the server given one
node's address): the Redis connections the server holds (counted by the kernel, from
/proc), the delivery latency of a change to every stream (p50, p99, max), and the
server's resident memory per open stream. Writes bench/results/redis_fanout.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))

from redis_support import LocalCluster, start_cluster  # noqa: E402

RESULTS = BENCH / "results"
WORK = BENCH / ".work" / "redis-fanout"
APP = BENCH / "apps" / "fanout_app.py"
SINGLE = "redis://127.0.0.1:6379/15"
LEGACY = "2025-11-25"
STATELESS = "2026-07-28"
MARK = b"notifications/tools/list_changed"
META = {
    "io.modelcontextprotocol/protocolVersion": STATELESS,
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def serve(
    redis_url: str, port: int, log: Path, source: Path, max_connections: int
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "WEB_CONCURRENCY")}
    env |= {
        "PYTHONPATH": str(source),
        "REDIS_URL": redis_url,
        "REDIS_MAX_CONNECTIONS": str(max_connections),
        "KEY_PREFIX": f"bench-fanout-{secrets.token_hex(4)}:",
        "STATE_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "SSE_KEEPALIVE": "300",
        "ACCESS_LOG": "off",
        "METRICS": "off",
        "RATE_LIMIT": "",
    }
    command = ["taskset", "-c", "0", sys.executable, "-m", "cloudmcp", "serve", f"{APP}:app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def redis_connections(pid: int, ports: set[int]) -> int:
    """Established TCP connections of `pid` to any of `ports`, as the kernel lists them."""
    inodes: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with suppress(FileNotFoundError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if fields[3] == "01" and remote_port in ports:
                    inodes[fields[9]] = remote_port
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:[") and target[8:-1] in inodes:
                count += 1
    return count


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Stream:
    """One open SSE response on its own socket: when each list change arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self, port: int, request: bytes, ready_mark: bytes) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.decode(errors="replace"))
        if not ready_mark:
            self.ready.set()
        seen = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            now = time.perf_counter()
            seen = seen[-64:] + chunk
            if ready_mark and not self.ready.is_set() and ready_mark in seen:
                self.ready.set()
            for _ in range(chunk.count(MARK)):
                self.arrivals.append(now)


def http(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def open_session(client: httpx.AsyncClient, url: str) -> str:
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY,
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    }
    accept = {"accept": "application/json, text/event-stream"}
    response = await client.post(url, json=init, headers=accept)
    session = response.headers["mcp-session-id"]
    notice = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    headers = {**accept, "mcp-session-id": session, "mcp-protocol-version": LEGACY}
    await client.post(url, json=notice, headers=headers)
    return session


async def measure(
    port: int, pid: int, streams: int, broadcasts: int, ports: set[int]
) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/mcp"
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        for _ in range(20):  # warm: imports, pools, the shared reader
            await open_session(client, url)
        await asyncio.sleep(1)
        idle_connections = redis_connections(pid, ports)
        rss_before = rss_kib(pid)
        gate = asyncio.Semaphore(32)

        async def session() -> str:
            async with gate:
                return await open_session(client, url)

        sessions = await asyncio.gather(*(session() for _ in range(streams)))
        listen = {
            "jsonrpc": "2.0",
            "id": "listen",
            "method": "subscriptions/listen",
            "params": {"notifications": {"toolsListChanged": True}, "_meta": META},
        }
        body = json.dumps(listen).encode()
        modern = {
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": STATELESS,
            "mcp-method": "subscriptions/listen",
        }
        sse = {"accept": "text/event-stream"}
        opened: list[Stream] = []
        # Clients arrive in waves of a hundred, not all in one millisecond.
        for start in range(0, streams, 100):
            wave: list[Stream] = []
            for sid in sessions[start : start + 100]:
                headers = {**sse, "mcp-session-id": sid, "mcp-protocol-version": LEGACY}
                get = Stream()
                get.task = asyncio.create_task(get.run(port, http("GET", "/mcp", headers), b""))
                listener = Stream()
                request = http("POST", "/mcp", modern, body)
                listener.task = asyncio.create_task(listener.run(port, request, b"acknowledged"))
                wave += [get, listener]
            async with asyncio.timeout(60):
                await asyncio.gather(*(s.ready.wait() for s in wave))
            opened += wave
        await asyncio.sleep(3)  # every stream reaches its blocked read
        rss_open = rss_kib(pid)
        open_connections = redis_connections(pid, ports)

        latencies: list[float] = []
        missing = 0
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "change_tools", "arguments": {}, "_meta": META},
        }
        headers = {**modern, "mcp-method": "tools/call", "mcp-name": "change_tools"}
        peak_connections = open_connections
        for round_number in range(1, broadcasts + 1):
            started = time.perf_counter()
            answer = await client.post(url, json=call, headers=headers)
            assert answer.status_code == 200, answer.text
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if all(len(s.arrivals) >= round_number for s in opened):
                    break
                await asyncio.sleep(0.005)
            peak_connections = max(peak_connections, redis_connections(pid, ports))
            for s in opened:
                if len(s.arrivals) >= round_number:
                    latencies.append((s.arrivals[round_number - 1] - started) * 1000)
                else:
                    missing += 1
            await asyncio.sleep(0.5)
        for s in opened:
            if s.task is not None:
                s.task.cancel()
        await asyncio.gather(*(s.task for s in opened if s.task), return_exceptions=True)
    latencies.sort()
    return {
        "streams": 2 * streams,
        "redis_connections_idle": idle_connections,
        "redis_connections_open": open_connections,
        "redis_connections_peak": peak_connections,
        "deliveries": len(latencies),
        "missing": missing,
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        "latency_ms_max": round(latencies[-1], 1),
        "rss_mib_before": round(rss_before / 1024, 1),
        "rss_mib_open": round(rss_open / 1024, 1),
        "kib_per_stream": round((rss_open - rss_before) / (2 * streams), 1),
    }


def run_one(name: str, redis_url: str, ports: set[int], args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    log = WORK / f"{name}.log"
    server = serve(redis_url, port, log, Path(args.source).resolve(), args.max_connections)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name}: server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        result = asyncio.run(measure(port, server.pid, args.streams, args.broadcasts, ports))
        return {"store": name, **result}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"# Open streams on one instance ({args.streams} legacy GET + {args.streams}"
        f" subscriptions/listen, {args.broadcasts} list changes)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, source {args.source},"
        f" REDIS_MAX_CONNECTIONS={args.max_connections}",
        "",
        "| store | open streams | Redis connections idle / open / peak | deliveries (missing)"
        " | delivery p50 / p99 / max (ms) | RSS before / open (MiB) | KiB per stream |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['store']} | {r['streams']} | {r['redis_connections_idle']} /"
            f" {r['redis_connections_open']} / {r['redis_connections_peak']} |"
            f" {r['deliveries']} ({r['missing']}) | {r['latency_ms_p50']} / {r['latency_ms_p99']}"
            f" / {r['latency_ms_max']} | {r['rss_mib_before']} / {r['rss_mib_open']} |"
            f" {r['kib_per_stream']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=2000, help="of each kind")
    parser.add_argument("--broadcasts", type=int, default=5)
    parser.add_argument("--stores", default="redis,cluster")
    parser.add_argument("--source", default=str(ROOT / "src"), help="cloudmcp source to run")
    parser.add_argument("--out", default="redis_fanout")
    parser.add_argument("--max-connections", type=int, default=12, help="REDIS_MAX_CONNECTIONS")
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    WORK.mkdir(parents=True, exist_ok=True)
    results = []
    cluster: LocalCluster | None = None
    try:
        for name in args.stores.split(","):
            if name == "redis":
                results.append(run_one(name, SINGLE, {6379}, args))
            else:
                work = WORK / f"cluster-{secrets.token_hex(3)}"
                cluster = start_cluster(work, masters=3, replicas=1)
                ports = {node.port for node in cluster.nodes}
                results.append(run_one("cluster (3x2)", cluster.nodes[-1].url, ports, args))
                cluster.stop()
                cluster = None
            print(json.dumps(results[-1]), flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(results, indent=2) + "\n")
    text = report(results, args)
    (RESULTS / f"{args.out}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
