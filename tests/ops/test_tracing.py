"""OpenTelemetry spans per the semantic conventions for MCP, exported to the SDK's
in-memory exporter: names, kinds, attributes and parents, with trace context from the
headers and from `params._meta` (SEP-414)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import baggage
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from cloudmcp import Context, MCPApp
from cloudmcp.ops.config import OpsConfig
from cloudmcp.ops.logs import flush_lines
from cloudmcp.ops.tracing import Tracing, xray_context
from cloudmcp.state.memory import MemoryStore
from cloudmcp.testing import TestClient

sys.path.insert(0, str(Path(__file__).parent))

from ops_calls import ACCEPT, META

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
#: Another caller's context: the HTTP hop's, when `_meta` names the MCP client's.
HOP_TRACE = "0af7651916cd43dd8448eb211c80319c"
HOP_PARENT = "b7ad6b7169203331"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    yield memory
    memory.clear()


def traced_app(exporter: InMemorySpanExporter) -> MCPApp:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = MCPApp("traced", store=MemoryStore(), tracer=Tracing(provider))

    @app.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @app.tool()
    def fail() -> str:
        raise ValueError("no")

    @app.tool()
    def carried() -> str:
        """What baggage the caller's context carries while the tool runs."""
        return str(baggage.get_baggage("user"))

    @app.tool()
    async def ask_name(ctx: Context) -> str:
        answer = await ctx.elicit("Your name?", {"type": "object", "properties": {}})
        return f"hello {(answer.content or {}).get('name')}"

    @app.prompt()
    def review(code: str) -> str:
        return f"Review {code}"

    @app.resource("notes://today")
    def today() -> str:
        return "nothing"

    return app


def call(
    name: str,
    arguments: dict[str, object],
    meta: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[dict[str, object], dict[str, str]]:
    params = {"name": name, "arguments": arguments, "_meta": {**META, **(meta or {})}}
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}
    all_headers = {
        "accept": ACCEPT,
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": name,
        **(headers or {}),
    }
    return body, all_headers


async def post(app: MCPApp, body: dict[str, object], headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app.http_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        return await http.post("/mcp", json=body, headers=headers)


def server_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    return span


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_a_header_traceparent_parents_the_server_span(
    exporter: InMemorySpanExporter,
) -> None:
    app = traced_app(exporter)
    traceparent = f"00-{TRACE}-{PARENT}-01"
    body, headers = call("add", {"a": 1, "b": 2}, headers={"traceparent": traceparent})
    response = await post(app, body, headers)
    assert response.status_code == 200
    # One span for the call: the MCP server span is the tool's execute_tool span too.
    (span,) = exporter.get_finished_spans()
    assert span.name == "tools/call add" and span.kind == SpanKind.SERVER
    assert f"{span.context.trace_id:032x}" == TRACE
    assert span.parent is not None and f"{span.parent.span_id:016x}" == PARENT
    assert span.parent.is_remote and not span.links
    assert attributes(span) == {
        "mcp.method.name": "tools/call",
        "gen_ai.tool.name": "add",
        "gen_ai.operation.name": "execute_tool",
        "jsonrpc.request.id": "7",
        "mcp.protocol.version": "2026-07-28",
        "network.transport": "tcp",
        "network.protocol.name": "http",
        "client.address": "127.0.0.1",
        "http.response.status_code": 200,
    }
    assert span.status.status_code == StatusCode.UNSET
    # Trace context out: the response names the server span.
    returned = response.headers["traceparent"].split("-")
    assert returned[1] == TRACE and returned[2] == f"{span.context.span_id:016x}"


async def test_meta_trace_context_parents_the_span_and_links_the_http_hop(
    exporter: InMemorySpanExporter,
) -> None:
    app = traced_app(exporter)
    meta = {
        "traceparent": f"00-{TRACE}-{PARENT}-01",
        "tracestate": "rojo=00f067aa0ba902b7",
        "baggage": "user=alice",
    }
    hop = {"traceparent": f"00-{HOP_TRACE}-{HOP_PARENT}-01"}
    body, headers = call("carried", {}, meta=meta, headers=hop)
    response = await post(app, body, headers)
    assert response.json()["result"]["content"][0]["text"] == "alice"  # baggage carried
    span = server_span(exporter)
    assert span.name == "tools/call carried"
    assert f"{span.context.trace_id:032x}" == TRACE
    assert span.parent is not None and f"{span.parent.span_id:016x}" == PARENT
    assert span.context.trace_state.get("rojo") == "00f067aa0ba902b7"
    (link,) = span.links
    assert f"{link.context.trace_id:032x}" == HOP_TRACE
    assert f"{link.context.span_id:016x}" == HOP_PARENT
    assert response.headers["traceparent"].split("-")[1] == TRACE


async def test_an_xray_header_parents_the_span(exporter: InMemorySpanExporter) -> None:
    app = traced_app(exporter)
    amzn = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    body, headers = call("add", {"a": 1, "b": 1}, headers={"x-amzn-trace-id": amzn})
    await post(app, body, headers)
    span = server_span(exporter)
    assert f"{span.context.trace_id:032x}" == "5759e988bd862e3fe1be46a994272793"
    assert span.parent is not None and f"{span.parent.span_id:016x}" == "53995c3f42cd8ad8"
    assert xray_context("Root=1-zz;Parent=1") is None


async def test_errors_mark_the_span(exporter: InMemorySpanExporter) -> None:
    app = traced_app(exporter)
    body, headers = call("fail", {})
    response = await post(app, body, headers)
    assert response.json()["result"]["isError"] is True
    span = server_span(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert attributes(span)["error.type"] == "tool_error"
    assert span.parent is None  # a new trace when the caller sent none

    exporter.clear()
    body, headers = call("no_such_tool", {})
    response = await post(app, body, headers)
    code = response.json()["error"]["code"]
    span = server_span(exporter)
    # An unknown name is an attribute, never part of the span name.
    assert span.name == "tools/call"
    assert attributes(span)["gen_ai.tool.name"] == "no_such_tool"
    assert attributes(span)["error.type"] == attributes(span)["rpc.response.status_code"]
    assert attributes(span)["error.type"] == str(code)
    assert span.status.status_code == StatusCode.ERROR


STATELESS_CALLS: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("server/discover", {}, "server/discover", {}),
    ("tools/list", {}, "tools/list", {}),
    ("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}}, "tools/call add",
     {"gen_ai.tool.name": "add", "gen_ai.operation.name": "execute_tool"}),
    ("resources/list", {}, "resources/list", {}),
    ("resources/templates/list", {}, "resources/templates/list", {}),
    ("resources/read", {"uri": "notes://today"}, "resources/read",
     {"mcp.resource.uri": "notes://today"}),
    ("prompts/list", {}, "prompts/list", {}),
    ("prompts/get", {"name": "review", "arguments": {"code": "x"}}, "prompts/get review",
     {"gen_ai.prompt.name": "review"}),
    ("completion/complete", {"ref": {"type": "ref/prompt", "name": "review"},
                             "argument": {"name": "code", "value": "x"}},
     "completion/complete", {}),
]  # fmt: skip


async def test_every_stateless_method_gets_its_server_span(
    exporter: InMemorySpanExporter,
) -> None:
    async with TestClient(traced_app(exporter)) as client:
        for method, params, name, expected in STATELESS_CALLS:
            exporter.clear()
            await client.request(method, params)
            span = server_span(exporter)
            assert span.name == name, method
            found = attributes(span)
            assert found["mcp.method.name"] == method
            assert found["mcp.protocol.version"] == "2026-07-28"
            assert found["jsonrpc.request.id"].isdigit()
            assert expected.items() <= found.items(), method
            assert "error.type" not in found and "mcp.session.id" not in found


async def test_every_legacy_method_and_notification_gets_its_server_span(
    exporter: InMemorySpanExporter,
) -> None:
    async def answer(method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert method == "elicitation/create"
        # The request to the client carries the context of the span that asked.
        asked.append(params["_meta"]["traceparent"])
        return {"action": "accept", "content": {"name": "Ada"}}

    asked: list[str] = []
    app = traced_app(exporter)
    async with TestClient(app, era="legacy", answer=answer) as client:
        await client.ping()
        await client.request("logging/setLevel", {"level": "info"})
        await client.request("resources/subscribe", {"uri": "notes://today"})
        await client.call_tool("add", {"a": 1, "b": 2})
        result = await client.call_tool("ask_name")
        assert result["content"][0]["text"] == "hello Ada"
    spans = exporter.get_finished_spans()
    names = [s.name for s in spans if s.kind == SpanKind.SERVER]
    for name in ("initialize", "notifications/initialized", "ping", "logging/setLevel",
                 "resources/subscribe", "tools/call add", "tools/call ask_name"):  # fmt: skip
        assert name in names, name
    for span in spans:
        if span.kind == SpanKind.SERVER and not span.name.startswith(("initialize", "DELETE")):
            found = attributes(span)
            assert found["mcp.protocol.version"] == "2025-11-25"
            # The session id is a capability: spans carry a digest of it.
            assert len(found["mcp.session.id"]) == 16
            assert found["mcp.session.id"] not in (client.session_id or "")
    # The server-to-client request: a CLIENT span, child of the tool call's span, whose
    # context went to the client in `_meta`.
    tool = next(s for s in spans if s.name == "tools/call ask_name")
    (elicit,) = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert elicit.name == "elicitation/create"
    assert attributes(elicit)["mcp.method.name"] == "elicitation/create"
    assert elicit.parent is not None and elicit.parent.span_id == tool.context.span_id
    assert elicit.context.trace_id == tool.context.trace_id
    (sent,) = asked
    assert sent.split("-")[2] == f"{elicit.context.span_id:016x}"


async def test_access_and_error_lines_name_the_span_s_trace(
    exporter: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    app = traced_app(exporter)
    http_app = app.http_app(operations=OpsConfig(log_format="json"))
    flush_lines()  # what earlier tests left buffered is not this test's
    capsys.readouterr()
    transport = httpx.ASGITransport(app=http_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        body, headers = call("add", {"a": 1, "b": 1})  # no context sent: a new trace
        await http.post("/mcp", json=body, headers=headers)
        body, headers = call("fail", {})  # logs the tool's exception
        await http.post("/mcp", json=body, headers=headers)
    assert http_app.service.ops is not None
    http_app.service.ops.flush()
    added, failed = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time or 0)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    access = [line for line in lines if line.get("logger") == "cloudmcp.access"]
    assert [line["trace_id"] for line in access] == [
        f"{added.context.trace_id:032x}",
        f"{failed.context.trace_id:032x}",
    ]
    # The tool's exception, logged with the trace of the call that raised it.
    errors = [line for line in lines if line.get("severity") == "ERROR"]
    assert errors and all("ValueError" in error["exception"] for error in errors)
    assert {error["trace_id"] for error in errors} == {f"{failed.context.trace_id:032x}"}


async def test_no_tracer_no_header() -> None:
    app = MCPApp("plain", store=MemoryStore())

    @app.tool()
    def add(a: int, b: int) -> int:
        return a + b

    body, headers = call("add", {"a": 1, "b": 2})
    response = await post(app, body, headers)
    assert response.status_code == 200 and "traceparent" not in response.headers
