"""OpenTelemetry: a span per request and per tool call, W3C trace context in and out."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from cloudmcp import MCPApp
from cloudmcp.ops.tracing import Tracing
from cloudmcp.state.memory import MemoryStore

sys.path.insert(0, str(Path(__file__).parent))

from ops_calls import ACCEPT, META

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


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

    return app


def call(
    name: str,
    arguments: dict[str, object],
    meta: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[dict[str, object], dict[str, str]]:
    params = {"name": name, "arguments": arguments, "_meta": {**META, **(meta or {})}}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
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


async def test_spans_join_the_callers_trace_from_the_header(
    exporter: InMemorySpanExporter,
) -> None:
    app = traced_app(exporter)
    body, headers = call(
        "add", {"a": 1, "b": 2}, headers={"traceparent": f"00-{TRACE}-{PARENT}-01"}
    )
    response = await post(app, body, headers)
    assert response.status_code == 200
    spans = {span.name: span for span in exporter.get_finished_spans()}
    request, tool = spans["tools/call add"], spans["execute_tool add"]
    assert request.kind == SpanKind.SERVER
    assert f"{request.context.trace_id:032x}" == TRACE
    assert request.parent is not None and f"{request.parent.span_id:016x}" == PARENT
    assert tool.parent is not None and tool.parent.span_id == request.context.span_id
    assert request.attributes is not None and tool.attributes is not None
    assert request.attributes["mcp.method.name"] == "tools/call"
    assert request.attributes["gen_ai.tool.name"] == "add"
    assert request.attributes["mcp.protocol.version"] == "2026-07-28"
    assert request.attributes["http.response.status_code"] == 200
    assert tool.attributes["gen_ai.tool.name"] == "add"
    # Trace context out: the response names the server span.
    returned = response.headers["traceparent"].split("-")
    assert returned[1] == TRACE and returned[2] == f"{request.context.span_id:016x}"


async def test_trace_context_from_meta(exporter: InMemorySpanExporter) -> None:
    app = traced_app(exporter)
    body, headers = call("add", {"a": 1, "b": 1}, meta={"traceparent": f"00-{TRACE}-{PARENT}-01"})
    await post(app, body, headers)
    request = next(s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER)
    assert f"{request.context.trace_id:032x}" == TRACE


async def test_a_tool_error_marks_the_span(exporter: InMemorySpanExporter) -> None:
    app = traced_app(exporter)
    body, headers = call("fail", {})
    response = await post(app, body, headers)
    assert response.json()["result"]["isError"] is True
    request = next(s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER)
    assert request.status.status_code == StatusCode.ERROR
    # A new trace when the caller sent none.
    assert request.parent is None


async def test_no_tracer_no_header() -> None:
    app = MCPApp("plain", store=MemoryStore())

    @app.tool()
    def add(a: int, b: int) -> int:
        return a + b

    body, headers = call("add", {"a": 1, "b": 2})
    response = await post(app, body, headers)
    assert response.status_code == 200 and "traceparent" not in response.headers
