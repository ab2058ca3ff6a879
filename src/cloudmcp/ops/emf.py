"""CloudWatch Embedded Metric Format: the same figures as `/metrics`, as log lines, on
AWS Lambda, under the names OpenTelemetry gives them (`mcp.server.operation.duration`,
dimensions `mcp.method.name`, `gen_ai.tool.name`, `error.type`, ...).

Nothing scrapes a Lambda function, but CloudWatch turns any stdout line with an `_aws`
block into metrics. One line per invocation carries that request's figures plus what
the store did meanwhile; CloudWatch does the aggregation. The line's other fields
(request id, tool, status) stay queryable in Logs Insights.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from cloudmcp.ops.logs import trace_ids, write_line
from cloudmcp.ops.observer import Recorder
from cloudmcp.ops.summary import Summary, request_id
from cloudmcp.protocol.transport import HttpRequest

_encode = msgspec.json.Encoder().encode

#: The conventions' metrics, named as OpenTelemetry names them (CloudWatch takes dots).
OPERATION = "mcp.server.operation.duration"
SESSION = "mcp.server.session.duration"
SERVICE = "service.name"


def _seconds(name: str) -> dict[str, str]:
    return {"Name": name, "Unit": "Seconds"}


def _count(name: str) -> dict[str, str]:
    return {"Name": name, "Unit": "Count"}


class EmfSink:
    """One EMF line per request that has figures: the operation's duration with the
    conventions' attributes as dimensions, and cloudmcp's own figures (`cloudmcp.*`)
    gathered since the last line. Dimension values come from `Summary`'s closed sets."""

    def __init__(self, namespace: str, service: str) -> None:
        self.namespace = namespace
        self.service = service
        self._cold_start: float | None = None
        self._store_seconds: list[float] = []
        self._store_errors = 0
        self._rate_limited = 0
        self._cache = [0, 0]  # hits, misses

    def _directive(
        self, dimensions: list[list[str]], metrics: list[dict[str, str]]
    ) -> dict[str, Any]:
        return {"Namespace": self.namespace, "Dimensions": dimensions, "Metrics": metrics}

    def line(self, summary: Summary, request: HttpRequest, seconds: float) -> dict[str, Any] | None:
        directives: list[dict[str, Any]] = []
        line: dict[str, Any] = {SERVICE: self.service}
        if summary.operation:
            line["mcp.method.name"] = summary.method
            line["mcp.protocol.version"] = summary.version or "none"
            line[OPERATION] = seconds
            method = [SERVICE, "mcp.method.name"]
            rollups = [[SERVICE], method, [*method, "mcp.protocol.version"]]
            if summary.tool is not None:
                line["gen_ai.tool.name"] = summary.tool
                rollups.append([SERVICE, "gen_ai.tool.name"])
            if summary.prompt is not None:
                line["gen_ai.prompt.name"] = summary.prompt
                rollups.append([SERVICE, "gen_ai.prompt.name"])
            if summary.error_type is not None:
                line["error.type"] = summary.error_type
                rollups += [[SERVICE, "error.type"], [*method, "error.type"]]
                if summary.tool is not None:
                    rollups.append([SERVICE, "gen_ai.tool.name", "error.type"])
            directives.append(self._directive(rollups, [_seconds(OPERATION)]))
        lasted = request.info.session_seconds
        if lasted is not None:
            line["mcp.protocol.version"] = summary.version
            line[SESSION] = lasted
            rollups = [[SERVICE], [SERVICE, "mcp.protocol.version"]]
            directives.append(self._directive(rollups, [_seconds(SESSION)]))
        if summary.cause is not None:
            line["cause"] = summary.cause
            line["cloudmcp.rejections"] = 1
            rejections = [_count("cloudmcp.rejections")]
            directives.append(self._directive([[SERVICE, "cause"]], rejections))
        service_metrics: list[dict[str, str]] = []
        if self._cold_start is not None:
            service_metrics += [_count("cloudmcp.cold_starts"), _seconds("cloudmcp.cold_start")]
            line["cloudmcp.cold_starts"] = 1
            line["cloudmcp.cold_start"] = self._cold_start
            self._cold_start = None
        service_metrics += self._drain_store(line)
        if service_metrics:
            directives.append(self._directive([[SERVICE]], service_metrics))
        if not directives:
            return None
        line["status"] = summary.status
        line["request_id"] = request_id(request)
        line.update(trace_ids(request))
        line["_aws"] = {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": directives}
        return line

    def _drain_store(self, line: dict[str, Any]) -> list[dict[str, str]]:
        metrics: list[dict[str, str]] = []
        if self._store_seconds:
            # EMF takes up to 100 values per metric in one line; more is rare and dropped.
            line["cloudmcp.store.operation.duration"] = self._store_seconds[:100]
            metrics.append(_seconds("cloudmcp.store.operation.duration"))
            self._store_seconds = []
        counts = {
            "cloudmcp.store.errors": self._store_errors,
            "cloudmcp.rate_limited": self._rate_limited,
            "cloudmcp.cache.hits": self._cache[0],
            "cloudmcp.cache.misses": self._cache[1],
        }
        for name, value in counts.items():
            if value:
                line[name] = value
                metrics.append(_count(name))
        self._store_errors = self._rate_limited = 0
        self._cache = [0, 0]
        return metrics

    def recorder(self, summary: Summary) -> Recorder | None:
        if summary.ops_route:
            return None

        # One line per invocation: nothing here is worth preparing per kind.
        def record(request: HttpRequest, seconds: float) -> None:
            line = self.line(summary, request, seconds)
            if line is not None:
                write_line(_encode(line) + b"\n")

        return record

    def cold_start(self, seconds: float) -> None:
        self._cold_start = seconds

    # StoreRecorder

    def store_operation(self, backend: str, operation: str, seconds: float) -> None:
        self._store_seconds.append(seconds)

    def store_failure(self, backend: str, operation: str) -> None:
        self._store_errors += 1

    def rate_limited(self) -> None:
        self._rate_limited += 1

    def cache_lookup(self, hit: bool) -> None:
        self._cache[0 if hit else 1] += 1
