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
STREAMS = 'mcp_method_name!="subscriptions/listen"'


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
    # The OpenTelemetry conventions' series, as any MCP server exporting them names it.
    ops = "mcp_server_operation_duration_seconds"
    count = f"{ops}_count"
    return [
        _panel(
            "Operations by method",
            [(f"sum by (mcp_method_name) (rate({count}[{RATE}]))", "{{mcp_method_name}}")],
            unit="reqps",
        ),
        _panel(
            "Operations by protocol revision",
            [
                (
                    f"sum by (mcp_protocol_version) (rate({count}[{RATE}]))",
                    "{{mcp_protocol_version}}",
                )
            ],
            unit="reqps",
        ),
        _panel(
            "Errors by type",
            [
                (
                    f'sum by (error_type) (rate({count}{{error_type!=""}}[{RATE}]))',
                    "{{error_type}}",
                )
            ],
            unit="reqps",
            description="The JSON-RPC error code, tool_error (isError: true), or an HTTP status",
        ),
        _panel(
            "Error ratio",
            [
                (
                    f'sum(rate({count}{{error_type!=""}}[{RATE}])) / sum(rate({count}[{RATE}]))',
                    "errors",
                )
            ],
            unit="percentunit",
        ),
        _panel(
            "Latency by method (p50, p95, p99)",
            [
                (_quantile(q, ops, "mcp_method_name", STREAMS), label)
                for q, label in (
                    (0.5, "p50 {{mcp_method_name}}"),
                    (0.95, "p95 {{mcp_method_name}}"),
                    (0.99, "p99 {{mcp_method_name}}"),
                )
            ],
            unit="s",
            description="subscriptions/listen streams are left out.",
        ),
        _panel(
            "Tool latency p95",
            [
                (
                    _quantile(0.95, ops, "gen_ai_tool_name", 'gen_ai_tool_name!=""'),
                    "{{gen_ai_tool_name}}",
                )
            ],
            unit="s",
        ),
        _panel(
            "Tool errors",
            [
                (
                    f'sum by (gen_ai_tool_name) (rate({count}{{error_type="tool_error"}}[{RATE}]))',
                    "{{gen_ai_tool_name}}",
                )
            ],
            unit="reqps",
        ),
        _panel(
            "Legacy session duration p50",
            [
                (
                    _quantile(0.5, "mcp_server_session_duration_seconds", "mcp_protocol_version"),
                    "{{mcp_protocol_version}}",
                )
            ],
            unit="s",
            description="Sessions ended by DELETE, from initialize.",
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
