"""Legacy-session throughput with the state in Redis: one node against a cluster, the code
before this branch against after, and the official SDK's stateful in-memory mode.

    python3 bench/redis_throughput.py [--rounds 5] [--duration 6] [--before REF]

Each server is one process pinned to core 0, loaded by `wrk` on core 1 with a legacy
session (`tools/call echo` with `Mcp-Session-Id`: every request reads and touches the
session in the store), in interleaved rounds, as bench/run.py does. cloudmcp runs from
source: `--before` (a git ref, default `main`) exported to bench/.work, and this tree.
The cluster (3 masters, 3 replicas) is started here; the server is given one node's
address. Writes bench/results/redis_throughput.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import load
import venvs
import wire
from contenders import LIKE_PEERS, REDIS_URL, Contender, Server

sys.path.insert(0, str(venvs.ROOT / "tests" / "support"))

from redis_support import LocalCluster, start_cluster

RESULTS = venvs.BENCH / "results"
WORK = venvs.BENCH / ".work" / "redis-throughput"
APP = venvs.BENCH / "apps" / "cloudmcp_app.py"


@dataclass(frozen=True)
class FromSource(Contender):
    """cloudmcp from a source tree, on this interpreter (which has its dependencies)."""

    source: str = ""

    def command(self, port: int) -> list[str]:
        flags = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        return [sys.executable, "-m", "cloudmcp", "serve", f"{APP}:app", *flags]


def export(ref: str) -> Path:
    """`git archive REF src` into bench/.work: the code as it was, importable."""
    target = WORK / f"src-{ref.replace('/', '_')}"
    archive = subprocess.run(
        ["git", "-C", str(venvs.ROOT), "archive", "--format=tar", ref, "src"],
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryFile() as tmp:
        tmp.write(archive)
        tmp.seek(0)
        with tarfile.open(fileobj=tmp) as tar:
            tar.extractall(target, filter="data")
    return target / "src"


def contenders(before: Path, cluster: LocalCluster) -> list[Contender]:
    after = venvs.ROOT / "src"
    node = cluster.nodes[-1].url

    def cloudmcp(name: str, label: str, source: Path, redis: str) -> Contender:
        env = {**LIKE_PEERS, "REDIS_URL": redis, "PYTHONPATH": str(source)}
        return FromSource(name, label, "cloudmcp", ("session",), env=env, source=str(source))

    return [
        cloudmcp("before-redis", "before: Redis, one node", before, REDIS_URL),
        cloudmcp("after-redis", "after: Redis, one node", after, REDIS_URL),
        cloudmcp("after-cluster", "after: Redis Cluster 3x2", after, node),
        Contender(
            "sdk-stateful", "SDK stateful", "sdk", ("session",), "sdk_app:stateful_app", True
        ),
    ]


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--before", default="main", help="git ref of the code before")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    load.ensure_wrk()
    venvs.ensure("sdk", WORK / "sdk-venv.log")
    before = export(args.before)
    cluster = start_cluster(WORK / f"cluster-{datetime.now(UTC):%H%M%S}", masters=3, replicas=1)
    servers: list[Server] = []
    runs: dict[str, list[load.Run]] = {}
    try:
        for contender in contenders(before, cluster):
            server = Server(contender, WORK)
            servers.append(server)
            server.wait_ready()
            wire.check(server.port, contender.path, "session")
            load.timed(server.port, contender.path, "session", 2.0, server.pid)  # warm
            runs[contender.name] = []
        for round_number in range(args.rounds):
            order = servers[round_number % len(servers) :] + servers[: round_number % len(servers)]
            for server in order:
                c = server.contender
                run = load.timed(server.port, c.path, "session", args.duration, server.pid)
                runs[c.name].append(run)
                print(f"round {round_number + 1} {c.name}: {run.rps:,.0f} req/s,"
                      f" {run.cpu_us} us CPU/req, errors {run.errors}", flush=True)  # fmt: skip
    finally:
        for server in servers:
            server.stop()
        cluster.stop()
    results = summarize(runs, args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "redis_throughput.json").write_text(json.dumps(results, indent=2) + "\n")
    text = report(results, {s.contender.name: s.contender.label for s in servers})
    (RESULTS / "redis_throughput.md").write_text(text)
    print(text)


def ratios(runs: dict[str, list[load.Run]], a: str, b: str, field: str) -> dict[str, float]:
    """a / b round by round (for CPU time per request: b / a, so higher is better)."""
    if field == "cpu_us":
        values = [y.cpu_us / x.cpu_us for x, y in zip(runs[a], runs[b], strict=True)]
    else:
        values = [x.rps / y.rps for x, y in zip(runs[a], runs[b], strict=True)]
    return spread(values)


def summarize(runs: dict[str, list[load.Run]], args: argparse.Namespace) -> dict[str, Any]:
    pairs = {
        "after-redis / sdk-stateful": ("after-redis", "sdk-stateful"),
        "after-cluster / sdk-stateful": ("after-cluster", "sdk-stateful"),
        "after-cluster / after-redis": ("after-cluster", "after-redis"),
        "after-redis / before-redis": ("after-redis", "before-redis"),
    }
    return {
        "when": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "before": args.before,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "servers": {
            name: {
                "rps": spread([r.rps for r in rs]),
                "cpu_us": spread([r.cpu_us for r in rs]),
                "p99_ms": spread([r.p99 for r in rs]),
                "errors": sum(r.errors for r in rs),
            }
            for name, rs in runs.items()
        },
        "ratios": {
            label: {"rps": ratios(runs, a, b, "rps"), "cpu": ratios(runs, a, b, "cpu_us")}
            for label, (a, b) in pairs.items()
        },
    }


def report(results: dict[str, Any], labels: dict[str, str]) -> str:
    lines = [
        "# Legacy-session throughput, state in Redis",
        "",
        f"{results['when']}; {results['rounds']} interleaved rounds of"
        f" {results['duration_s']:g} s; before = `{results['before']}`",
        "",
        "| server | req/s (median, min-max) | CPU us/req | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, s in results["servers"].items():
        rps, cpu = s["rps"], s["cpu_us"]
        spread_rps = f"{rps['median']:,.0f} ({rps['min']:,.0f}-{rps['max']:,.0f})"
        lines.append(
            f"| {labels.get(name, name)} | {spread_rps}"
            f" | {cpu['median']} | {s['p99_ms']['median']} | {s['errors']} |"
        )
    lines += [
        "",
        "| ratio | req/s, round by round (median, min-max) | from CPU time per request |",
        "| --- | ---: | ---: |",
    ]
    for label, r in results["ratios"].items():
        rps, cpu = r["rps"], r["cpu"]
        lines.append(
            f"| {label} | {rps['median']:.2f}x ({rps['min']:.2f}-{rps['max']:.2f})"
            f" | {cpu['median']:.2f}x ({cpu['min']:.2f}-{cpu['max']:.2f}) |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
