"""A Lambda handler that starts the stdio server again on every invocation.

This is how a per-invocation wrapper serves a stdio MCP server on AWS Lambda (as
awslabs/run-model-context-protocol-servers-with-aws-lambda did, its issues #361 and
#363): spawn the command, `initialize`, forward the one request, stop the process. It
handles a Function URL / HTTP API v2 event carrying one JSON-RPC request, for
bench/stdio_lambda.py to compare with `CLOUDMCP_STDIO`, which keeps the child warm.
"""

import base64
import json
import os
import shlex
import subprocess
from typing import Any

COMMAND = shlex.split(os.environ["STDIO_COMMAND"])
INIT = {
    "jsonrpc": "2.0",
    "id": "init",
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "restart-per-invocation", "version": "1"},
    },
}


def _answer(process: subprocess.Popen[bytes], request_id: Any) -> dict[str, Any]:
    assert process.stdout is not None
    while line := process.stdout.readline():
        message: dict[str, Any] = json.loads(line)
        if message.get("id") == request_id and "method" not in message:
            return message
    raise RuntimeError("the server exited without answering")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    request = json.loads(body)
    request.get("params", {}).pop("_meta", None)
    process = subprocess.Popen(
        COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdin is not None
    try:
        process.stdin.write(json.dumps(INIT).encode() + b"\n")
        process.stdin.flush()
        _answer(process, "init")
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        process.stdin.write(json.dumps(initialized).encode() + b"\n")
        process.stdin.write(json.dumps(request).encode() + b"\n")
        process.stdin.flush()
        response = _answer(process, request["id"])
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(response),
    }
