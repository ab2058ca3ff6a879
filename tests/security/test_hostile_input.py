"""Hostile input against an authenticated server: random headers, bodies and tool
arguments, straight into the ASGI app.

Whatever arrives, the server must answer (no exception escapes, nothing hangs), never
with a 5xx, and never repeat a credential - in a response or in a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from authorization_server import AuthorizationServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from secured_app import build_app

from cloudmcp.settings import Settings
from cloudmcp.state.memory import MemoryStore

API_KEY = "fuzz-api-key-9f1c2e7a5b3d4c6e8a0b"
STATELESS = "2026-07-28"
LEGACY = "2025-11-25"
#: Examples per test; CLOUDMCP_FUZZ_EXAMPLES=5000 for a long run.
EXAMPLES = int(os.environ.get("CLOUDMCP_FUZZ_EXAMPLES", "400"))

Headers = list[tuple[bytes, bytes]]


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # with any traceback, as a log sink would


@dataclass
class Target:
    """The server under attack, with the credentials it accepts."""

    app: Any
    loop: asyncio.AbstractEventLoop
    token: str
    secrets: tuple[str, ...]
    #: A session the header fuzz may send (and DELETE), and one only tool calls use.
    session: str = ""
    tool_session: str = ""
    statuses: dict[int, int] = field(default_factory=dict)

    def open_session(self) -> str:
        status, raw = self.call("POST", "/mcp", [*BASE, *bearer(self.token)], INITIALIZE)
        assert status == 200
        return next(
            line.split(b": ", 1)[1].decode()
            for line in raw.split(b"\n")
            if line.startswith(b"mcp-session-id: ")
        )

    def call(self, method: str, path: str, headers: Headers, body: bytes) -> tuple[int, bytes]:
        status, raw = self.loop.run_until_complete(asgi(self.app, method, path, headers, body))
        self.statuses[status] = self.statuses.get(status, 0) + 1
        return status, raw


async def asgi(
    app: Any, method: str, path: str, headers: Headers, body: bytes
) -> tuple[int, bytes]:
    """One request through the ASGI interface; the client leaves 0.3 s after sending."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(0.3)
        return {"type": "http.disconnect"}

    status = 0
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            chunks.extend(k + b": " + v for k, v in message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return status, b"\n".join(chunks)


@pytest.fixture(scope="module")
def target(authorization_server: AuthorizationServer) -> Iterator[Target]:
    config = Settings(
        auth="api_key,oauth",
        resource_uri="http://testserver/mcp",
        oauth_issuer=authorization_server.url,
        oauth_jwks_url=f"{authorization_server.url}/jwks",
        api_keys=(f"{API_KEY}:fuzzer:tools:read files:read",),
        required_scopes=("tools:read",),
        max_result_size=256 * 1024,
        tool_timeout=1.0,
        sse_keepalive=0.1,
    )
    mcp = build_app(config, MemoryStore())
    token = authorization_server.token(aud="http://testserver/mcp", scope="tools:read admin")
    loop = asyncio.new_event_loop()
    handler = Captured()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        found = Target(mcp.http_app(), loop, token, (token, API_KEY))
        found.session = found.open_session()
        found.tool_session = found.open_session()
        yield found
        leaked = [line for line in handler.lines for s in found.secrets if s in line]
        assert not leaked, leaked[:3]
        assert sum(found.statuses.values()) > EXAMPLES
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        loop.run_until_complete(mcp.compose().close())
        loop.close()


BASE: Headers = [
    (b"host", b"testserver"),
    (b"content-type", b"application/json"),
    (b"accept", b"application/json, text/event-stream"),
]
INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "f"}},
    }
).encode()


def bearer(token: str) -> Headers:
    return [(b"authorization", b"Bearer " + token.encode())]


def check(target: Target, status: int, raw: bytes) -> None:
    assert 100 <= status < 500, (status, raw[:500])
    for secret in target.secrets:
        assert secret.encode() not in raw


# strategies

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
HEADER_NAMES = [
    "authorization",
    "x-api-key",
    "host",
    "origin",
    "content-type",
    "accept",
    "mcp-protocol-version",
    "mcp-session-id",
    "mcp-method",
    "mcp-name",
    "x-forwarded-host",
    "last-event-id",
    "content-length",
]
METHODS = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "server/discover",
    "subscriptions/listen",
    "notifications/initialized",
    "notifications/cancelled",
]
TOOLS = ["echo", "whoami", "add", "reset", "read_file", "slow", "big", "boom", "nope"]


@st.composite
def header_values(draw: st.DrawFn) -> bytes:
    return draw(
        st.one_of(
            st.binary(max_size=80),
            st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80).map(
                lambda t: t.encode("latin-1")
            ),
            st.sampled_from(
                [
                    b"Bearer ",
                    b"Bearer a b",
                    b"bearer x.y.z",
                    b"Basic Zm9vOmJhcg==",
                    STATELESS.encode(),
                    LEGACY.encode(),
                    b"application/json",
                    b"text/event-stream",
                    b"*/*",
                    b"null",
                    b"http://[",
                    b"https://evil.example",
                    b"-1",
                    b"99999999999999999999",
                    b"get.0",
                ]
            ),
        )
    )


@st.composite
def credentials(draw: st.DrawFn, target_token: str) -> Headers:
    choice = draw(st.sampled_from(["token", "key", "key-bearer", "none", "junk", "bad-jwt"]))
    if choice == "token":
        return bearer(target_token)
    if choice == "key":
        return [(b"x-api-key", API_KEY.encode())]
    if choice == "key-bearer":
        return bearer(API_KEY)
    if choice == "junk":
        return [(b"authorization", b"Bearer " + draw(st.binary(min_size=1, max_size=60)))]
    if choice == "bad-jwt":
        head, payload, sig = target_token.split(".")
        return bearer(f"{head}.{payload[::-1]}.{sig}")
    return []


@st.composite
def rpc_message(draw: st.DrawFn) -> Any:
    method = draw(st.sampled_from(METHODS) | st.text(max_size=20))
    params: Any = draw(
        st.dictionaries(
            st.sampled_from(
                ["name", "uri", "arguments", "_meta", "level", "ref", "argument", "cursor"]
            ),
            json_values,
            max_size=4,
        )
        | json_values
    )
    message: dict[str, Any] = {
        "jsonrpc": draw(st.sampled_from(["2.0", "1.0", 2])),
        "method": method,
    }
    if draw(st.booleans()):
        message["id"] = draw(st.integers() | st.text(max_size=8) | st.none() | st.floats())
    if draw(st.booleans()):
        message["params"] = params
    return message


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "rpc", "batch"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "rpc":
        return json.dumps(draw(rpc_message())).encode()
    return json.dumps(draw(st.lists(rpc_message(), max_size=4))).encode()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_fuzz_headers_and_bodies(target: Target, data: st.DataObject) -> None:
    method = data.draw(st.sampled_from(["POST"] * 6 + ["GET", "DELETE", "OPTIONS", "PUT"]))
    path = data.draw(
        st.sampled_from(
            [
                "/mcp",
                "/mcp/",
                "/.well-known/oauth-protected-resource",
                "/.well-known/oauth-protected-resource/mcp",
                "/health",
                "/",
                "/nope",
            ]
        )
    )
    headers = list(BASE) if data.draw(st.booleans()) else []
    headers += data.draw(credentials(target.token))
    extra = data.draw(
        st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_values()), max_size=5)
    )
    headers += [(name.encode(), value) for name, value in extra]
    if data.draw(st.booleans()):
        headers.append((b"mcp-session-id", target.session.encode()))
    status, raw = target.call(method, path, headers, data.draw(bodies()))
    check(target, status, raw)


@st.composite
def tool_arguments(draw: st.DrawFn) -> dict[str, Any]:
    keys = st.sampled_from(["text", "a", "b", "confirm", "path", "seconds", "size", "x"]) | st.text(
        max_size=6
    )
    values = (
        json_values
        | st.integers(min_value=-(10**6), max_value=3_000_000)
        | st.floats(min_value=-1, max_value=3)
    )
    return draw(st.dictionaries(keys, values, max_size=4))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_tool_arguments(target: Target, data: st.DataObject) -> None:
    """Well-formed calls with valid credentials, so the arguments reach the tools."""
    name = data.draw(st.sampled_from(TOOLS))
    arguments: Any = data.draw(tool_arguments() | json_values)
    auth = data.draw(st.sampled_from([bearer(target.token), [(b"x-api-key", API_KEY.encode())]]))
    params = {"name": name, "arguments": arguments}
    if data.draw(st.booleans()):
        meta = {
            "io.modelcontextprotocol/protocolVersion": STATELESS,
            "io.modelcontextprotocol/clientInfo": {"name": "fuzz", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        headers = [
            *BASE,
            *auth,
            (b"mcp-protocol-version", STATELESS.encode()),
            (b"mcp-method", b"tools/call"),
            (b"mcp-name", name.encode()),
        ]
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {**params, "_meta": meta},
        }
    else:
        headers = [
            *BASE,
            *bearer(target.token),  # the session's owner
            (b"mcp-session-id", target.tool_session.encode()),
            (b"mcp-protocol-version", LEGACY.encode()),
        ]
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    started = time.monotonic()
    status, raw = target.call("POST", "/mcp", headers, json.dumps(body).encode())
    check(target, status, raw)
    assert time.monotonic() - started < 5
    assert status in (200, 403), (status, raw[:300])  # 403: a tool needing more scopes
