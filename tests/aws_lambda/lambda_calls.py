"""Invoking a Lambda handler the way AWS does, for the tests in this directory."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudmcp_serving import cloudmcp_command, free_port, run_server
from wire import ACCEPT, events, initialize, meta, modern_headers

from cloudmcp.application import MCPApp
from cloudmcp.aws_lambda.local import LocalContext, make_event, read_response
from cloudmcp.loader import load_app

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE_FIXTURE = ROOT / "examples" / "conformance" / "server.py"
EXAMPLE = ROOT / "src" / "cloudmcp" / "example.py"
# shared/ sits beside the repository (in CI too); the workplace keeps one at /work/shared.
SHARED_EVENTS = next(
    (p for p in (ROOT.parent / "shared" / "lambda-events", Path("/work/shared/lambda-events"))
     if p.is_dir()),
    ROOT.parent / "shared" / "lambda-events",
)  # fmt: skip
#: The shared sample events, by the event kind each is.
SHARED = {
    "api-gateway-v1": SHARED_EVENTS / "apigw-v1-rest-aws-proxy.json",
    "http-api-v2": SHARED_EVENTS / "apigw-v2-http-api-proxy.json",
    "function-url": SHARED_EVENTS / "lambda-function-url.json",
    "alb": SHARED_EVENTS / "alb-request.json",
}
KINDS = ("api-gateway-v1", "http-api-v2", "function-url", "alb", "alb-multi-value")
TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def fresh_app(path: Path = CONFORMANCE_FIXTURE) -> MCPApp:
    """A new instance of the app in `path` (loading a file makes a new module each time), so
    the settings a handler adjusts never leak into other tests' apps."""
    return load_app(str(path))


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    raw: dict[str, Any]

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def messages(self) -> list[Any]:
        """The JSON-RPC messages of the body, JSON or SSE."""
        if self.headers.get("content-type", "").startswith("text/event-stream"):
            return events(self.body.decode())
        return [self.json()]

    @property
    def last(self) -> Any:
        return self.messages[-1]


def answer_of(response: dict[str, Any]) -> Answer:
    status, headers, body = read_response(response)
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return Answer(status, merged, body, response)


def invoke(
    handler: Any,
    kind: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    method: str = "POST",
    path: str = "/mcp",
    as_base64: bool = True,
    context: Any = None,
) -> Answer:
    data = b"" if body is None else json.dumps(body).encode()
    headers = {"host": "mcp.example.com", **(headers or {})}
    event = make_event(kind, method, path, headers, data, as_base64=as_base64)
    return answer_of(handler(event, context or LocalContext()))


def modern_call(
    handler: Any,
    kind: str,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    id: int = 1,
    extra_headers: dict[str, str] | None = None,
    context: Any = None,
    capabilities: dict[str, Any] | None = None,
) -> Answer:
    """A conformant 2026-07-28 request through the handler."""
    params = dict(params or {})
    request_meta = meta(**params.pop("_meta", {}))
    if capabilities is not None:
        request_meta["io.modelcontextprotocol/clientCapabilities"] = capabilities
    params["_meta"] = request_meta
    name = params.get("name") or params.get("uri")
    body = {"jsonrpc": "2.0", "id": id, "method": method, "params": params}
    headers = {**modern_headers(method, name), **(extra_headers or {})}
    return invoke(handler, kind, body, headers, context=context)


class LegacySession:
    """A 2025-11-25 session opened with `initialize`, each request its own invocation."""

    def __init__(self, handler: Any, kind: str, version: str = "2025-11-25") -> None:
        self.handler = handler
        self.kind = kind
        self.version = version
        init = initialize(version, "lambda-test")
        answer = invoke(handler, kind, init, {"content-type": "application/json", "accept": ACCEPT})
        assert answer.status == 200, answer.body
        self.initialize = answer.last
        self.id = answer.headers["mcp-session-id"]
        sent = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert sent.status == 202, sent.body

    @property
    def headers(self) -> dict[str, str]:
        return {
            "content-type": "application/json",
            "accept": ACCEPT,
            "mcp-session-id": self.id,
            "mcp-protocol-version": self.version,
        }

    def post(self, body: Any, **headers: str) -> Answer:
        return invoke(self.handler, self.kind, body, {**self.headers, **headers})

    def call(self, method: str, params: dict[str, Any] | None = None, id: int = 1) -> Any:
        answer = self.post({"jsonrpc": "2.0", "id": id, "method": method, "params": params or {}})
        assert answer.status == 200, answer.body
        return answer.last


def shared_event(kind: str, **headers: str) -> dict[str, Any]:
    """A shared sample event (a base64 tools/list to /mcp) with MCP headers added, in the
    event's own header form."""
    event: dict[str, Any] = json.loads(SHARED[kind].read_text())
    wanted = {"content-type": "application/json", "accept": ACCEPT, **headers}
    if "multiValueHeaders" in event:
        event["multiValueHeaders"].update({k: [v] for k, v in wanted.items()})
    event.setdefault("headers", {}).update(wanted)
    return event


def decoded_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()


class SlowContext(LocalContext):
    """A context whose invocation has only `seconds` left."""

    def __init__(self, seconds: float) -> None:
        super().__init__(timeout=seconds)


def elapsed(started: float) -> float:
    return time.monotonic() - started


def lambda_serve(target: Path, kind: str, log: Path) -> Iterator[str]:
    """`cloudmcp lambda serve TARGET --event KIND` on a free port; yields its MCP URL."""
    port = free_port()
    command = [*cloudmcp_command(), "lambda", "serve", str(target), "--event", kind]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    for served in run_server(command, port, log, path="/mcp"):
        yield served.url
