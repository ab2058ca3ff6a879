"""On AWS Lambda: the same figures as CloudWatch Embedded Metric Format lines on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cloudmcp import MCPApp
from cloudmcp.ops.config import OpsConfig
from cloudmcp.state.memory import MemoryStore

sys.path.insert(0, str(Path(__file__).parent))

from ops_calls import ACCEPT, META

LAMBDA = OpsConfig(platform="lambda", log_format="json", emf_namespace="cloudmcp-test")


def lambda_app() -> MCPApp:
    app = MCPApp("emf-test", store=MemoryStore())

    @app.tool()
    def double(x: int) -> int:
        return 2 * x

    @app.tool()
    def broken() -> str:
        raise RuntimeError("no")

    return app


async def call(http: httpx.AsyncClient, name: str, arguments: dict[str, object]) -> None:
    params = {"name": name, "arguments": arguments, "_meta": META}
    headers = {
        "accept": ACCEPT,
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": name,
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    await http.post("/mcp", json=body, headers=headers)


async def test_one_emf_line_per_request(capsys: pytest.CaptureFixture[str]) -> None:
    app = lambda_app()
    http_app = app.http_app(operations=LAMBDA)
    installed = http_app.service.ops
    assert installed is not None
    assert "/metrics" not in http_app.service.server.routes  # nothing scrapes a Lambda function
    transport = httpx.ASGITransport(app=http_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        await call(http, "double", {"x": 2})
        await call(http, "broken", {})
        await http.post("/mcp", json={}, headers={"accept": "text/html"})
        await http.get("/health")
    installed.flush()  # as the Lambda handler does at the end of each invocation
    assert installed.sinks
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    emf = [line for line in lines if "_aws" in line]
    assert len(emf) == 3  # the health check is not MCP traffic
    first, second, third = emf
    for line in emf:
        for directive in line["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "cloudmcp-test"
            for dimensions in directive["Dimensions"]:
                assert all(isinstance(line[d], str) for d in dimensions)
            for metric in directive["Metrics"]:
                assert metric["Name"] in line
    assert first["Method"] == "tools/call" and first["Era"] == "stateless"
    assert first["Tool"] == "double" and first["ToolErrors"] == 0 and first["Requests"] == 1
    assert first["ColdStarts"] == 1 and first["ColdStartDuration"] > 0
    assert "ColdStarts" not in second
    assert second["Tool"] == "broken" and second["ToolErrors"] == 1
    assert second["Outcome"] == "tool_error"
    assert third["Cause"] == "not_acceptable" and third["Rejections"] == 1
    # The access log lines are there too, as JSON.
    access = [line for line in lines if line.get("logger") == "cloudmcp.access"]
    assert len(access) == 3


def test_lambda_cold_path_stays_light() -> None:
    """Metrics on Lambda must not import prometheus_client, nor tracing OpenTelemetry."""
    code = (
        "import sys; from cloudmcp import MCPApp; from cloudmcp.ops import OpsConfig; "
        "MCPApp('x').compose(operations=OpsConfig.from_env(platform='lambda')); "
        "print(sorted(m for m in ('prometheus_client', 'opentelemetry') if m in sys.modules))"
    )
    env = {"AWS_LAMBDA_FUNCTION_NAME": "f", "PATH": "/usr/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"
