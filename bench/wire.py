"""The MCP requests the bench sends, as a client of each protocol era would send them.

- `2026`: the 2026-07-28 stateless wire. Every POST carries `MCP-Protocol-Version`,
  `Mcp-Method` and `Mcp-Name` headers, and the same version, client info and client
  capabilities in `params._meta` (spec: basic/transports/streamable-http, Request Metadata).
- `legacy`: a 2025-11-25 `tools/call` with no session, what a stateless legacy server takes.
- `session`: a 2025-11-25 session: `initialize`, `notifications/initialized`, then every
  request carries `Mcp-Session-Id`.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any

STATELESS = "2026-07-28"
LEGACY = "2025-11-25"
CLIENT_INFO = {"name": "cloudmcp-bench", "version": "1.0"}
ECHO_TEXT = "bench-echo-payload"

WIRES = ("2026", "legacy", "session")


@dataclass(frozen=True)
class Request:
    body: str
    headers: dict[str, str]


def tools_call(wire: str, name: str, arguments: dict[str, Any], request_id: int = 1) -> Request:
    """A `tools/call` request on `wire` (sessions add their own `Mcp-Session-Id`)."""
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    if wire == "2026":
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": STATELESS,
            "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        headers |= {"MCP-Protocol-Version": STATELESS, "Mcp-Method": "tools/call", "Mcp-Name": name}
    else:
        headers["MCP-Protocol-Version"] = LEGACY
    message = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
    return Request(json.dumps(message, separators=(",", ":")), headers)


def echo_request(wire: str) -> Request:
    return tools_call(wire, "echo", {"text": ECHO_TEXT})


class WireError(Exception):
    """A server answered something other than the expected MCP response."""


def post(
    port: int, path: str, request: Request, session: str = "", timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = dict(request.headers)
    if session:
        headers["Mcp-Session-Id"] = session
    try:
        conn.request("POST", path, body=request.body.encode(), headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def decode(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The JSON-RPC response in a JSON or SSE HTTP body."""
    if headers.get("content-type", "").startswith("text/event-stream"):
        for line in body.decode().splitlines():
            if line.startswith("data:") and line[5:].strip():
                message: dict[str, Any] = json.loads(line[5:])
                if "id" in message:
                    return message
        raise WireError(f"no JSON-RPC response in SSE stream: {body[:200]!r}")
    decoded: dict[str, Any] = json.loads(body)
    return decoded


def open_session(port: int, path: str) -> str:
    """Initialize a legacy session and return its `Mcp-Session-Id`."""
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": CLIENT_INFO},
    }
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    status, got, body = post(port, path, Request(json.dumps(init), headers))
    session = got.get("mcp-session-id", "")
    if status != 200 or not session:
        raise WireError(f"initialize: HTTP {status}, no session id: {body[:200]!r}")
    decode(got, body)
    notice = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    status, _, body = post(
        port, path, Request(json.dumps(notice), headers | {"MCP-Protocol-Version": LEGACY}), session
    )
    if status not in (200, 202):
        raise WireError(f"notifications/initialized: HTTP {status}: {body[:200]!r}")
    return session


def call_text(port: int, path: str, request: Request, session: str = "") -> str:
    """Send a `tools/call` and return the text of its single content block."""
    status, headers, body = post(port, path, request, session)
    if status != 200:
        raise WireError(f"HTTP {status}: {body[:200]!r}")
    message = decode(headers, body)
    result = message.get("result")
    if not isinstance(result, dict) or result.get("isError"):
        raise WireError(f"no tool result: {json.dumps(message)[:200]}")
    text = result["content"][0]["text"]
    if not isinstance(text, str):
        raise WireError(f"content is not text: {result!r}")
    return text


def check(port: int, path: str, wire: str) -> None:
    """The correctness pre-check: `echo` and `add` answer right on `wire`."""
    session = open_session(port, path) if wire == "session" else ""
    got = call_text(port, path, echo_request(wire), session)
    if got != ECHO_TEXT:
        raise WireError(f"echo returned {got!r}")
    got = call_text(port, path, tools_call(wire, "add", {"a": 2, "b": 3}, 2), session)
    if float(got) != 5.0:
        raise WireError(f"add(2, 3) returned {got!r}")
