"""The store's own cost per operation on one Redis node, before and after a change.

    python3 bench/redis_store_ops.py [--before main] [--rounds 7] [--ops 5000]

What a legacy request spends in the store, without HTTP: `get(touch=)` (every request
loads its session), `set`, `append` and a non-blocking `read`, each run `--ops` times in
a fresh process per source and round, alternating the sources. Reported: CPU time per
operation (the process's user+system time, less moved by other work on the machine than
wall time), and the ratio after / before, round by round. Writes
bench/results/redis_store_ops.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from datetime import UTC, datetime

import venvs
from redis_throughput import export

RESULTS = venvs.BENCH / "results"
URL = "redis://127.0.0.1:6379/15"
OPERATIONS = ("get", "set", "append", "read")

# Runs in a child process with PYTHONPATH set to the source under test.
CHILD = """
import asyncio, json, secrets, sys, time
from cloudmcp.state.redis import RedisStore

async def main(ops):
    store = RedisStore(sys.argv[1])
    prefix = f"bench-ops-{secrets.token_hex(4)}:"
    key, log = prefix + "session:{s}", prefix + "sse:{s}:get"
    await store.set(key, b"x" * 200, 60)
    position = await store.append(log, b"e", ttl=60, cap=1000)
    calls = {
        "get": lambda: store.get(key, touch=60),
        "set": lambda: store.set(key, b"x" * 200, 60),
        "append": lambda: store.append(log, b"N" + b"y" * 100, ttl=60, cap=1000),
        "read": lambda: store.read({log: position}, timeout=0),
    }
    out = {}
    for name, call in calls.items():
        for _ in range(200):
            await call()
        started = time.process_time()
        for _ in range(ops):
            await call()
        out[name] = (time.process_time() - started) / ops * 1e6
        if name == "append":
            position = await store.tail(log)
    await store.delete(key, log)
    await store.close()
    print(json.dumps(out))

asyncio.run(main(int(sys.argv[2])))
"""


def measure(source: str, ops: int) -> dict[str, float]:
    done = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", CHILD, URL, str(ops)],
        env={"PYTHONPATH": source, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ops", type=int, default=5000)
    args = parser.parse_args()
    sources = {"before": str(export(args.before)), "after": str(venvs.ROOT / "src")}
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for round_number in range(args.rounds):
        order = ["before", "after"] if round_number % 2 == 0 else ["after", "before"]
        for name in order:
            runs[name].append(measure(sources[name], args.ops))
        print(f"round {round_number + 1}: {runs['before'][-1]} {runs['after'][-1]}", flush=True)
    summary = {
        op: {
            "before_us": round(statistics.median(r[op] for r in runs["before"]), 1),
            "after_us": round(statistics.median(r[op] for r in runs["after"]), 1),
            "after_over_before": round(
                statistics.median(
                    a[op] / b[op] for a, b in zip(runs["after"], runs["before"], strict=True)
                ),
                3,
            ),
        }
        for op in OPERATIONS
    }
    RESULTS.mkdir(exist_ok=True)
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    (RESULTS / "redis_store_ops.json").write_text(
        json.dumps(
            {"when": when, "before": args.before, "rounds": runs, "summary": summary}, indent=2
        )
        + "\n"
    )
    lines = [
        "# Store operations on one Redis node: CPU time per operation, before and after",
        "",
        f"{when}; before = `{args.before}`; {args.rounds} rounds of {args.ops} each",
        "",
        "| operation | before (us) | after (us) | after / before, round by round (median) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for op, s in summary.items():
        lines.append(f"| {op} | {s['before_us']} | {s['after_us']} | {s['after_over_before']}x |")
    text = "\n".join(lines) + "\n"
    (RESULTS / "redis_store_ops.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
