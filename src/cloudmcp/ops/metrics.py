"""Prometheus metrics, served at `/metrics`: the OpenTelemetry semantic conventions'
MCP server series (`mcp_server_operation_duration_seconds`,
`mcp_server_session_duration_seconds`) and cloudmcp's own under `cloudmcp_`.

prometheus_client is imported only when this module is, which `cloudmcp.ops.install`
does only with metrics on and off Lambda. With `PROMETHEUS_MULTIPROC_DIR` set (several
uvicorn workers), every worker writes its figures to files there and a scrape, served
by whichever worker, adds them up.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.exposition import choose_encoder

from cloudmcp.eventloop import running_loop
from cloudmcp.ops.observer import Recorder, StateGains
from cloudmcp.ops.summary import LEGACY_ERA, Summary
from cloudmcp.protocol.transport import SESSION_HEADER, HttpRequest, Responder

if TYPE_CHECKING:
    from cloudmcp.protocol.engine import Engine

# `*_created` series double a scrape's size and no dashboard here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: Seconds: the conventions' boundaries for `mcp.server.operation.duration`, with three
#: below their first (10 ms) because most tool calls answer in well under it.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300
)  # fmt: skip
#: Seconds: the conventions' boundaries, then on to a day (sessions last hours).
SESSION_BUCKETS = (
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 14400, 86400
)  # fmt: skip
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)
COLD_START_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
TASK_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

#: The labels of `mcp_server_operation_duration_seconds`: the conventions' attributes,
#: dots made underscores as OpenTelemetry's Prometheus exporter does. A label an
#: operation lacks (a tool for `tools/list`) is empty, which Prometheus reads as absent.
OPERATION_LABELS = (
    "mcp_method_name",
    "gen_ai_tool_name",
    "gen_ai_prompt_name",
    "gen_ai_operation_name",
    "mcp_protocol_version",
    "error_type",
    "rpc_response_status_code",
    "network_transport",
    "network_protocol_name",
)
SESSION_LABELS = ("mcp_protocol_version", "network_transport", "network_protocol_name")

#: MCP over Streamable HTTP: HTTP over TCP, on every platform cloudmcp serves.
TRANSPORT = ("tcp", "http")


def operation_labels(summary: Summary) -> tuple[str, ...]:
    """The label values of one kind of operation, every one from a closed set."""
    tool, error = summary.tool or "", summary.error_type or ""
    return (
        summary.method,
        tool,
        summary.prompt or "",
        "execute_tool" if tool else "",
        summary.version,
        error,
        error if summary.error is not None else "",  # the JSON-RPC code (or `_OTHER`)
        *TRANSPORT,
    )


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The conventions' MCP server series and cloudmcp's own, in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.operation_duration = Histogram(
            "mcp_server_operation_duration",
            "MCP request or notification duration as observed on the receiver from the time "
            "it was received until the result or ack is sent",
            OPERATION_LABELS,
            unit="seconds",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.session_duration = Histogram(
            "mcp_server_session_duration",
            "The duration of the MCP session as observed on the MCP server (legacy sessions "
            "ended by DELETE)",
            SESSION_LABELS,
            unit="seconds",
            buckets=SESSION_BUCKETS,
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
        self.store_connections = Gauge(
            "cloudmcp_store_connections",
            "Open Redis connections, by kind: commands (the pool) and subscribers (per shard)",
            ["kind"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.cold_start = Histogram(
            "cloudmcp_cold_start_seconds",
            "Process start to first answered request; the count is the number of cold starts",
            buckets=COLD_START_BUCKETS,
            registry=r,
        )
        self.tasks_created = Counter(
            "cloudmcp_tasks_created", "Tasks created (the tasks extension)", registry=r
        )
        self.task_runs = Counter(
            "cloudmcp_task_runs", "Runs of a task's tool this process started", registry=r
        )
        self.task_runs_reclaimed = Counter(
            "cloudmcp_task_runs_reclaimed",
            "Runs that took a task over from a worker whose lease ran out",
            registry=r,
        )
        self.task_runs_released = Counter(
            "cloudmcp_task_runs_released",
            "Runs handed back at shutdown for another instance to run again",
            registry=r,
        )
        self.task_writes_refused = Counter(
            "cloudmcp_task_writes_refused",
            "Writes of a run that had lost its claim (fencing), refused",
            registry=r,
        )
        self.tasks_running = Gauge(
            "cloudmcp_tasks_running",
            "Runs of tasks under way in this process",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.tasks_finished = Counter(
            "cloudmcp_tasks_finished",
            "Tasks that reached a final status here, by status",
            ["status"],
            registry=r,
        )
        self.task_duration = Histogram(
            "cloudmcp_task_duration_seconds",
            "Time from a task's creation to its final status, by status",
            ["status"],
            buckets=TASK_BUCKETS,
            registry=r,
        )
        self.info = Gauge(
            "cloudmcp_build_info",
            "Always 1; labels name the server, its version and platform",
            ["server", "version", "platform"],
            registry=r,
            multiprocess_mode="max",
        )

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition and its content type, in the format `accept` prefers
        (OpenMetrics states units; Prometheus' text format does not): this registry, or
        every worker's files in multiprocess mode."""
        encode, content_type = choose_encoder(accept or "")
        if multiprocess_dir() is not None:
            registry = CollectorRegistry()
            _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return encode(registry), content_type
        return encode(self.registry), content_type


_process_metrics: Metrics | None = None


def process_metrics() -> Metrics:
    """The process's one set of series: metric files in multiprocess mode are per
    process and per name, so two sets would overwrite each other."""
    global _process_metrics
    if _process_metrics is None:
        _process_metrics = Metrics()
    return _process_metrics


class _Timings:
    """Observations of one histogram child not yet handed to prometheus_client."""

    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0

    def flush_into(self, child: Any) -> None:
        # Histogram children keep per-bucket values (`_buckets`, `_sum`) that `observe`
        # increments one at a time; adding a second's worth at once is the same sum.
        for index, count in enumerate(self.buckets):
            if count:
                child._buckets[index].inc(count)
                self.buckets[index] = 0
        child._sum.inc(self.total)
        self.total = 0.0


#: A count not yet handed to prometheus_client: a one-item list, shared by every kind
#: of request with the same labels.
Cell = list[int]

#: Durations wait this many to a list before they are counted.
COUNT_EVERY = 256


class _Answered:
    """The durations of requests whose counts and timings are the same, not yet counted:
    a request appends one float, and they are counted in a row (bucketing a duration
    between the engine's work costs more than a run of them)."""

    __slots__ = ("counts", "seconds", "timings")

    def __init__(self, counts: list[Cell], timings: list[_Timings]) -> None:
        self.counts = counts
        self.timings = timings
        self.seconds: list[float] = []

    def count(self) -> None:
        seconds = self.seconds
        if not seconds:
            return
        for cell in self.counts:
            cell[0] += len(seconds)
        # Prometheus buckets are `value <= bound`: the first bound not below the value.
        indexes = [bisect_left(LATENCY_BUCKETS, value) for value in seconds]
        total = sum(seconds)
        for timing in self.timings:
            buckets = timing.buckets
            for index in indexes:
                buckets[index] += 1
            timing.total += total
        seconds.clear()


class Serving(Protocol):
    """Where the sink finds the engine whose state counters it reads, once serving."""

    engine: Engine | None


class PrometheusSink:
    """Counts each answered request in plain ints and lists, and hands the totals to
    prometheus_client at most once a second and before each scrape.

    prometheus_client takes a lock per increment (and, with several workers, writes a
    memory-mapped file): a few of those per request cost more than the rest of the
    bookkeeping together. Batched, with each kind's cells found once, a request costs
    a list append (`_Answered`).
    """

    def __init__(self, metrics: Metrics, ops: Serving, *, flush_every: float = 1.0) -> None:
        self.metrics = metrics
        #: Whose engine's state counters to read (`ops.engine`, once serving).
        self.ops = ops
        self.flush_every = flush_every
        self._operations: dict[tuple[str, ...], _Timings] = {}
        self._rejections: dict[str, Cell] = {}
        self._answered: dict[tuple[object, ...], _Answered] = {}
        self._opened: Cell = [0]
        self._closed: Cell = [0]
        self._scheduled = False
        #: Session id -> when this process last served it.
        self._sessions: dict[str, float] = {}
        self._store_timers: dict[tuple[str, str], Any] = {}
        self._gains = StateGains()
        self._task_totals: dict[str, int] = {}

    def recorder(self, summary: Summary) -> Recorder | None:
        if summary.ops_route:
            return None
        counts: list[Cell] = []
        timings: list[_Timings] = []
        if summary.operation:
            labels = operation_labels(summary)
            timings.append(self._operations.setdefault(labels, _Timings()))
        if summary.cause is not None:
            counts.append(self._rejections.setdefault(summary.cause, [0]))
        served = summary.era == LEGACY_ERA and summary.status < 400
        if served and summary.method == "initialize" and summary.outcome == "ok":
            counts.append(self._opened)
        # The sessions served lately, by the id each request names.
        tracked = served and summary.in_session
        ending = tracked and summary.http_method == "DELETE"
        if ending:
            counts.append(self._closed)
        sessions = self._sessions
        session_timer = None
        if ending:
            session_timer = self.metrics.session_duration.labels(summary.version, *TRANSPORT)
        # Kinds that bump the very same cells share one list (cells live as long as the
        # sink; the observer may forget a kind and prepare it again).
        alike = tuple(map(id, (*counts, *timings)))
        answered = self._answered.get(alike)
        if answered is None:
            answered = self._answered[alike] = _Answered(counts, timings)
        pending, add, count = answered.seconds, answered.seconds.append, answered.count

        def record(request: HttpRequest, seconds: float) -> None:
            add(seconds)
            if len(pending) >= COUNT_EVERY:
                count()
            if session_timer is not None:
                sessions.pop(request.headers[SESSION_HEADER], None)
                lasted = request.info.session_seconds
                if lasted is not None:
                    session_timer.observe(lasted)
            elif tracked:
                sessions[request.headers[SESSION_HEADER]] = time.monotonic()
            if not self._scheduled:
                self._schedule()

        return record

    def _schedule(self) -> None:
        try:
            loop = running_loop()
        except RuntimeError:
            self.flush()
            return
        self._scheduled = True
        loop.call_later(self.flush_every, self.flush)

    def flush(self) -> None:
        """Hand what was counted since the last flush to prometheus_client."""
        self._scheduled = False
        for answered in self._answered.values():
            answered.count()
        m = self.metrics
        for labels, timings in self._operations.items():
            timings.flush_into(m.operation_duration.labels(*labels))
        for cause, cell in self._rejections.items():
            if cell[0]:
                m.rejections.labels(cause).inc(cell[0])
                cell[0] = 0
        for counter, cell in ((m.sessions_opened, self._opened), (m.sessions_closed, self._closed)):
            if cell[0]:
                counter.inc(cell[0])
                cell[0] = 0
        self._sweep_sessions(time.monotonic())
        self._state_changes()

    def _sweep_sessions(self, now: float) -> None:
        engine = self.ops.engine
        if engine is None:
            return
        idle = now - engine.settings.session_ttl
        for stale in [sid for sid, seen in self._sessions.items() if seen < idle]:
            del self._sessions[stale]
        self.metrics.sessions_active.set(len(self._sessions))

    def _state_changes(self) -> None:
        """What the engine's own counters (result cache, rate limits) gained."""
        # The engine as it is: a scrape before the first request builds nothing.
        hits, misses, limited = self._gains.since_last(self.ops.engine)
        if hits:
            self.metrics.cache.labels("hit").inc(hits)
        if misses:
            self.metrics.cache.labels("miss").inc(misses)
        if limited:
            self.metrics.rate_limited.inc(limited)
        engine = self.ops.engine
        connections = getattr(engine.store, "connections", None) if engine is not None else None
        if connections is not None:
            for kind, count in connections().items():
                self.metrics.store_connections.labels(kind).set(count)
        self._task_changes()

    def _task_changes(self) -> None:
        """What the engine's task counters gained (nothing built if no task ran)."""
        engine = self.ops.engine
        if engine is None or "tasks" not in engine.__dict__:
            return
        counters = engine.tasks.counters
        m = self.metrics
        now = {
            "created": counters.created,
            "started": counters.started,
            "reclaimed": counters.reclaimed,
            "released": counters.released,
            "refused": counters.fenced,
        }
        last = self._task_totals
        self._task_totals = now
        series = {
            "created": m.tasks_created,
            "started": m.task_runs,
            "reclaimed": m.task_runs_reclaimed,
            "released": m.task_runs_released,
            "refused": m.task_writes_refused,
        }
        for name, total in now.items():
            if total > last.get(name, 0):
                series[name].inc(total - last.get(name, 0))
        m.tasks_running.set(counters.running)
        durations, counters.durations = counters.durations, []
        for status, seconds in durations:
            m.tasks_finished.labels(status).inc()
            m.task_duration.labels(status).observe(seconds)

    def cold_start(self, seconds: float) -> None:
        self.metrics.cold_start.observe(seconds)

    # StoreRecorder: a store operation costs far more than observing it directly

    def store_operation(self, backend: str, operation: str, seconds: float) -> None:
        key = (backend, operation)
        timer = self._store_timers.get(key)
        if timer is None:
            timer = self._store_timers[key] = self.metrics.store_duration.labels(*key)
        timer.observe(seconds)

    def store_failure(self, backend: str, operation: str) -> None:
        self.metrics.store_errors.labels(backend, operation).inc()


def metrics_route(metrics: Metrics, flush: Callable[[], None]) -> Any:
    """The `/metrics` route; `flush` records what is pending first."""

    async def serve_metrics(request: HttpRequest, responder: Responder) -> None:
        flush()  # this process's latest; other workers' are at most a second old
        body, content_type = metrics.render(request.headers.get("accept"))
        await responder.respond(200, [("content-type", content_type)], body)

    return serve_metrics


def on_worker_exit() -> None:
    """Drop this worker's live gauges (active sessions) from the shared files."""
    path = multiprocess_dir()
    if path is not None:
        _multiprocess.mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]
