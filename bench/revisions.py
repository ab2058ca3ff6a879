"""This checkout against another revision, side by side in one run:
`python bench/revisions.py --before REV`.

Two measures a refactor must not make worse, each taken alternately for both trees so
that a slow spell of a shared machine hits them alike:
- the engine's CPU per request in-process (`bench/ops_inprocess.py`, every request a
  `tools/call echo` on the 2026-07-28 wire through the real ASGI app), operations off
  and with metrics and access lines;
- the Lambda cold start (`bench/apps/lambda_runtime.py`: a fresh process imports
  `cloudmcp.aws_lambda:handler`, builds the app and answers one HTTP API v2 event), with
  .pyc files for both trees, timed from spawn to the response.

REV is checked out into bench/.work/REV (a git worktree). Reported as medians and as
ratios after/before. Writes bench/results/revisions.md.

`--instructions` counts instructions with valgrind's callgrind instead of timing: the
same count for the same code whatever else the machine does, so a shared host's noise
(±10% here) cannot hide a 1% change. Per request: the difference between 6,000 and
1,000 requests in one process, over 5,000; cold start: the whole process.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from coldstart import EVENT_TEMPLATE, event_file  # noqa: E402 - beside this script


def checkout(rev: str) -> Path:
    tree = BENCH / ".work" / rev
    if not tree.exists():
        tree.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(tree), rev],
            check=True,
            capture_output=True,
        )
    return tree / "src"


def cold_start(src: Path, event: Path) -> float:
    """Seconds from spawning a fresh process to the handler's first response."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(src),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "CLOUDMCP_APP": f"{BENCH / 'apps' / 'cloudmcp_app.py'}:app",
    }
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(BENCH / "apps" / "lambda_runtime.py"), "cloudmcp.aws_lambda:handler",
         str(event)],
        env=env,
        capture_output=True,
        check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if b'"statusCode": 200' not in out.stdout and b'"statusCode":200' not in out.stdout:
        raise RuntimeError(f"the handler did not answer 200: {out.stdout[:300]!r}")
    return seconds


def _callgrind(command: list[str], env: dict[str, str]) -> int:
    """Instructions `command` executes, counted by callgrind."""
    with tempfile.TemporaryDirectory() as work:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/cg", *command],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise RuntimeError(f"callgrind counted nothing: {out.stderr[-500:]}")
    return int(found[1])


def instructions_per_request(src: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "METRICS": "off", "ACCESS_LOG": "off"}
    env["OTEL_ENABLED"] = "off"

    def count(requests: int) -> int:
        serve = [sys.executable, str(BENCH / "ops_inprocess.py"), "--serve", "1", str(requests)]
        return _callgrind(serve, env)

    return (count(6000) - count(1000)) / 5000


def cold_start_instructions(src: Path, event: Path) -> int:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(src),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "CLOUDMCP_APP": f"{BENCH / 'apps' / 'cloudmcp_app.py'}:app",
    }
    runtime = [sys.executable, str(BENCH / "apps" / "lambda_runtime.py")]
    return _callgrind([*runtime, "cloudmcp.aws_lambda:handler", str(event)], env)


def counted(before: Path, after: Path, event: Path, rev: str) -> str:
    per = {
        name: instructions_per_request(tree)
        for name, tree in (("before", before), ("after", after))
    }
    cold = {
        name: cold_start_instructions(tree, event)
        for name, tree in (("before", before), ("after", after))
    }
    return "\n".join(
        [
            f"# This checkout against {rev}, in instructions (callgrind)",
            "",
            "| | before | after | after/before |",
            "| --- | ---: | ---: | ---: |",
            f"| `tools/call echo` in-process, per request | {per['before']:,.0f} | "
            f"{per['after']:,.0f} | **{per['after'] / per['before']:.3f}** |",
            f"| Lambda cold start, whole process (.pyc) | {cold['before']:,} | {cold['after']:,} | "
            f"**{cold['after'] / cold['before']:.3f}** |",
            "",
        ]
    )


def in_process(before: Path, requests: int, rounds: int) -> str:
    """`ops_inprocess.py` with the other tree as extra configurations; its report."""
    configs = [
        f"before:PYTHONPATH={before},METRICS=off,ACCESS_LOG=off",
        f"before+metrics+log:PYTHONPATH={before},METRICS=on,ACCESS_LOG=on,LOG_FORMAT=json",
    ]
    command = [sys.executable, str(BENCH / "ops_inprocess.py"), "--only", "metrics+log"]
    command += [f"--config={c}" for c in configs]
    command += ["--requests", str(requests), "--rounds", str(rounds)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the revision to compare with")
    parser.add_argument("--starts", type=int, default=15, help="cold starts per tree")
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--instructions", action="store_true", help="count, don't time")
    args = parser.parse_args()
    if not EVENT_TEMPLATE.exists():
        raise SystemExit("no shared/lambda-events/apigw-v2-http-api-proxy.json beside the repo")
    event = event_file(Path(tempfile.mkdtemp(prefix="revisions-")))
    before, after = checkout(args.before), ROOT / "src"
    for tree in (before, after):
        compileall.compile_dir(str(tree), quiet=1)
    if args.instructions:
        text = counted(before, after, event, args.before)
        print(text)
        (BENCH / "results" / "revisions.md").write_text(text)
        return
    starts: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.starts):
        for name, tree in (("before", before), ("after", after)):
            starts[name].append(cold_start(tree, event))
    cold = {name: statistics.median(times) * 1000 for name, times in starts.items()}
    report = in_process(before, args.requests, args.rounds)
    lines = [
        f"# This checkout against {args.before}",
        "",
        f"Lambda cold start, median of {args.starts} alternating starts (ms): "
        f"before {cold['before']:.1f}, after {cold['after']:.1f}, "
        f"ratio after/before **{cold['after'] / cold['before']:.3f}**",
        "",
        "In-process CPU per request (`ops_inprocess.py`; `off` and `metrics+log` are this",
        "checkout, `before*` the other):",
        "",
        "```",
        report.strip(),
        "```",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    (BENCH / "results" / "revisions.md").write_text(text)
    (BENCH / "results" / "revisions.json").write_text(json.dumps({"cold_ms": cold}, indent=2))


if __name__ == "__main__":
    main()
