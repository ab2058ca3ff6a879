"""Lambda, cold and warm, for a stdio server: `CLOUDMCP_STDIO` (the child started at init
and kept across invocations) against a handler that starts the server on every
invocation (bench/apps/stdio_restart_lambda.py), both under the Lambda Runtime Interface
Emulator (`.tools/bin/aws-lambda-rie`) with `@modelcontextprotocol/server-everything`.

Each round starts a fresh execution environment: its first invocation is the cold one
(runtime start, handler init, the call), then `--warm` warm invocations. Timed from the
client's POST to the emulator until its answer. Results: bench/results/stdio-lambda.md.

    python bench/stdio_lambda.py [--rounds 5] [--warm 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RIE = ROOT / ".tools" / "bin" / "aws-lambda-rie"
EVERYTHING = ROOT / ".tools" / "bin" / "mcp-server-everything"
PYTHON = ROOT / ".venv" / "bin" / "python"
APPS = ROOT / "bench" / "apps"
RESULTS = ROOT / "bench" / "results"
INVOKE = "/2015-03-31/functions/function/invocations"

HANDLERS = {
    "cloudmcp (CLOUDMCP_STDIO)": (
        "cloudmcp.aws_lambda.handler",
        {"CLOUDMCP_STDIO": str(EVERYTHING)},
    ),
    "restart per invocation": (
        "stdio_restart_lambda.handler",
        {"STDIO_COMMAND": str(EVERYTHING), "PYTHONPATH": str(APPS)},
    ),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _event(message: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "src"))
    from cloudmcp.aws_lambda.local import make_event

    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    params = {"name": "echo", "arguments": {"message": message}, "_meta": meta}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": "echo",
    }
    return make_event("function-url", body=json.dumps(body).encode(), headers=headers)


@contextmanager
def _environment(target: str, env: dict[str, str], work: Path):  # type: ignore[no-untyped-def]
    port, api_port = _free_port(), _free_port()
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "LAMBDA_TASK_ROOT": str(work),
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "30",
        "AWS_REGION": "us-east-1",
        "ACCESS_LOG": "off",
        **env,
    }
    command = [
        str(RIE), "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
        "--runtime-api-address", f"127.0.0.1:{api_port}", "--log-level", "error",
        str(PYTHON), "-m", "awslambdaric", target,
    ]  # fmt: skip
    with (work / "rie.log").open("ab") as sink:
        process = subprocess.Popen(command, cwd=work, env=environment, stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the emulator did not start") from None
                time.sleep(0.02)
        yield f"http://127.0.0.1:{port}{INVOKE}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _invoke(url: str, message: str) -> float:
    data = json.dumps(_event(message)).encode()
    started = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=60) as answer:
        payload = json.loads(answer.read())
    elapsed = time.perf_counter() - started
    if f"Echo: {message}" not in json.dumps(payload):
        raise SystemExit(f"unexpected answer: {json.dumps(payload)[:300]}")
    return elapsed * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warm", type=int, default=10)
    args = parser.parse_args()
    work = ROOT / "bench" / ".work" / "stdio-lambda"
    work.mkdir(parents=True, exist_ok=True)
    cold: dict[str, list[float]] = {name: [] for name in HANDLERS}
    warm: dict[str, list[float]] = {name: [] for name in HANDLERS}
    for round_ in range(args.rounds):
        for name, (target, env) in HANDLERS.items():  # interleaved: noise hits both alike
            with _environment(target, env, work) as url:
                cold[name].append(_invoke(url, f"cold {round_}"))
                warm[name].extend(_invoke(url, f"warm {n}") for n in range(args.warm))
        print(f"round {round_ + 1}: " + ", ".join(
            f"{n}: cold {cold[n][-1]:.0f} ms, warm {statistics.median(warm[n][-args.warm:]):.1f} ms"
            for n in HANDLERS
        ), flush=True)  # fmt: skip
    ours, theirs = HANDLERS
    warm_ratio = statistics.median(warm[theirs]) / statistics.median(warm[ours])
    cold_ratio = statistics.median(cold[theirs]) / statistics.median(cold[ours])
    lines = [
        "# Lambda (Runtime Interface Emulator): a stdio server, cold and warm",
        "",
        f"`tools/call echo` on server-everything, Function URL event; {args.rounds} fresh "
        f"environments, each one cold invocation then {args.warm} warm ones. Medians (min-max),"
        " ms, from the POST to the emulator to its answer.",
        "",
        "| handler | cold | warm | warm p90 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name in HANDLERS:
        c, w = cold[name], sorted(warm[name])
        lines.append(
            f"| {name} | {statistics.median(c):.0f} ({min(c):.0f}-{max(c):.0f}) "
            f"| {statistics.median(w):.1f} ({min(w):.1f}-{max(w):.1f}) "
            f"| {w[int(0.9 * (len(w) - 1))]:.1f} |"
        )
    lines += [
        "",
        f"Warm: the restart-per-invocation handler takes x{warm_ratio:.0f} the time of "
        f"cloudmcp's; cold: x{cold_ratio:.2f}.",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stdio-lambda.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "stdio-lambda.json").write_text(
        json.dumps({"cold_ms": cold, "warm_ms": warm}, indent=2) + "\n"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
