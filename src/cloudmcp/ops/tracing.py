"""OpenTelemetry tracing (the `otel` extra): spans per the semantic conventions for MCP.

Each request to the MCP endpoint gets a SERVER span named `{mcp.method.name} {target}`
(`tools/call echo`; the method alone for resources and for names no registry entry
has), and each request the server sends the client (`elicitation/create`,
`sampling/createMessage`) a CLIENT span. The parent comes from `params._meta`
(`traceparent`, `tracestate`, `baggage`, as SEP-414 has clients send them), else from
the HTTP headers (W3C `traceparent`, or AWS's `X-Amzn-Trace-Id`); when both are there
the span links to the header's. The span is current while a tool runs, so the tool's own
instrumented calls join the trace, and its `traceparent` goes back in a response header.

The span opens once the request is parsed (its parent may be in the body), starting
when the request arrived; a request refused before that gets one from its headers.

Imported only when tracing is on (`OTEL_ENABLED`, or `OTEL_EXPORTER_OTLP_ENDPOINT`
set): the OpenTelemetry SDK costs tens of milliseconds to import.
"""

from __future__ import annotations

import atexit
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.span import TraceFlags

from cloudmcp.ops.logs import parse_xray, session_tag
from cloudmcp.ops.summary import error_type
from cloudmcp.protocol.transport import SESSION_HEADER, Headers, HttpRequest, Responder

log = logging.getLogger("cloudmcp.ops")

#: The `_meta` keys SEP-414 reserves for trace context, unprefixed.
CONTEXT_KEYS = ("traceparent", "tracestate", "baggage")


def traceparent_of(span: trace.Span) -> str:
    sc = span.get_span_context()
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{int(sc.trace_flags):02x}"


def xray_context(header: str | None) -> SpanContext | None:
    """The span context in an AWS `X-Amzn-Trace-Id` (API Gateway and ALB send it; Lambda
    sets `_X_AMZN_TRACE_ID`): X-Ray's trace id is a W3C one, written differently."""
    found = parse_xray(header)
    if found is None:
        return None
    trace_hex, span_hex, sampled = found
    if span_hex is None:
        return None
    try:
        trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else 0)
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)


def transport_context(headers: Mapping[str, str]) -> otel_context.Context:
    """The trace context the HTTP request carries: what the configured propagators
    (W3C trace context and baggage by default) find, else an X-Ray header."""
    found = propagate.extract(headers)
    if trace.get_current_span(found).get_span_context().is_valid:
        return found
    xray = xray_context(headers.get("x-amzn-trace-id") or os.environ.get("_X_AMZN_TRACE_ID"))
    if xray is None:
        return found
    return trace.set_span_in_context(NonRecordingSpan(xray), found)


def meta_carrier(request: HttpRequest) -> dict[str, str]:
    """The trace context in the parsed request's `params._meta`."""
    call = request.info.call
    meta = call.params.get("_meta") if call is not None else None
    if not isinstance(meta, dict) or "traceparent" not in meta:
        return {}
    return {k: v for k in CONTEXT_KEYS if isinstance(v := meta.get(k), str)}


class RequestSpan:
    """One request's SERVER span: opened once the request is parsed, or at its answer."""

    __slots__ = ("context", "request", "span", "start", "tracer", "transport")

    def __init__(self, tracer: trace.Tracer, request: HttpRequest) -> None:
        self.tracer = tracer
        self.request = request
        self.start = time.time_ns()
        self.transport = transport_context(request.headers)
        self.span: trace.Span | None = None
        self.context = self.transport

    def open(self) -> trace.Span:
        if self.span is not None:
            return self.span
        request = self.request
        carrier = meta_carrier(request)
        parent, links = self.transport, []
        if carrier:
            parent = propagate.extract(carrier)
            linked = trace.get_current_span(self.transport).get_span_context()
            if linked.is_valid:
                links.append(Link(linked))
        name, attributes = describe(request)
        span = self.tracer.start_span(
            name,
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
            links=links,
            start_time=self.start,
        )
        self.span = span
        self.context = trace.set_span_in_context(span, parent)
        return span

    def finish(self, responder: Responder) -> None:
        span = self.open()
        info = self.request.info
        # What the engine learned after the span opened (the era's version, the outcome).
        if info.version:
            span.set_attribute("mcp.protocol.version", info.version)
        span.set_attribute("http.response.status_code", responder.status)
        error = error_type(info.error, info.tool_error, responder.status)
        if error is not None:
            span.set_attribute("error.type", error)
            if info.error is not None:
                span.set_attribute("rpc.response.status_code", str(info.error))
            span.set_status(Status(StatusCode.ERROR, error))
        info.traceparent = traceparent_of(span)
        span.end()


def describe(request: HttpRequest) -> tuple[str, dict[str, Any]]:
    """The span name and attributes the conventions give a request, as far as parsed."""
    info = request.info
    method = info.method
    attributes: dict[str, Any] = {"network.transport": "tcp", "network.protocol.name": "http"}
    if request.client:
        attributes["client.address"] = request.client
    session = request.headers.get(SESSION_HEADER)
    if session:  # the id is a capability: spans carry the digest access lines carry
        attributes["mcp.session.id"] = session_tag(session).decode()
    if method is None:
        attributes["http.request.method"] = request.method
        attributes["url.path"] = request.path
        return f"{request.method} {request.path}", attributes
    attributes["mcp.method.name"] = method
    call = info.call
    if call is not None and call.method == method:
        attributes["jsonrpc.request.id"] = str(call.id)
    name = method
    target = info.name
    if method == "tools/call" and target is not None:
        attributes["gen_ai.tool.name"] = target
        attributes["gen_ai.operation.name"] = "execute_tool"
        if call is not None and call.entry is not None:
            name = f"{method} {target}"  # registered names only: span names stay few
    elif method == "prompts/get" and target is not None:
        attributes["gen_ai.prompt.name"] = target
        if call is not None and call.entry is not None:
            name = f"{method} {target}"
    elif target is not None and method.startswith("resources/"):
        attributes["mcp.resource.uri"] = target
    return name, attributes


class TracedResponder(Responder):
    """Answers through `inner`, adding the request span's `traceparent`."""

    def __init__(self, inner: Responder, span: RequestSpan) -> None:
        self._inner = inner
        self._span = span

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

    def _header(self) -> tuple[str, str]:
        return ("traceparent", traceparent_of(self._span.open()))

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        await self._inner.respond(status, [*headers, self._header()], body)

    async def start_stream(self, headers: Headers) -> None:
        await self._inner.start_stream([*headers, self._header()])

    async def write(self, chunk: bytes) -> None:
        await self._inner.write(chunk)

    async def end_stream(self) -> None:
        await self._inner.end_stream()

    def on_disconnect(self, callback: Callable[[], object]) -> None:
        self._inner.on_disconnect(callback)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


_current: ContextVar[RequestSpan | None] = ContextVar("cloudmcp_request_span", default=None)


class Tracing:
    """The `Tracer` the server and engine call."""

    def __init__(self, provider: trace.TracerProvider | None = None) -> None:
        source = provider or trace.get_tracer_provider()
        self.tracer = source.get_tracer("cloudmcp")

    @contextmanager
    def request(self, request: HttpRequest, responder: Responder) -> Iterator[Responder]:
        span = RequestSpan(self.tracer, request)
        token = _current.set(span)
        # Until the span opens, the caller's context is current (the store's calls join it).
        attached = otel_context.attach(span.transport)
        try:
            yield TracedResponder(responder, span)
        finally:
            otel_context.detach(attached)
            _current.reset(token)
            span.finish(responder)

    @contextmanager
    def feature(self, method: str, params: dict[str, Any]) -> Iterator[None]:
        """The request's span is current while its tool, resource or prompt runs."""
        span = _current.get()
        if span is None:
            yield
            return
        span.open()
        token = otel_context.attach(span.context)
        try:
            yield
        finally:
            otel_context.detach(token)

    @contextmanager
    def outgoing(self, method: str, params: dict[str, Any]) -> Iterator[None]:
        """A CLIENT span for a request to the client, its context in `params["_meta"]`."""
        request = _current.get()
        attributes: dict[str, Any] = {
            "mcp.method.name": method,
            "network.transport": "tcp",
            "network.protocol.name": "http",
        }
        if request is not None and request.request.info.version:
            attributes["mcp.protocol.version"] = request.request.info.version
        with self.tracer.start_as_current_span(
            method, kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            meta = params.get("_meta")
            params["_meta"] = {**(meta if isinstance(meta, dict) else {}), **carrier}
            try:
                yield
            except BaseException as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                raise


def configured_provider(service_name: str) -> trace.TracerProvider:
    """The app's tracer provider: one the process already set up (e.g. by
    `opentelemetry-instrument` or the ADOT Lambda layer), else an SDK provider
    exporting over OTLP."""
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
