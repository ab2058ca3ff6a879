"""Direct mode: Lambda events through `LambdaHandler` into the engine and back, in process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from lambda_calls import (
    EXAMPLE,
    KINDS,
    SHARED,
    TOOLS_LIST,
    LegacySession,
    SlowContext,
    answer_of,
    fresh_app,
    invoke,
    modern_call,
    shared_event,
)
from wire import ACCEPT, STATELESS

from cloudmcp import Context, MCPApp
from cloudmcp.aws_lambda import invocation, lambda_handler
from cloudmcp.aws_lambda.direct import LambdaHandler
from cloudmcp.aws_lambda.local import LocalContext, make_event
from cloudmcp.errors import UnsupportedEvent


@pytest.fixture(scope="module")
def handler() -> Iterator[LambdaHandler]:
    """One handler for the module: every call after the first is a warm invocation."""
    made = lambda_handler(fresh_app())
    yield made
    made.close()


def tool_names(answer: Any) -> set[str]:
    return {tool["name"] for tool in answer.last["result"]["tools"]}


# every event kind


@pytest.mark.parametrize("kind", KINDS)
def test_modern_tools_list(handler: LambdaHandler, kind: str) -> None:
    answer = modern_call(handler, kind, "tools/list")
    assert answer.status == 200, answer.body
    assert "test_simple_text" in tool_names(answer)
    assert answer.last["result"]["resultType"] == "complete"


@pytest.mark.parametrize("kind", sorted(SHARED))
def test_shared_events_in_a_session(handler: LambdaHandler, kind: str) -> None:
    """The shared events' base64 tools/list, as-is, answered within a legacy session."""
    session = LegacySession(handler, kind)
    response = handler(shared_event(kind, **{"mcp-session-id": session.id}), LocalContext())
    answer = answer_of(response)
    assert answer.status == 200, answer.body
    assert "test_simple_text" in tool_names(answer)
    # The response has its kind's shape.
    shape = {
        "api-gateway-v1": {"statusCode", "headers", "multiValueHeaders", "body"},
        "http-api-v2": {"statusCode", "headers", "cookies", "body"},
        "function-url": {"statusCode", "headers", "cookies", "body"},
        "alb": {"statusCode", "statusDescription", "headers", "body"},
    }[kind]
    assert shape | {"isBase64Encoded"} == set(response)


@pytest.mark.parametrize("kind", sorted(SHARED))
def test_shared_events_without_a_session(handler: LambdaHandler, kind: str) -> None:
    # A tools/list with no _meta and no session is a legacy request that needs a session.
    answer = answer_of(handler(shared_event(kind), LocalContext()))
    assert answer.status == 400
    assert "Mcp-Session-Id" in answer.json()["error"]["message"]


def test_unsupported_event_raises(handler: LambdaHandler) -> None:
    with pytest.raises(UnsupportedEvent):
        handler({"source": "aws.events"}, LocalContext())


# bodies, headers, paths


@pytest.mark.parametrize("as_base64", [True, False])
@pytest.mark.parametrize("kind", ["api-gateway-v1", "http-api-v2", "alb"])
def test_plain_and_base64_bodies(handler: LambdaHandler, kind: str, as_base64: bool) -> None:
    body = {**TOOLS_LIST, "params": {"_meta": _meta()}}
    headers = {
        "content-type": "application/json",
        "accept": ACCEPT,
        "mcp-protocol-version": STATELESS,
        "mcp-method": "tools/list",
    }
    answer = invoke(handler, kind, body, headers, as_base64=as_base64)
    assert answer.status == 200, answer.body


def _meta() -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": STATELESS,
        "io.modelcontextprotocol/clientCapabilities": {},
    }


@pytest.mark.parametrize("kind", ["api-gateway-v1", "alb-multi-value"])
def test_header_names_are_case_insensitive(handler: LambdaHandler, kind: str) -> None:
    body = {**TOOLS_LIST, "params": {"_meta": _meta()}}
    headers = {
        "Content-Type": "application/json",
        "ACCEPT": ACCEPT,
        "Mcp-Protocol-Version": STATELESS,
        "MCP-METHOD": "tools/list",
    }
    answer = invoke(handler, kind, body, headers)
    assert answer.status == 200, answer.body


@pytest.mark.parametrize("kind", KINDS)
def test_trailing_slash(handler: LambdaHandler, kind: str) -> None:
    body = {**TOOLS_LIST, "params": {"_meta": _meta()}}
    headers = {
        "content-type": "application/json",
        "accept": ACCEPT,
        "mcp-protocol-version": STATELESS,
        "mcp-method": "tools/list",
    }
    assert invoke(handler, kind, body, headers, path="/mcp/").status == 200
    assert invoke(handler, kind, body, headers, path="/elsewhere").status == 404


def test_health_route(handler: LambdaHandler) -> None:
    answer = invoke(handler, "http-api-v2", method="GET", path="/health")
    assert answer.status == 200
    assert answer.json()["status"] == "healthy"


# GET, DELETE and OPTIONS per era


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_modern_get_and_delete_are_405(handler: LambdaHandler, method: str) -> None:
    headers = {"accept": ACCEPT, "mcp-protocol-version": STATELESS}
    answer = invoke(handler, "http-api-v2", method=method, headers=headers)
    assert answer.status == 405
    assert "POST" in answer.headers["allow"]


def test_legacy_standalone_get_is_405(handler: LambdaHandler) -> None:
    session = LegacySession(handler, "api-gateway-v1")
    started = time.monotonic()
    answer = invoke(handler, "api-gateway-v1", method="GET", headers=session.headers)
    assert answer.status == 405  # no stream that outlives the invocation
    assert time.monotonic() - started < 2


def test_legacy_delete_ends_the_session(handler: LambdaHandler) -> None:
    session = LegacySession(handler, "function-url")
    assert invoke(handler, "function-url", method="DELETE", headers=session.headers).status == 204
    gone = session.post({"jsonrpc": "2.0", "id": 5, "method": "tools/list"})
    assert gone.status == 404


def test_legacy_resumption_with_last_event_id(handler: LambdaHandler) -> None:
    """A stream closed mid-call (SSE polling) is resumed by a GET in a later invocation."""
    session = LegacySession(handler, "http-api-v2")
    first = session.post(
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "test_reconnection"}}
    )
    assert first.status == 200
    assert first.headers["content-type"].startswith("text/event-stream")
    assert not any(m.get("id") == 7 for m in first.messages)  # closed before the result
    last_id = [line[3:].strip() for line in first.body.decode().splitlines() if line[:3] == "id:"]
    started = time.monotonic()
    resumed = invoke(
        handler,
        "http-api-v2",
        method="GET",
        headers={**session.headers, "last-event-id": last_id[-1]},
    )
    assert resumed.status == 200
    assert time.monotonic() - started < 2
    result = resumed.last
    assert result["id"] == 7
    assert "Reconnection test completed" in result["result"]["content"][0]["text"]


def test_options_without_cors(handler: LambdaHandler) -> None:
    assert invoke(handler, "api-gateway-v1", method="OPTIONS").status == 405
    headers = {"origin": "https://app.example", "access-control-request-method": "POST"}
    answer = invoke(handler, "api-gateway-v1", method="OPTIONS", headers=headers)
    assert answer.status == 403  # a foreign origin, and no CORS to vouch for it
    assert "access-control-allow-origin" not in answer.headers
    posted = modern_call(handler, "http-api-v2", "tools/list", extra_headers=headers)
    assert "access-control-allow-origin" not in posted.headers


# CORS, when asked for


def cors_handler(origins: tuple[str, ...]) -> LambdaHandler:
    app = fresh_app()
    app.settings.cors_allow_origins = origins
    app.settings.allowed_origins = origins  # the engine's own Origin check
    return lambda_handler(app)


@pytest.mark.parametrize("kind", ["api-gateway-v1", "alb"])
def test_cors_preflight_and_headers(kind: str) -> None:
    handler = cors_handler(("https://app.example", "https://*.example.org"))
    try:
        preflight = invoke(
            handler,
            kind,
            method="OPTIONS",
            headers={
                "origin": "https://app.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, mcp-protocol-version",
            },
        )
        assert preflight.status == 204
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert preflight.headers["access-control-allow-headers"] == (
            "content-type, mcp-protocol-version"
        )
        origin = {"origin": "https://docs.example.org"}
        posted = modern_call(handler, kind, "tools/list", extra_headers=origin)
        assert posted.status == 200
        assert posted.headers["access-control-allow-origin"] == "https://docs.example.org"
        assert "mcp-session-id" in posted.headers["access-control-expose-headers"]
        stranger = {"origin": "https://evil.example"}
        refused = modern_call(handler, kind, "tools/list", extra_headers=stranger)
        assert refused.status == 403
        assert "access-control-allow-origin" not in refused.headers
        not_allowed = invoke(handler, kind, method="OPTIONS", headers=stranger)
        assert not_allowed.status == 403
        assert "access-control-allow-origin" not in not_allowed.headers
    finally:
        handler.close()


def test_cors_any_origin() -> None:
    handler = cors_handler(("*",))
    try:
        origin = {"origin": "https://anywhere.example"}
        posted = modern_call(handler, "http-api-v2", "tools/list", extra_headers=origin)
        assert posted.status == 200
        assert posted.headers["access-control-allow-origin"] == "*"
        assert "vary" not in posted.headers
    finally:
        handler.close()


# sessions, MRTR, streams


@pytest.mark.parametrize("kind", KINDS)
def test_legacy_session_across_invocations(handler: LambdaHandler, kind: str) -> None:
    session = LegacySession(handler, kind)
    assert session.initialize["result"]["protocolVersion"] == "2025-11-25"
    listed = session.call("tools/list", id=2)
    assert "test_simple_text" in {tool["name"] for tool in listed["result"]["tools"]}
    called = session.call("tools/call", {"name": "test_simple_text"}, id=3)
    assert called["result"]["content"][0]["text"] == "This is a simple text response for testing."
    assert session.call("ping", id=4)["result"] == {}


def test_mrtr_round_trip(handler: LambdaHandler) -> None:
    name = "test_input_required_result_multi_round"
    first = modern_call(handler, "function-url", "tools/call", {"name": name, "arguments": {}})
    interim = first.last["result"]
    assert interim["resultType"] == "input_required"
    (key,) = interim["inputRequests"]
    second = modern_call(
        handler,
        "api-gateway-v1",  # any kind, any invocation: the state travels with the request
        "tools/call",
        {
            "name": name,
            "arguments": {},
            "inputResponses": {key: {"action": "accept", "content": {"name": "Alice"}}},
            "requestState": interim["requestState"],
        },
    )
    interim2 = second.last["result"]
    assert interim2["resultType"] == "input_required"
    assert interim2["requestState"] != interim["requestState"]
    (key2,) = interim2["inputRequests"]
    third = modern_call(
        handler,
        "alb",
        "tools/call",
        {
            "name": name,
            "arguments": {},
            "inputResponses": {key2: {"action": "accept", "content": {"color": "blue"}}},
            "requestState": interim2["requestState"],
        },
    )
    done = third.last["result"]
    assert done["resultType"] == "complete"
    assert "Alice" in done["content"][0]["text"] and "blue" in done["content"][0]["text"]


def test_progress_is_collected_into_the_body(handler: LambdaHandler) -> None:
    params = {"name": "test_tool_with_progress", "_meta": {"progressToken": "p-1"}}
    answer = modern_call(handler, "http-api-v2", "tools/call", params)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    progress = [m for m in answer.messages if m.get("method") == "notifications/progress"]
    assert [m["params"]["progress"] for m in progress] == [0, 50, 100]
    assert answer.last["result"]["content"][0]["text"] == "p-1"


def test_subscriptions_listen_returns_after_the_ack(handler: LambdaHandler) -> None:
    started = time.monotonic()
    params = {"notifications": {"toolsListChanged": True}}
    answer = modern_call(handler, "http-api-v2", "subscriptions/listen", params, id=9)
    assert time.monotonic() - started < 2
    ack, end = answer.messages
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    assert ack["params"]["notifications"] == {"toolsListChanged": True}
    assert ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 9
    assert end["id"] == 9 and end["result"]["resultType"] == "complete"


def test_legacy_input_request_fails_fast(handler: LambdaHandler) -> None:
    """A legacy server-to-client request cannot be answered before the response ends."""
    session = LegacySession(handler, "http-api-v2")
    started = time.monotonic()
    answer = session.post(
        {
            "jsonrpc": "2.0",
            "id": 11,
            "method": "tools/call",
            "params": {"name": "test_elicitation", "arguments": {"message": "hi?"}},
        }
    )
    assert time.monotonic() - started < 2
    assert "error" in answer.last or answer.last["result"].get("isError") is True


# the invocation, as tools see it


def platform_app() -> MCPApp:
    app = MCPApp("platform-probe")

    @app.tool()
    async def probe(ctx: Context) -> dict[str, Any]:
        invocation_seen = ctx.platform
        return {
            "request_id": invocation_seen.aws_request_id,
            "function_name": invocation_seen.function_name,
            "memory": invocation_seen.memory_limit_in_mb,
            "remaining_ms": invocation_seen.get_remaining_time_in_millis(),
            "cold_start": invocation_seen.cold_start,
            "route": invocation_seen.event["requestContext"].get("routeKey"),
            "time_left": ctx.remaining(),
        }

    @app.tool()
    async def sleepy(seconds: float) -> str:
        import asyncio

        await asyncio.sleep(seconds)
        return "woke"

    return app


def test_context_reaches_tools_and_caps_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invocation, "_served", 0)  # a fresh execution environment
    handler = lambda_handler(platform_app())
    try:
        context = LocalContext(function_name="probe-fn", memory_mb=256, timeout=5)
        first = modern_call(
            handler, "http-api-v2", "tools/call", {"name": "probe"}, context=context
        )
        seen = first.last["result"]["structuredContent"]
        assert seen["request_id"] == context.aws_request_id
        assert seen["function_name"] == "probe-fn"
        assert seen["memory"] == "256"
        assert 0 < seen["remaining_ms"] <= 5000
        assert seen["route"] == "$default"
        assert seen["cold_start"] is True
        assert 4.0 < seen["time_left"] < 5.0  # the deadline, less the safety margin
        again = modern_call(handler, "http-api-v2", "tools/call", {"name": "probe"})
        assert again.last["result"]["structuredContent"]["cold_start"] is False

        started = time.monotonic()
        cut = modern_call(
            handler,
            "http-api-v2",
            "tools/call",
            {"name": "sleepy", "arguments": {"seconds": 30}},
            context=SlowContext(1.0),
        )
        assert time.monotonic() - started < 1.0  # answered before Lambda would cut it off
        assert "timed out" in json.dumps(cut.last)
    finally:
        handler.close()


def test_example_health_check_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """cold_start is true on the container's first invocation only, whatever it was."""
    monkeypatch.setattr(invocation, "_served", 0)
    handler = lambda_handler(fresh_app(EXAMPLE))
    try:
        listed = modern_call(handler, "http-api-v2", "tools/list")  # the cold invocation
        assert listed.status == 200
        report = modern_call(handler, "http-api-v2", "tools/call", {"name": "health_check"})
        first_health = report.last["result"]["structuredContent"]
        assert first_health["cold_start"] is False  # its first call, but a warm invocation
        assert first_health["lambda"]["function_name"] == "cloudmcp-local"
        assert first_health["lambda"]["memory_limit_mb"] == 1024
    finally:
        handler.close()
    monkeypatch.setattr(invocation, "_served", 0)
    handler = lambda_handler(fresh_app(EXAMPLE))
    try:
        report = modern_call(handler, "alb", "tools/call", {"name": "health_check"})
        assert report.last["result"]["structuredContent"]["cold_start"] is True
    finally:
        handler.close()


def test_warm_invocations_reuse_loop_and_store(handler: LambdaHandler) -> None:
    loop, store = handler.loop, handler.engine.store
    for kind in KINDS:
        assert modern_call(handler, kind, "tools/list").status == 200
    assert handler.loop is loop and handler.engine.store is store
    assert not loop.is_closed()


def test_generated_event_headers_reach_the_engine(handler: LambdaHandler) -> None:
    event = make_event("http-api-v2", "POST", "/mcp", {"content-type": "text/plain"}, b"{}")
    answer = answer_of(handler(event, LocalContext()))
    assert answer.status == 415
