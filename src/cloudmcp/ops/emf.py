"""CloudWatch Embedded Metric Format: the Prometheus figures, as log lines, on AWS Lambda.

Nothing scrapes a Lambda function, but CloudWatch turns any stdout line with an `_aws`
block into metrics. One line per invocation carries that request's figures plus what
the store did meanwhile; CloudWatch does the aggregation. The line's other fields
(request id, tool, status) stay queryable in Logs Insights.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import msgspec

from cloudmcp.ops.logs import write_line
from cloudmcp.ops.observer import Recorder
from cloudmcp.ops.summary import Summary, request_id
from cloudmcp.protocol.transport import HttpRequest

_encode = msgspec.json.Encoder().encode

_REQUEST_METRICS = [
    {"Name": "Requests", "Unit": "Count"},
    {"Name": "Latency", "Unit": "Milliseconds"},
]
_TOOL_METRICS = [
    {"Name": "ToolLatency", "Unit": "Milliseconds"},
    {"Name": "ToolErrors", "Unit": "Count"},
]


class EmfSink:
    def __init__(self, namespace: str, service: str) -> None:
        self.namespace = namespace
        self.service = service
        self._cold_start: float | None = None
        self._store_ms: dict[str, list[float]] = defaultdict(list)
        self._store_errors = 0
        self._rate_limited = 0
        self._cache = [0, 0]  # hits, misses

    def _directive(self, *dimensions: list[str], metrics: list[dict[str, str]]) -> dict[str, Any]:
        return {"Namespace": self.namespace, "Dimensions": list(dimensions), "Metrics": metrics}

    def line(self, summary: Summary, request: HttpRequest, seconds: float) -> dict[str, Any]:
        ms = round(seconds * 1000, 3)
        # Per service, and per method, era and outcome: one metric set, two rollups.
        directives = [
            self._directive(
                ["Service"], ["Service", "Method", "Era", "Outcome"], metrics=_REQUEST_METRICS
            )
        ]
        line: dict[str, Any] = {
            "Service": self.service,
            "Method": summary.method,
            "Era": summary.era,
            "Outcome": summary.outcome,
            "Requests": 1,
            "Latency": ms,
            "status": summary.status,
            "request_id": request_id(request),
        }
        if summary.tool is not None:
            directives.append(self._directive(["Service", "Tool"], metrics=_TOOL_METRICS))
            line["Tool"] = summary.tool
            line["ToolLatency"] = ms
            line["ToolErrors"] = int(summary.outcome == "tool_error")
        if summary.cause is not None:
            directives.append(
                self._directive(
                    ["Service", "Cause"], metrics=[{"Name": "Rejections", "Unit": "Count"}]
                )
            )
            line["Cause"] = summary.cause
            line["Rejections"] = 1
        service_metrics: list[dict[str, str]] = []
        if self._cold_start is not None:
            service_metrics += [
                {"Name": "ColdStarts", "Unit": "Count"},
                {"Name": "ColdStartDuration", "Unit": "Milliseconds"},
            ]
            line["ColdStarts"] = 1
            line["ColdStartDuration"] = round(self._cold_start * 1000, 3)
            self._cold_start = None
        service_metrics += self._drain_store(line)
        if service_metrics:
            directives.append(self._directive(["Service"], metrics=service_metrics))
        line["_aws"] = {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": directives}
        return line

    def _drain_store(self, line: dict[str, Any]) -> list[dict[str, str]]:
        metrics: list[dict[str, str]] = []
        if self._store_ms:
            # EMF takes up to 100 values per metric in one line; more is rare and dropped.
            values = [v for per_op in self._store_ms.values() for v in per_op][:100]
            line["StoreLatency"] = values
            metrics.append({"Name": "StoreLatency", "Unit": "Milliseconds"})
            self._store_ms.clear()
        counts = {
            "StoreErrors": self._store_errors,
            "RateLimited": self._rate_limited,
            "CacheHits": self._cache[0],
            "CacheMisses": self._cache[1],
        }
        for name, value in counts.items():
            if value:
                line[name] = value
                metrics.append({"Name": name, "Unit": "Count"})
        self._store_errors = self._rate_limited = 0
        self._cache = [0, 0]
        return metrics

    def recorder(self, summary: Summary) -> Recorder | None:
        if summary.ops_route:
            return None

        # One line per invocation: nothing here is worth preparing per kind.
        def record(request: HttpRequest, seconds: float) -> None:
            write_line(_encode(self.line(summary, request, seconds)) + b"\n")

        return record

    def cold_start(self, seconds: float) -> None:
        self._cold_start = seconds

    # StoreRecorder

    def store_operation(self, backend: str, operation: str, seconds: float) -> None:
        self._store_ms[operation].append(round(seconds * 1000, 3))

    def store_failure(self, backend: str, operation: str) -> None:
        self._store_errors += 1

    def rate_limited(self) -> None:
        self._rate_limited += 1

    def cache_lookup(self, hit: bool) -> None:
        self._cache[0 if hit else 1] += 1
