"""Tasks under the Lambda Runtime Interface Emulator: the HTTP invocation answers with the
task at once and asks Lambda (here a local endpoint that records the call) to invoke the
function asynchronously; that invocation, sent to the emulator, runs the work; sending it
again changes nothing."""

from __future__ import annotations

import asyncio
import http.server
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from cloudmcp_serving import free_port
from lambda_calls import ROOT
from redis_support import REDIS_URL, delete_prefix, require_redis
from test_runtime_emulator import FUNCTION_NAME, Emulator, emulator
from wire import CAPABILITIES, TASKS, meta, modern_headers

TASKS_APP = ROOT / "tests" / "multi_instance" / "tasks_app.py"


class Recorded(list[dict[str, Any]]):
    """The requests the stand-in for Lambda's Invoke API received."""


@contextmanager
def invoke_api() -> Iterator[tuple[str, Recorded]]:
    recorded = Recorded()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            recorded.append(
                {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": json.loads(self.rfile.read(length)),
                }
            )
            self.send_response(202)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorded
    finally:
        server.shutdown()
        server.server_close()


def _request(rie: Emulator, method: str, params: dict[str, Any]) -> dict[str, Any]:
    capabilities = {**CAPABILITIES, "extensions": {TASKS: {}}}
    body_meta = meta(**{"io.modelcontextprotocol/clientCapabilities": capabilities})
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": body_meta}}
    name = params.get("taskId") or params.get("name")
    answer = rie.call("http-api-v2", body, modern_headers(method, name))
    assert answer.status == 200, answer.body
    result: dict[str, Any] = answer.last["result"]
    return result


def test_task_work_runs_in_an_asynchronous_invocation(tmp_path: Path) -> None:
    require_redis()
    prefix = f"cloudmcp-lambda-test-{secrets.token_hex(4)}:"
    store = redis.Redis.from_url(REDIS_URL)
    try:
        with invoke_api() as (endpoint, recorded):
            env = {
                "CLOUDMCP_APP": str(TASKS_APP),
                "REDIS_URL": REDIS_URL,
                "KEY_PREFIX": prefix,
                "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                "AWS_ENDPOINT_URL_LAMBDA": endpoint,
                "INSTANCE_ID": "lambda",
            }
            with emulator(tmp_path, **env) as rie:
                created = _request(
                    rie, "tools/call", {"name": "work", "arguments": {"seconds": 0.3}}
                )
                assert created["resultType"] == "task" and created["status"] == "working"
                task_id = created["taskId"]
                key = f"{prefix}task:{{{task_id}}}"
                # Stored before the answer, and not run by the HTTP invocation.
                stored = json.loads(store.get(key) or b"{}")
                assert stored["state"] == "queued" and "attempt" not in stored

                # One asynchronous invocation of this very function, signed.
                assert len(recorded) == 1, recorded
                invoke = recorded[0]
                assert invoke["path"] == f"/2015-03-31/functions/{FUNCTION_NAME}/invocations"
                assert invoke["headers"]["x-amz-invocation-type"] == "Event"
                assert invoke["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 ")
                assert "/us-east-1/lambda/aws4_request" in invoke["headers"]["authorization"]
                assert invoke["body"] == {"cloudmcp": "tasks.run", "taskId": task_id}

                # Lambda delivers it: the work runs in that invocation.
                ran = rie.invoke(invoke["body"])
                assert ran == {"taskId": task_id, "ran": True, "status": "completed"}
                done = _request(rie, "tasks/get", {"taskId": task_id})
                assert done["status"] == "completed"
                assert done["result"]["content"][0]["text"] == "done by lambda"
                finished = store.get(key)

                # Delivered twice: nothing to claim, nothing changes.
                again = rie.invoke(invoke["body"])
                assert again == {"taskId": task_id, "ran": False, "status": None}
                assert store.get(key) == finished
                assert len(recorded) == 1
    finally:
        store.close()
        asyncio.run(delete_prefix(prefix))


def test_sweep_runs_work_whose_invocation_was_lost(tmp_path: Path) -> None:
    require_redis()
    prefix = f"cloudmcp-lambda-test-{secrets.token_hex(4)}:"
    try:
        with invoke_api() as (endpoint, recorded):
            env = {
                "CLOUDMCP_APP": str(TASKS_APP),
                "REDIS_URL": REDIS_URL,
                "KEY_PREFIX": prefix,
                "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                "AWS_ENDPOINT_URL_LAMBDA": endpoint,
            }
            with emulator(tmp_path, **env) as rie:
                created = _request(
                    rie, "tools/call", {"name": "work", "arguments": {"seconds": 0.1}}
                )
                assert len(recorded) == 1  # ...and Lambda never delivers it
                swept = rie.invoke({"cloudmcp": "tasks.sweep"})
                assert swept == {"ran": [created["taskId"]]}
                done = _request(rie, "tasks/get", {"taskId": created["taskId"]})
                assert done["status"] == "completed"
                assert rie.invoke({"cloudmcp": "tasks.sweep"}) == {"ran": []}
    finally:
        asyncio.run(delete_prefix(prefix))


def test_a_run_longer_than_the_invocation_fails_clearly(tmp_path: Path) -> None:
    require_redis()
    prefix = f"cloudmcp-lambda-test-{secrets.token_hex(4)}:"
    try:
        with invoke_api() as (endpoint, recorded):
            env = {
                "CLOUDMCP_APP": str(TASKS_APP),
                "REDIS_URL": REDIS_URL,
                "KEY_PREFIX": prefix,
                "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                "AWS_ENDPOINT_URL_LAMBDA": endpoint,
                "AWS_LAMBDA_FUNCTION_TIMEOUT": "3",
            }
            with emulator(tmp_path, **env) as rie:
                created = _request(
                    rie, "tools/call", {"name": "work", "arguments": {"seconds": 30}}
                )
                ran = rie.invoke(recorded[0]["body"])
                assert ran["status"] == "failed", ran
                failed = _request(rie, "tasks/get", {"taskId": created["taskId"]})
        assert failed["status"] == "failed" and "result" not in failed
        assert failed["error"]["code"] == -32603
        assert "timed out" in failed["error"]["message"]
    finally:
        asyncio.run(delete_prefix(prefix))
