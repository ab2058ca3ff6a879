"""What metrics and access logs cost the engine, without the network: `python
bench/ops_inprocess.py`.

`bench/ops_overhead.py` measures whole servers over HTTP, where uvicorn, the sockets
and wrk's noise are most of what is timed. This drives the ASGI app of
bench/apps/cloudmcp_app.py in-process instead: a fresh process per configuration, all
of them side by side on one core (so a slow spell of a shared VM hits them alike), each
answering the same `tools/call echo` on the 2026-07-28 wire through the real
`HttpApp`, engine and operations layer, with access lines written to a file. Reported:
the median CPU microseconds per request of each configuration, and the median of its
paired difference from the first one. Differences of half a microsecond show.

`--config NAME:K=V,...` adds a configuration (`PYTHONPATH=...` measures another
checkout); `--only` picks the built-in ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from ops_configs import add_arguments, chosen  # noqa: E402 - beside this script


def serve(rounds: int, requests: int) -> None:
    """In the measured process: answer `requests` calls `rounds` times; print the CPU
    microseconds per request of each round as JSON on stderr."""
    import uvloop
    import wire

    http = _http_app()
    call = wire.tools_call("2026", "echo", {"text": wire.ECHO_TEXT})
    body = call.body.encode()
    headers = [(k.lower().encode(), v.encode()) for k, v in call.headers.items()]
    headers += [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", b"bench/1"),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/mcp",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "query_string": b"",
    }
    message = {"type": "http.request", "body": body, "more_body": False}
    answered: list[int] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(reply: dict[str, Any]) -> None:
        if reply["type"] == "http.response.start":
            answered.append(reply["status"])

    async def main() -> None:
        startup: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        await startup.put({"type": "lifespan.startup"})
        started = asyncio.Event()

        async def lifespan_send(reply: dict[str, Any]) -> None:
            if reply["type"] == "lifespan.startup.complete":
                started.set()

        lifespan = asyncio.create_task(http({"type": "lifespan"}, startup.get, lifespan_send))
        await started.wait()
        for _ in range(2000):  # warm-up
            await http(scope, receive, send)
        figures = []
        for _ in range(rounds):
            began = time.process_time()
            for _ in range(requests):
                await http(scope, receive, send)
            figures.append((time.process_time() - began) / requests * 1e6)
        if set(answered) != {200}:
            raise SystemExit(f"not every call was answered 200: {set(answered)}")
        print(json.dumps(figures), file=sys.stderr)
        lifespan.cancel()

    uvloop.run(main())


def _http_app() -> Any:
    """The example's ASGI app with operations as the environment asks, in this checkout
    or (`PYTHONPATH=...`, bench/revisions.py) one from before the composition step."""
    target = str(BENCH / "apps" / "cloudmcp_app.py")
    try:
        from cloudmcp.loader import load_app
        from cloudmcp.ops import OpsConfig
    except ImportError:  # before the composition step: install operations on the app
        from cloudmcp.app.loader import load_app  # type: ignore[import-not-found, no-redef, unused-ignore]

        from cloudmcp import ops  # type: ignore[attr-defined, unused-ignore]

        app = load_app(target)
        ops.install(app)
        return app.http_app("/mcp")
    return load_app(target).http_app("/mcp", operations=OpsConfig.from_env())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=6, help="times to start fresh processes")
    parser.add_argument("--rounds", type=int, default=4, help="measured rounds per start")
    parser.add_argument("--requests", type=int, default=15000, help="calls per round")
    add_arguments(parser)
    parser.add_argument("--serve", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    configs = chosen(args)
    python = ROOT / ".venv" / "bin" / "python"
    pinned = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    work = Path(tempfile.mkdtemp(prefix="ops-inprocess-"))
    figures: dict[str, list[float]] = {name: [] for name in configs}
    for start in range(args.starts):
        running = {}
        for name, env in configs.items():
            environment = {**os.environ, "OTEL_ENABLED": "off", **env}
            command = [*pinned, str(python), __file__, "--serve", str(args.rounds)]
            with (work / f"{name}.log").open("ab") as lines:
                running[name] = subprocess.Popen(
                    [*command, str(args.requests)],
                    env=environment,
                    stdout=lines,
                    stderr=subprocess.PIPE,
                    text=True,
                )
        for name, process in running.items():
            _, err = process.communicate()
            if process.returncode:
                raise SystemExit(f"{name} failed:\n{err[-2000:]}")
            figures[name] += json.loads(err.strip().splitlines()[-1])
        print(f"start {start + 1} of {args.starts}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    first = next(iter(configs))
    base = statistics.median(figures[first])
    print(f"\n{len(configs)} processes side by side on one core, CPU per request, medians:")
    for name, values in figures.items():
        paired = statistics.median(a - b for a, b in zip(values, figures[first], strict=True))
        print(
            f"  {name}: {statistics.median(values):.1f} us, {paired:+.1f} us "
            f"({100 * paired / base:+.1f}%) against {first}"
        )


if __name__ == "__main__":
    main()
