"""Lambda cold start of an app written for the official SDK's `mcp` 1.x `FastMCP`, three
ways: served unchanged by cloudmcp (`cloudmcp.aws_lambda.handler`, `CLOUDMCP_APP` naming
the SDK app), through Mangum (the SDK's own stateless JSON ASGI app, as its users deploy
it), and the same tools written as a native `MCPApp`. All three run in one venv
(bench/.venvs/sdk1: mcp 1.30, Mangum and cloudmcp) and answer one HTTP API v2 `tools/call
echo`: cloudmcp on the 2026-07-28 wire, the SDK on the 2025-11-25 one it speaks.

    python bench/adapters_coldstart.py [--runs N]

Timed as bench/coldstart.py times a cold start (spawn to response, `pyc` and `source`
bytecode conditions); writes bench/results/adapters-coldstart.{json,md}: medians, and
their ratios to the native app and to the Mangum path.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
from pathlib import Path

import coldstart
import venvs
import wire
from coldstart import MODES, Handler

WORK = venvs.BENCH / ".work" / "adapters-coldstart"
RESULTS = venvs.BENCH / "results"
APPS = venvs.BENCH / "apps"
VENV = "sdk1"

HANDLERS = (
    Handler(
        "native",
        "native MCPApp (cloudmcp.aws_lambda.handler)",
        VENV,
        "cloudmcp.aws_lambda:handler",
        {"CLOUDMCP_APP": f"{APPS / 'cloudmcp_app.py'}:app"},
    ),
    Handler(
        "adapted",
        "SDK v1 FastMCP app served by cloudmcp (unchanged)",
        VENV,
        "cloudmcp.aws_lambda:handler",
        {"CLOUDMCP_APP": f"{APPS / 'sdk_v1_app.py'}:mcp"},
    ),
    Handler("mangum", "SDK v1 FastMCP app through Mangum", VENV, "sdk_v1_lambda:handler"),
)
#: The wire each handler is asked on.
WIRE = {"native": "2026", "adapted": "2026", "mangum": "legacy"}


def event(work: Path, wire_name: str) -> Path:
    """The SAM HTTP API v2 sample carrying a `tools/call echo` on `wire_name`."""
    sample = json.loads(coldstart.EVENT_TEMPLATE.read_text())
    request = wire.echo_request(wire_name)
    sample["headers"] = {k.lower(): v for k, v in request.headers.items()}
    sample["headers"]["host"] = sample["requestContext"]["domainName"]
    sample["body"] = base64.b64encode(request.body.encode()).decode()
    sample["isBase64Encoded"] = True
    sample["rawQueryString"] = ""
    sample.pop("queryStringParameters", None)
    path = work / f"event-{wire_name}.json"
    path.write_text(json.dumps(sample, indent=2))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="fresh processes per handler")
    args = parser.parse_args()
    (WORK / "logs").mkdir(parents=True, exist_ok=True)
    venvs.ensure(VENV, WORK / "logs" / "venv.log")
    venvs.ensure("floor", WORK / "logs" / "venv.log")  # compiles the stdlib-only cache
    venvs.compile_bytecode(VENV)
    subprocess.run(  # the project's own modules ship as .pyc too in the `pyc` condition
        [str(venvs.python(VENV)), "-m", "compileall", "-q", "-j", "0", str(venvs.ROOT / "src")],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    events = {name: event(WORK, name) for name in set(WIRE.values())}
    times: dict[str, dict[str, list[float]]] = {h.name: {m: [] for m in MODES} for h in HANDLERS}
    for handler in HANDLERS:  # the pre-check, which also warms the page cache
        coldstart.invoke_once(handler, events[WIRE[handler.name]], "pyc", WORK)
    for mode in MODES:
        for _ in range(args.runs):
            for handler in HANDLERS:  # interleaved, so drift hits all alike
                ms = coldstart.invoke_once(handler, events[WIRE[handler.name]], mode, WORK)
                times[handler.name][mode].append(ms)
    medians = {n: {m: statistics.median(t) for m, t in modes.items()} for n, modes in times.items()}
    report = {
        "runs": args.runs,
        "versions": {p: venvs.version(VENV, p) for p in ("mcp", "mangum", "cloudmcp")},
        "handlers": {h.name: h.label for h in HANDLERS},
        "ms": times,
        "median_ms": medians,
        "ratio_to_native": {
            n: {m: round(medians[n][m] / medians["native"][m], 2) for m in MODES} for n in medians
        },
        "ratio_to_mangum": {
            n: {m: round(medians[n][m] / medians["mangum"][m], 2) for m in MODES} for n in medians
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "adapters-coldstart.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "**Lambda cold start of an SDK v1 app** (HTTP API v2 `tools/call echo`, "
        f"{args.runs} fresh processes each, spawn to response; median ms, and ratios)",
        "",
        "| handler | pyc | source | pyc / native | source / native | pyc / Mangum "
        "| source / Mangum |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for handler in HANDLERS:
        m = medians[handler.name]
        native = report["ratio_to_native"][handler.name]
        mangum = report["ratio_to_mangum"][handler.name]
        lines.append(
            f"| {handler.label} | {m['pyc']:.0f} | {m['source']:.0f} "
            f"| {native['pyc']:.2f} | {native['source']:.2f} "
            f"| {mangum['pyc']:.2f} | {mangum['source']:.2f} |"
        )
    versions = ", ".join(f"{p} {v}" for p, v in report["versions"].items())
    lines += ["", f"One venv: {versions}."]
    (RESULTS / "adapters-coldstart.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
