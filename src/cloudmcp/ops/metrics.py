"""Prometheus metrics in MCP terms, served at `/metrics`.

prometheus_client is imported only when this module is, which `cloudmcp.ops.install`
does only with metrics on and off Lambda. With `PROMETHEUS_MULTIPROC_DIR` set (several
uvicorn workers), every worker writes its figures to files there and a scrape, served
by whichever worker, adds them up.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from cloudmcp.ops.summary import LEGACY_ERA, Summary
from cloudmcp.protocol.transport import HttpRequest, Responder

if TYPE_CHECKING:
    from cloudmcp.app.application import MCPApp

# `*_created` series double a scrape's size and no dashboard here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: Seconds: from a cached 1 ms tool to a minute-long call.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)
COLD_START_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
#: How often the active-session gauge forgets sessions idle past their TTL.
SESSION_SWEEP_SECONDS = 5.0


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """Every cloudmcp series, registered in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "cloudmcp_requests",
            "MCP requests answered, by JSON-RPC method, protocol era and revision, and outcome",
            ["method", "era", "version", "outcome"],
            registry=r,
        )
        self.duration = Histogram(
            "cloudmcp_request_duration_seconds",
            "Time to answer an MCP request (streams: until the stream ends)",
            ["method", "era"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tool_duration = Histogram(
            "cloudmcp_tool_duration_seconds",
            "Time to answer tools/call, per registered tool",
            ["tool"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tool_errors = Counter(
            "cloudmcp_tool_errors",
            "tools/call results with isError: true, per tool",
            ["tool"],
            registry=r,
        )
        self.rejections = Counter(
            "cloudmcp_rejections",
            "Requests the transport refused before any method ran, by cause",
            ["cause"],
            registry=r,
        )
        self.sessions_opened = Counter(
            "cloudmcp_legacy_sessions_opened", "Legacy sessions opened by initialize", registry=r
        )
        self.sessions_closed = Counter(
            "cloudmcp_legacy_sessions_closed", "Legacy sessions ended by DELETE", registry=r
        )
        self.sessions_active = Gauge(
            "cloudmcp_legacy_sessions_active",
            "Legacy sessions this process served within the session TTL (approximate)",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.cache = Counter(
            "cloudmcp_cache_lookups",
            "Tool result cache lookups, by result (hit or miss)",
            ["result"],
            registry=r,
        )
        self.rate_limited = Counter(
            "cloudmcp_rate_limited",
            "Calls refused by a rate limit",
            registry=r,
        )
        self.store_errors = Counter(
            "cloudmcp_store_errors",
            "Store operations that failed because the backend was unreachable",
            ["backend", "operation"],
            registry=r,
        )
        self.store_duration = Histogram(
            "cloudmcp_store_operation_duration_seconds",
            "Latency of store operations (Redis), blocking reads excluded",
            ["backend", "operation"],
            buckets=STORE_BUCKETS,
            registry=r,
        )
        self.cold_start = Histogram(
            "cloudmcp_cold_start_seconds",
            "Process start to first answered request; the count is the number of cold starts",
            buckets=COLD_START_BUCKETS,
            registry=r,
        )
        self.info = Gauge(
            "cloudmcp_build_info",
            "Always 1; labels name the server, its version and platform",
            ["server", "version", "platform"],
            registry=r,
            multiprocess_mode="max",
        )

    def render(self) -> bytes:
        """The exposition text: this registry, or every worker's files in multiprocess mode."""
        if multiprocess_dir() is not None:
            registry = CollectorRegistry()
            _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


_process_metrics: Metrics | None = None


def process_metrics() -> Metrics:
    """The process's one set of series: metric files in multiprocess mode are per
    process and per name, so two sets would overwrite each other."""
    global _process_metrics
    if _process_metrics is None:
        _process_metrics = Metrics()
    return _process_metrics


class PrometheusSink:
    """Counts each answered request; children are cached because `labels()` takes a lock
    and builds a key on every call, which is most of a naive observer's cost."""

    def __init__(self, metrics: Metrics, session_ttl: float) -> None:
        self.metrics = metrics
        self.session_ttl = session_ttl
        self._requests: dict[tuple[str, str, str, str], Any] = {}
        self._durations: dict[tuple[str, str], Any] = {}
        self._tools: dict[str, tuple[Any, Any]] = {}
        #: Session id -> when this process last served it.
        self._sessions: dict[str, float] = {}
        self._swept = 0.0
        self._store_timers: dict[tuple[str, str], Any] = {}

    def record(self, summary: Summary, request: HttpRequest, responder: Responder) -> None:
        if summary.ops_route:
            return
        key = (summary.method, summary.era, summary.version, summary.outcome)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = self.metrics.requests.labels(*key)
        child.inc()
        timing_key = (summary.method, summary.era)
        timer = self._durations.get(timing_key)
        if timer is None:
            timer = self._durations[timing_key] = self.metrics.duration.labels(*timing_key)
        timer.observe(summary.seconds)
        if summary.tool is not None:
            pair = self._tools.get(summary.tool)
            if pair is None:
                pair = self._tools[summary.tool] = (
                    self.metrics.tool_duration.labels(summary.tool),
                    self.metrics.tool_errors.labels(summary.tool),
                )
            pair[0].observe(summary.seconds)
            if summary.outcome == "tool_error":
                pair[1].inc()
        if summary.cause is not None:
            self.metrics.rejections.labels(summary.cause).inc()
        if summary.era == LEGACY_ERA:
            self._session(summary, request)

    def _session(self, summary: Summary, request: HttpRequest) -> None:
        now = time.monotonic()
        if summary.method == "initialize" and summary.outcome == "ok":
            self.metrics.sessions_opened.inc()
        session_id = request.headers.get("mcp-session-id")
        if session_id and summary.status < 400:
            if request.method == "DELETE":
                self.metrics.sessions_closed.inc()
                self._sessions.pop(session_id, None)
            else:
                self._sessions[session_id] = now
        if now - self._swept >= SESSION_SWEEP_SECONDS or request.method == "DELETE":
            self._swept = now
            idle = now - self.session_ttl
            for stale in [sid for sid, seen in self._sessions.items() if seen < idle]:
                del self._sessions[stale]
            self.metrics.sessions_active.set(len(self._sessions))

    def cold_start(self, seconds: float) -> None:
        self.metrics.cold_start.observe(seconds)

    # StoreRecorder

    def store_operation(self, backend: str, operation: str, seconds: float) -> None:
        key = (backend, operation)
        timer = self._store_timers.get(key)
        if timer is None:
            timer = self._store_timers[key] = self.metrics.store_duration.labels(*key)
        timer.observe(seconds)

    def store_failure(self, backend: str, operation: str) -> None:
        self.metrics.store_errors.labels(backend, operation).inc()

    def rate_limited(self) -> None:
        self.metrics.rate_limited.inc()

    def cache_lookup(self, hit: bool) -> None:
        self.metrics.cache.labels("hit" if hit else "miss").inc()


def metrics_route(metrics: Metrics) -> Any:
    """The `/metrics` route for `app.routes`."""

    async def serve_metrics(request: HttpRequest, responder: Responder) -> None:
        await responder.respond(200, [("content-type", CONTENT_TYPE_LATEST)], metrics.render())

    return serve_metrics


def on_worker_exit() -> None:
    """Drop this worker's live gauges (active sessions) from the shared files."""
    path = multiprocess_dir()
    if path is not None:
        _multiprocess.mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]


def describe_app(metrics: Metrics, app: MCPApp, platform: str) -> None:
    metrics.info.labels(app.name, app.version, platform).set(1)
