"""A Grafana dashboard for the `cloudmcp_*` series: `render()` gives its JSON model.

`cloudmcp deploy render` writes it beside the other artifacts
(`grafana/cloudmcp-dashboard.json`); import it in Grafana and pick the Prometheus data
source that scrapes `/metrics` (Managed Service for Prometheus on GKE/Cloud Run, or
any Prometheus). Built in code so each query sits next to the series it reads.
"""

from __future__ import annotations

import json
from typing import Any

RATE = "5m"
#: Long-lived streams would swamp every latency figure: they last minutes by design.
STREAMS = 'method!~"HTTP GET|subscriptions/listen"'


def _panel(
    title: str,
    targets: list[tuple[str, str]],
    *,
    unit: str = "short",
    kind: str = "timeseries",
    description: str = "",
) -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom"}},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "expr": expr,
                "legendFormat": legend,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
            }
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def _quantile(q: float, series: str, by: str, selector: str = "") -> str:
    inner = f"{series}_bucket{{{selector}}}" if selector else f"{series}_bucket"
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({inner}[{RATE}])))"


def panels() -> list[dict[str, Any]]:
    req = "cloudmcp_requests_total"
    return [
        _panel(
            "Requests by method",
            [(f"sum by (method) (rate({req}[{RATE}]))", "{{method}}")],
            unit="reqps",
        ),
        _panel(
            "Requests by protocol era and revision",
            [(f"sum by (era, version) (rate({req}[{RATE}]))", "{{era}} {{version}}")],
            unit="reqps",
        ),
        _panel(
            "Outcomes",
            [(f"sum by (outcome) (rate({req}[{RATE}]))", "{{outcome}}")],
            unit="reqps",
            description="ok, tool_error (isError: true), error (JSON-RPC error), rejected",
        ),
        _panel(
            "Error ratio",
            [
                (
                    f'sum(rate({req}{{outcome=~"error|tool_error"}}[{RATE}])) '
                    f"/ sum(rate({req}[{RATE}]))",
                    "errors",
                )
            ],
            unit="percentunit",
        ),
        _panel(
            "Latency by method (p50, p95, p99)",
            [
                (_quantile(q, "cloudmcp_request_duration_seconds", "method", STREAMS), label)
                for q, label in (
                    (0.5, "p50 {{method}}"),
                    (0.95, "p95 {{method}}"),
                    (0.99, "p99 {{method}}"),
                )
            ],
            unit="s",
            description="Long-lived streams (legacy GET, subscriptions/listen) are left out.",
        ),
        _panel(
            "Tool latency p95",
            [(_quantile(0.95, "cloudmcp_tool_duration_seconds", "tool"), "{{tool}}")],
            unit="s",
        ),
        _panel(
            "Tool errors",
            [(f"sum by (tool) (rate(cloudmcp_tool_errors_total[{RATE}]))", "{{tool}}")],
            unit="reqps",
        ),
        _panel(
            "Rejections by cause",
            [(f"sum by (cause) (rate(cloudmcp_rejections_total[{RATE}]))", "{{cause}}")],
            unit="reqps",
            description="406, 413, 421, 403 origin, 404 unknown session, 429, 401...",
        ),
        _panel(
            "Active legacy sessions (approximate)",
            [("sum(cloudmcp_legacy_sessions_active)", "active")],
            description="Sessions each instance served within the session TTL, summed.",
        ),
        _panel(
            "Result cache hit ratio",
            [
                (
                    f'sum(rate(cloudmcp_cache_lookups_total{{result="hit"}}[{RATE}])) '
                    f"/ sum(rate(cloudmcp_cache_lookups_total[{RATE}]))",
                    "hit ratio",
                )
            ],
            unit="percentunit",
        ),
        _panel(
            "Rate-limited calls",
            [(f"sum(rate(cloudmcp_rate_limited_total[{RATE}]))", "429s")],
            unit="reqps",
        ),
        _panel(
            "Store errors",
            [
                (
                    f"sum by (operation) (rate(cloudmcp_store_errors_total[{RATE}]))",
                    "{{operation}}",
                )
            ],
            unit="reqps",
        ),
        _panel(
            "Store latency p99",
            [
                (
                    _quantile(0.99, "cloudmcp_store_operation_duration_seconds", "operation"),
                    "{{operation}}",
                )
            ],
            unit="s",
        ),
        _panel(
            "Cold starts",
            [
                ("sum(increase(cloudmcp_cold_start_seconds_count[1h]))", "per hour"),
                (_quantile(0.5, "cloudmcp_cold_start_seconds", "job"), "p50 seconds"),
            ],
        ),
    ]


def render(title: str = "cloudmcp") -> dict[str, Any]:
    """The dashboard's JSON model, ready for Grafana's import."""
    laid_out = []
    for index, panel in enumerate(panels()):
        # Two panels per row, each half the 24-column grid wide.
        grid = {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)}
        laid_out.append({**panel, "id": index + 1, "gridPos": grid})
    return {
        "title": title,
        "uid": "cloudmcp-" + "".join(c if c.isalnum() else "-" for c in title.lower())[:30],
        "tags": ["cloudmcp", "mcp"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                }
            ]
        },
        "panels": laid_out,
    }


def render_json(title: str = "cloudmcp") -> str:
    return json.dumps(render(title), indent=2) + "\n"
