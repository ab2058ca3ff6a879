"""Lambda cold start: a fresh process imports a handler and answers one HTTP API v2 event.

Timed from spawning the process to the response line it prints, so interpreter start-up,
imports, building the app and the first invocation all count, as in a Lambda init plus
first invoke. Two bytecode conditions, both with PYTHONDONTWRITEBYTECODE=1 (nothing is
written, like Lambda's read-only /var/task):
- `pyc`: the package ships .pyc files (compileall ran over the venv and the app);
- `source`: it ships none; only the standard library has bytecode (the runtime's does).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

import venvs
import wire
from contenders import SERVER_CORE

# shared/ sits beside the repository; the workplace keeps one at /work/shared.
_EVENTS = [venvs.BENCH.parent.parent / "shared", Path("/work/shared")]
EVENT_TEMPLATE = next(
    (p for p in (d / "lambda-events/apigw-v2-http-api-proxy.json" for d in _EVENTS) if p.exists()),
    _EVENTS[0] / "lambda-events/apigw-v2-http-api-proxy.json",
)
RUNTIME = venvs.BENCH / "apps" / "lambda_runtime.py"
MODES = ("pyc", "source")


@dataclass(frozen=True)
class Handler:
    name: str
    label: str
    venv: str
    target: str
    env: dict[str, str] = field(default_factory=dict)


HANDLERS = (
    Handler("floor", "floor (hand-written handler)", "floor", "floor_lambda:handler"),
    Handler(
        "cloudmcp",
        "cloudmcp (cloudmcp.aws_lambda.handler)",
        "cloudmcp",
        "cloudmcp.aws_lambda:handler",
        {"CLOUDMCP_APP": f"{venvs.BENCH / 'apps' / 'cloudmcp_app.py'}:app"},
    ),
    Handler("sdk-mangum", "SDK stateless JSON via Mangum", "sdk", "sdk_lambda:handler"),
)


def event_file(work: Path) -> Path:
    """The SAM HTTP API v2 sample with MCP headers and a 2026-07-28 `tools/call echo` body."""
    event = json.loads(EVENT_TEMPLATE.read_text())
    request = wire.echo_request("2026")
    event["headers"] = {k.lower(): v for k, v in request.headers.items()}
    event["headers"]["host"] = event["requestContext"]["domainName"]
    event["body"] = base64.b64encode(request.body.encode()).decode()
    event["isBase64Encoded"] = True
    event["rawQueryString"] = ""
    event.pop("queryStringParameters", None)
    path = work / "event-http-api-v2-tools-call.json"
    path.write_text(json.dumps(event, indent=2))
    return path


def stdlib_only_cache(work: Path) -> Path:
    """A bytecode cache prefix holding only the standard library's .pyc files."""
    prefix = work / "pycache-stdlib-only"
    stamp = prefix / ".done"
    if not stamp.exists():
        stdlib = sysconfig.get_paths()["stdlib"]
        env = os.environ | {"PYTHONPYCACHEPREFIX": str(prefix)}
        subprocess.run(
            [str(venvs.python("floor")), "-m", "compileall", "-q", "-j", "0", "-x", "site-packages",
             stdlib],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        prefix.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    return prefix


class HandlerFailed(Exception):
    pass


def check_response(line: str) -> None:
    response = json.loads(line)
    if response.get("statusCode") != 200:
        raise HandlerFailed(f"statusCode {response.get('statusCode')}: {line[:200]}")
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    text = wire.decode({"content-type": "application/json"}, body.encode())
    if text["result"]["content"][0]["text"] != wire.ECHO_TEXT:
        raise HandlerFailed(f"wrong answer: {body[:200]}")


def invoke_once(handler: Handler, event: Path, mode: str, work: Path) -> float:
    """Milliseconds from spawn to the printed response of one fresh process."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_REGION": "us-east-1",
        **handler.env,
    }
    if mode == "source":
        env["PYTHONPYCACHEPREFIX"] = str(stdlib_only_cache(work))
    argv = ["taskset", "-c", SERVER_CORE, str(venvs.python(handler.venv)), str(RUNTIME),
            handler.target, str(event)]  # fmt: skip
    log = work / "logs" / f"coldstart-{handler.name}.log"
    read_end, write_end = os.pipe()
    with log.open("w") as out, os.fdopen(read_end, "rb") as responses:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*argv, str(write_end)], stdout=out, stderr=out, env=env, cwd=work,
            pass_fds=(write_end,),
        )  # fmt: skip
        os.close(write_end)
        line = responses.readline().decode()
        elapsed = (time.perf_counter() - started) * 1000
        proc.wait(timeout=60)
    if not line:
        last = [x for x in log.read_text(errors="replace").splitlines() if x.strip()]
        raise HandlerFailed(last[-1][:300] if last else f"exit {proc.returncode}, no output")
    check_response(line)
    return round(elapsed, 1)


def measure(handlers: list[Handler], runs: int, work: Path) -> dict[str, dict[str, object]]:
    """Per handler: its timings per mode, or why it is unavailable. Interleaved by run."""
    event = event_file(work)
    results: dict[str, dict[str, object]] = {}
    live = []
    for handler in handlers:
        try:
            invoke_once(handler, event, "pyc", work)  # the pre-check; also warms the page cache
        except (HandlerFailed, json.JSONDecodeError, KeyError, subprocess.TimeoutExpired) as exc:
            results[handler.name] = {"label": handler.label, "unavailable": str(exc)}
            print(f"  cold start {handler.name}: unavailable: {exc}", flush=True)
            continue
        results[handler.name] = {"label": handler.label, **{m: [] for m in MODES}}
        live.append(handler)
    for mode in MODES if runs else ():
        for _ in range(runs):
            for handler in live:
                ms = invoke_once(handler, event, mode, work)
                times = results[handler.name][mode]
                assert isinstance(times, list)
                times.append(ms)
        for handler in live:
            print(f"  cold start {handler.name} [{mode}]: {results[handler.name][mode]} ms",
                  flush=True)  # fmt: skip
    return results
