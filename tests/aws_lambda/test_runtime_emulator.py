"""The real Lambda runtime, locally: the Runtime Interface Emulator (`aws-lambda-rie`, from the
aws-sam-cli wheel; scripts/install-tools.sh links it) runs `python -m awslambdaric
cloudmcp.aws_lambda.handler`, and the tests POST invocations to it.

The emulator answers 200 even when the handler fails (the payload then carries `errorType`),
so every test reads the payload, never just the status.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cloudmcp_serving import free_port
from lambda_calls import (
    CONFORMANCE_FIXTURE,
    KINDS,
    ROOT,
    SHARED,
    Answer,
    answer_of,
    shared_event,
)
from redis_support import REDIS_URL, delete_prefix
from wire import ACCEPT, meta, modern_headers

from cloudmcp.aws_lambda.local import make_event

RIE = ROOT / ".tools" / "bin" / "aws-lambda-rie"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
FUNCTION_NAME = "cloudmcp-rie-test"


class HandlerFailed(AssertionError):
    """The emulator said 200, but the payload is the runtime's error report."""


class Emulator:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def invoke(self, event: Any) -> dict[str, Any]:
        request = urllib.request.Request(self.url, data=json.dumps(event).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200  # even for a failed invocation: read the payload
            payload: dict[str, Any] = json.loads(response.read())
        if "errorType" in payload:
            raise HandlerFailed(f"{payload['errorType']}: {payload.get('errorMessage')}")
        return payload

    def call(self, kind: str, body: Any, headers: dict[str, str], **options: Any) -> Answer:
        data = json.dumps(body).encode()
        return answer_of(self.invoke(make_event(kind, body=data, headers=headers, **options)))

    def modern(self, kind: str, method: str, params: dict[str, Any] | None = None) -> Answer:
        params = dict(params or {})
        params["_meta"] = meta(**params.get("_meta", {}))
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        name = params.get("name") or params.get("uri")
        return self.call(kind, body, modern_headers(method, name))

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


@contextmanager
def emulator(tmp_path: Path, **env: str) -> Iterator[Emulator]:
    """One execution environment: the emulator and, on the first invocation, the runtime."""
    if not RIE.exists():
        raise RuntimeError(f"{RIE} is missing: run scripts/install-tools.sh")
    port, api_port = free_port(), free_port()
    log = tmp_path / f"rie-{port}.log"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "30",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        **env,
    }
    command = [
        str(RIE),
        "--runtime-interface-emulator-address",
        f"127.0.0.1:{port}",
        "--runtime-api-address",
        f"127.0.0.1:{api_port}",
        "--log-level",
        "error",
        sys.executable,
        "-m",
        "awslambdaric",
        "cloudmcp.aws_lambda.handler",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the emulator did not start:\n{log.read_text()}") from None
                time.sleep(0.05)
        yield Emulator(f"http://127.0.0.1:{port}{INVOKE_PATH}", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def health(answer: Answer) -> dict[str, Any]:
    assert answer.status == 200, answer.body
    report: dict[str, Any] = answer.last["result"]["structuredContent"]
    return report


@pytest.mark.parametrize("kind", KINDS)
def test_cold_then_warm(tmp_path: Path, kind: str) -> None:
    """Each kind in a new execution environment: a cold invocation, then warm ones."""
    with emulator(tmp_path) as rie:
        started = time.monotonic()
        cold = health(rie.modern(kind, "tools/call", {"name": "health_check"}))
        cold_seconds = time.monotonic() - started
        assert cold["cold_start"] is True, rie.log_tail()
        assert cold["lambda"]["function_name"] == FUNCTION_NAME
        assert cold["lambda"]["memory_limit_mb"] == 512
        assert 0 < cold["lambda"]["remaining_ms"] <= 30_000
        listed = rie.modern(kind, "tools/list")
        assert listed.status == 200
        assert {"process_data", "health_check"} <= {
            t["name"] for t in listed.last["result"]["tools"]
        }
        started = time.monotonic()
        warm = health(rie.modern(kind, "tools/call", {"name": "health_check"}))
        warm_seconds = time.monotonic() - started
        assert warm["cold_start"] is False
        assert warm["lambda"]["request_id"] != cold["lambda"]["request_id"]
        assert warm_seconds < cold_seconds  # nothing is built twice


def test_shared_events_under_the_runtime(tmp_path: Path) -> None:
    """The shared sample events, as AWS made them, in a session opened by another invocation."""
    with emulator(tmp_path) as rie:
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "rie-test", "version": "1"},
            },
        }
        opened = rie.call(
            "http-api-v2", init, {"content-type": "application/json", "accept": ACCEPT}
        )
        session = opened.headers["mcp-session-id"]
        for kind in SHARED:
            answer = answer_of(rie.invoke(shared_event(kind, **{"mcp-session-id": session})))
            assert answer.status == 200, (kind, answer.body)
            assert "process_data" in {t["name"] for t in answer.last["result"]["tools"]}


def test_payload_reports_a_failed_invocation(tmp_path: Path) -> None:
    with emulator(tmp_path) as rie:
        with pytest.raises(HandlerFailed, match="UnsupportedEvent"):
            rie.invoke({"detail-type": "Scheduled Event", "source": "aws.events"})
        # The environment survives a failed invocation.
        assert rie.modern("alb", "tools/list").status == 200


def test_app_from_cloudmcp_app_and_mrtr(tmp_path: Path) -> None:
    with emulator(tmp_path, CLOUDMCP_APP=str(CONFORMANCE_FIXTURE)) as rie:
        name = "test_input_required_result_elicitation"
        first = rie.modern("function-url", "tools/call", {"name": name, "arguments": {}})
        interim = first.last["result"]
        assert interim["resultType"] == "input_required", first.body
        retry = {
            "name": name,
            "arguments": {},
            "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Alice"}}},
            "requestState": interim["requestState"],
        }
        done = rie.modern("api-gateway-v1", "tools/call", retry)
        assert done.last["result"]["content"][0]["text"] == "Hello, Alice!"
        progress = rie.modern(
            "http-api-v2",
            "tools/call",
            {"name": "test_tool_with_progress", "_meta": {"progressToken": "t"}},
        )
        assert progress.headers["content-type"].startswith("text/event-stream")
        assert (
            len([m for m in progress.messages if m.get("method") == "notifications/progress"]) == 3
        )


def test_session_across_two_environments_with_redis(tmp_path: Path) -> None:
    """Two execution environments share a legacy session through Redis (ElastiCache on AWS)."""
    prefix = f"cloudmcp-lambda-test-{secrets.token_hex(4)}:"
    env = {"REDIS_URL": REDIS_URL, "KEY_PREFIX": prefix}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        with emulator(tmp_path / "a", **env) as first, emulator(tmp_path / "b", **env) as second:
            init = {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "rie-test", "version": "1"},
                },
            }
            json_headers = {"content-type": "application/json", "accept": ACCEPT}
            opened = first.call("api-gateway-v1", init, json_headers)
            assert opened.status == 200, opened.body
            headers = {
                **json_headers,
                "mcp-session-id": opened.headers["mcp-session-id"],
                "mcp-protocol-version": "2025-06-18",
            }
            call = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "health_check", "arguments": {}},
            }
            answer = second.call("alb", call, headers)
            report = health(answer)
            assert report["state_backend"] == "redis"
            assert report["protocol_version"] == "2025-06-18"
    finally:
        import asyncio

        asyncio.run(delete_prefix(prefix))
