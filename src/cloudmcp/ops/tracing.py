"""OpenTelemetry tracing (the `otel` extra): a span per request and per feature call.

Trace context comes in from the W3C `traceparent` header or, for clients that carry
it in the message, `params._meta.traceparent`; it goes out as a `traceparent`
response header, and as the current context while a tool runs, so the tool's own
instrumented HTTP or database calls join the same trace.

Imported only when tracing is on (`OTEL_ENABLED`, or `OTEL_EXPORTER_OTLP_ENDPOINT`
set): the OpenTelemetry SDK costs tens of milliseconds to import.
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from cloudmcp.protocol.transport import Headers, HttpRequest, Responder

log = logging.getLogger("cloudmcp.ops")
_propagator = TraceContextTextMapPropagator()


class _Params(msgspec.Struct):
    meta: dict[str, Any] | None = msgspec.field(default=None, name="_meta")


class _Message(msgspec.Struct):
    params: _Params | None = None


_decode_message = msgspec.json.Decoder(_Message).decode


def _carrier(request: HttpRequest) -> dict[str, str]:
    """Where this request's trace context is: its headers, else its `_meta`."""
    if "traceparent" in request.headers:
        headers = request.headers
        return {k: headers[k] for k in ("traceparent", "tracestate") if k in headers}
    if b"traceparent" not in request.body:  # most requests: no decoding at all
        return {}
    try:
        params = _decode_message(request.body).params
    except (msgspec.DecodeError, msgspec.ValidationError):
        return {}
    meta = params.meta if params is not None else None
    if not meta:
        return {}
    return {k: v for k in ("traceparent", "tracestate") if isinstance(v := meta.get(k), str)}


def _traceparent(span: trace.Span) -> str:
    sc = span.get_span_context()
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{int(sc.trace_flags):02x}"


class TracedResponder(Responder):
    """Answers through `inner`, adding the request span's `traceparent`."""

    def __init__(self, inner: Responder, traceparent: str) -> None:
        self._inner = inner
        self._header = ("traceparent", traceparent)

    @property
    def closed(self) -> bool:
        return self._inner.closed

    @closed.setter
    def closed(self, value: bool) -> None:
        self._inner.closed = value

    @property
    def status(self) -> int:
        return self._inner.status

    @status.setter
    def status(self, value: int) -> None:
        self._inner.status = value

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        await self._inner.respond(status, [*headers, self._header], body)

    async def start_stream(self, headers: Headers) -> None:
        await self._inner.start_stream([*headers, self._header])

    async def write(self, chunk: bytes) -> None:
        await self._inner.write(chunk)

    async def end_stream(self) -> None:
        await self._inner.end_stream()

    def on_disconnect(self, callback: Callable[[], object]) -> None:
        self._inner.on_disconnect(callback)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class Tracing:
    """The `Tracer` the server and engine call; spans follow the OpenTelemetry semantic
    conventions for MCP (`mcp.method.name`, `gen_ai.tool.name`, ...)."""

    def __init__(self, provider: trace.TracerProvider | None = None) -> None:
        source = provider or trace.get_tracer_provider()
        self.tracer = source.get_tracer("cloudmcp")

    @contextmanager
    def request(self, request: HttpRequest, responder: Responder) -> Iterator[Responder]:
        parent = _propagator.extract(_carrier(request))
        span = self.tracer.start_span(
            f"{request.method} {request.path}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": request.method, "url.path": request.path},
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            yield TracedResponder(responder, _traceparent(span))
        finally:
            self._finish(span, request, responder)
            otel_context.detach(token)

    def _finish(self, span: trace.Span, request: HttpRequest, responder: Responder) -> None:
        info = request.info
        if info.method:
            span.update_name(f"{info.method} {info.name}" if info.name else info.method)
            span.set_attribute("mcp.method.name", info.method)
        if info.version:
            span.set_attribute("mcp.protocol.version", info.version)
        if info.method == "tools/call" and info.name:
            span.set_attribute("gen_ai.tool.name", info.name)
        span.set_attribute("http.response.status_code", responder.status)
        if info.error is not None:
            span.set_attribute("rpc.jsonrpc.error_code", info.error)
        if responder.status >= 500 or info.error is not None:
            span.set_status(Status(StatusCode.ERROR))
        elif info.tool_error:
            span.set_status(Status(StatusCode.ERROR, "tool returned isError"))
        span.end()

    @contextmanager
    def feature(self, method: str, params: dict[str, Any]) -> Iterator[None]:
        target = params.get("name") if method in ("tools/call", "prompts/get") else None
        if method == "resources/read":
            target = params.get("uri")
        attributes: dict[str, str] = {"mcp.method.name": method}
        if method == "tools/call" and isinstance(target, str):
            name = f"execute_tool {target}"
            attributes["gen_ai.tool.name"] = target
            attributes["gen_ai.operation.name"] = "execute_tool"
        else:
            name = f"{method} {target}" if isinstance(target, str) else method
        with self.tracer.start_as_current_span(name, kind=SpanKind.INTERNAL, attributes=attributes):
            yield


def configured_provider(service_name: str) -> trace.TracerProvider:
    """The app's tracer provider: one the process already set up (e.g. by
    `opentelemetry-instrument`), else an SDK provider exporting over OTLP."""
    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        return current
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        log.warning("tracing is on but no OTLP exporter is installed: pip install 'cloudmcp[otel]'")
    else:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    atexit.register(provider.shutdown)  # flush the last spans
    return provider
