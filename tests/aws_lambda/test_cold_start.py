"""Cold start: what a fresh process imports on the way to its first answer, and how long it
takes next to a hand-written handler (the floor). bench/ measures this properly; these tests
keep heavy imports from creeping onto the handler's path."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from lambda_calls import ROOT
from redis_support import REDIS_URL

#: What a Lambda cold start must not pay for: web servers, pydantic, HTTP clients, the SDK,
#: and Redis unless REDIS_URL asks for it.
HEAVY = (
    "uvicorn",
    "httptools",
    "uvloop",
    "h11",
    "pydantic",
    "starlette",
    "fastapi",
    "mangum",
    "mcp",
    "anyio",
    "httpx",
    "redis",
    "awslambdaric",
)

#: Imports the handler, answers one HTTP API v2 tools/call, prints the heavy modules loaded.
FIRST_ANSWER = """
import json, sys
from cloudmcp.aws_lambda import handler
from cloudmcp.aws_lambda.local import LocalContext, make_event
body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
    "name": "process_data", "arguments": {"data": {"a": 1}, "operation": "analyze"},
    "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
              "io.modelcontextprotocol/clientCapabilities": {}}}}
headers = {"content-type": "application/json", "accept": "application/json",
           "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call",
           "mcp-name": "process_data"}
response = handler(make_event("http-api-v2", "POST", "/mcp", headers,
                              json.dumps(body).encode()), LocalContext())
assert response["statusCode"] == 200, response
assert "max_depth" in response["body"], response
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1:]))
print(json.dumps(heavy))
"""

FLOOR = """
import base64, json
event = {"body": base64.b64encode(b'{"jsonrpc":"2.0","id":1}').decode(), "isBase64Encoded": True}
request = json.loads(base64.b64decode(event["body"]))
print(json.dumps({"statusCode": 200, "body": json.dumps({"id": request["id"], "result": {}})}))
"""


def python(code: str, *args: str, **env: str) -> tuple[float, str]:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",  # Lambda's /var/task is read-only
        **env,
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    elapsed = (time.perf_counter() - started) * 1000
    assert done.returncode == 0, done.stderr[-2000:]
    return elapsed, done.stdout.strip().splitlines()[-1]


def test_importing_the_package_is_lean() -> None:
    code = "import json, sys, cloudmcp.aws_lambda; print(json.dumps(sorted(sys.modules)))"
    _, out = python(code)
    loaded = {name.split(".")[0] for name in json.loads(out)}
    assert not loaded & set(HEAVY)
    # Not even the default app: `handler` is built when looked up.
    assert "cloudmcp.example" not in json.loads(out)


def test_first_answer_imports_nothing_heavy() -> None:
    _, out = python(FIRST_ANSWER, *HEAVY)
    assert json.loads(out) == []


def test_redis_only_when_asked_for() -> None:
    _, out = python(FIRST_ANSWER, *HEAVY, REDIS_URL=REDIS_URL, KEY_PREFIX="cloudmcp-cold-test:")
    assert json.loads(out) == ["redis"]


def test_cold_start_next_to_the_floor() -> None:
    """Fresh processes, interleaved; the best of several runs of each, so other work on the
    machine weighs least. A regression such as importing pydantic or a web framework on this
    path costs several hundred milliseconds and fails this."""
    python(FIRST_ANSWER)  # page cache
    ours, floor = [], []
    for _ in range(5):
        ours.append(python(FIRST_ANSWER)[0])
        floor.append(python(FLOOR)[0])
    best, base = min(ours), min(floor)
    print(
        f"cold start to first answer: cloudmcp {best:.0f} ms (median "
        f"{statistics.median(ours):.0f}), floor {base:.0f} ms: {best / base:.1f}x"
    )
    assert best < 8 * base


def test_handler_is_resolved_like_the_runtime_does(tmp_path: Path) -> None:
    """awslambdaric resolves `cloudmcp.aws_lambda.handler` as module + attribute."""
    code = (
        "import importlib; m = importlib.import_module('cloudmcp.aws_lambda'); "
        "h = getattr(m, 'handler'); print(type(h).__name__, h is m.handler, h.app.name)"
    )
    _, out = python(code, CLOUDMCP_APP=str(ROOT / "examples" / "conformance" / "server.py"))
    assert out == "LambdaHandler True cloudmcp-conformance"
