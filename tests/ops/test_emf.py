"""On AWS Lambda: the same figures as CloudWatch Embedded Metric Format lines on stdout."""

from __future__ import annotations

import json
import re
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


async def call(
    http: httpx.AsyncClient,
    name: str,
    arguments: dict[str, object],
    headers: dict[str, str] | None = None,
) -> None:
    params = {"name": name, "arguments": arguments, "_meta": META}
    all_headers = {
        "accept": ACCEPT,
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": name,
        **(headers or {}),
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    await http.post("/mcp", json=body, headers=all_headers)


XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


async def test_emf_lines_carry_the_conventions_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    app = lambda_app()
    http_app = app.http_app(operations=LAMBDA)
    installed = http_app.service.ops
    assert installed is not None
    assert "/metrics" not in http_app.service.server.routes  # nothing scrapes a Lambda function
    transport = httpx.ASGITransport(app=http_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        await call(http, "double", {"x": 2}, {"x-amzn-trace-id": XRAY})
        await call(http, "broken", {})
        for i in range(3):  # unknown tools: one dimension value, whatever the names
            await call(http, f"nothing_{i}", {})
        await http.post("/mcp", json={}, headers={"accept": "text/html"})
        await http.get("/health")
    installed.flush()  # as the Lambda handler does at the end of each invocation
    assert installed.sinks
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    emf = [line for line in lines if "_aws" in line]
    assert len(emf) == 6  # the health check is not MCP traffic
    double, broken, *unknown, refused = emf
    for line in emf:
        assert line["service.name"] == "emf-test"
        for directive in line["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "cloudmcp-test"
            for dimensions in directive["Dimensions"]:
                assert all(isinstance(line[d], str) and line[d] for d in dimensions)
            for metric in directive["Metrics"]:
                assert metric["Name"] in line
                assert metric["Unit"] in ("Seconds", "Count")
    operation = "mcp.server.operation.duration"
    assert double["mcp.method.name"] == "tools/call"
    assert double["gen_ai.tool.name"] == "double"
    assert double["mcp.protocol.version"] == "2026-07-28"
    assert 0 < double[operation] < 5 and "error.type" not in double
    (directive,) = [
        d for d in double["_aws"]["CloudWatchMetrics"] if d["Metrics"][0]["Name"] == operation
    ]
    assert directive["Metrics"] == [{"Name": operation, "Unit": "Seconds"}]
    assert ["service.name", "mcp.method.name"] in directive["Dimensions"]
    assert ["service.name", "gen_ai.tool.name"] in directive["Dimensions"]
    # The X-Ray trace id the log viewer links on, from API Gateway's header.
    assert double["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert double["cloudmcp.cold_starts"] == 1 and double["cloudmcp.cold_start"] > 0
    assert "cloudmcp.cold_starts" not in broken
    assert broken["gen_ai.tool.name"] == "broken" and broken["error.type"] == "tool_error"
    assert {line["gen_ai.tool.name"] for line in unknown} == {"_OTHER"}
    assert {line["error.type"] for line in unknown} == {"-32602"}
    assert refused["cause"] == "not_acceptable" and refused["cloudmcp.rejections"] == 1
    assert operation not in refused
    # The access log lines are there too, as JSON, with the same trace.
    access = [line for line in lines if line.get("logger") == "cloudmcp.access"]
    assert len(access) == 6
    assert access[0]["xray_trace_id"] == double["xray_trace_id"]
    assert access[0]["rpc_id"] == 1


async def test_a_session_s_duration_on_delete(capsys: pytest.CaptureFixture[str]) -> None:
    http_app = lambda_app().http_app(operations=LAMBDA)
    transport = httpx.ASGITransport(app=http_app)
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}},
    }  # fmt: skip
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        opened = await http.post("/mcp", json=init, headers={"accept": ACCEPT})
        session = {"mcp-session-id": opened.headers["mcp-session-id"]}
        assert (await http.delete("/mcp", headers=session)).status_code == 204
    assert http_app.service.ops is not None
    http_app.service.ops.flush()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    initialize, ended = [line for line in lines if "_aws" in line]
    assert initialize["mcp.method.name"] == "initialize"
    assert initialize["mcp.protocol.version"] == "2025-11-25"
    assert "mcp.server.operation.duration" not in ended  # DELETE is no MCP operation
    assert 0 <= ended["mcp.server.session.duration"] < 60
    (directive,) = ended["_aws"]["CloudWatchMetrics"]
    assert directive["Metrics"] == [{"Name": "mcp.server.session.duration", "Unit": "Seconds"}]
    assert ["service.name", "mcp.protocol.version"] in directive["Dimensions"]


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


def test_the_deploy_s_alarms_watch_the_series_the_function_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The internal-error alarms (SAM and Terraform) name the namespace, metric and
    dimensions of the EMF line an internal error writes, under the deploy's environment."""
    import yaml

    from cloudmcp.deploy.config import load_config
    from cloudmcp.deploy.environments import resolve_environment
    from cloudmcp.deploy.render import render_all
    from cloudmcp.ops import Ops
    from cloudmcp.ops.summary import Summary
    from cloudmcp.protocol.transport import HttpRequest

    root = Path(__file__).resolve().parents[2]
    config = load_config(root / "examples" / "deploy" / "minimal.toml")
    env = resolve_environment(config, "production").env_vars
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("EMF_NAMESPACE", raising=False)
    ops = Ops.start(
        OpsConfig(platform="lambda", log_format="json", access_log=False), MCPApp("app")
    )
    (sink,) = ops.sinks
    summary = Summary(
        path="/mcp", http_method="POST", method="tools/call", operation=True,
        rpc_method="tools/call", name="t", tool="_OTHER", era="stateless",
        version="2026-07-28", status=200, outcome="error", cause=None, error=-32603,
        error_type="-32603", in_session=False,
    )  # fmt: skip
    line = sink.line(summary, HttpRequest("POST", {}, b""), 0.01)
    written = {
        (d["Namespace"], m["Name"], tuple((k, line[k]) for k in sorted(dims)))
        for d in line["_aws"]["CloudWatchMetrics"]
        for m in d["Metrics"]
        for dims in d["Dimensions"]
    }

    files = {f.path: f.text for f in render_all(config, "production")}
    sam_text = next(text for path, text in files.items() if path.endswith("template.yaml"))
    sam = yaml.load(sam_text, Loader=_cfn_loader())["Resources"]["McpInternalErrorsAlarm"]
    props = sam["Properties"]
    alarm = (
        props["Namespace"],
        props["MetricName"],
        tuple(sorted((d["Name"], d["Value"]) for d in props["Dimensions"])),
    )
    assert alarm in written
    assert env["OTEL_SERVICE_NAME"] == dict(alarm[2])["service.name"]

    # Terraform's alarm: the same metric and dimensions, its service from the env it sets.
    full = load_config(root / "examples" / "deploy" / "cloudmcp.toml")
    rendered = {f.path: f.text for f in render_all(full, "production")}
    tf = rendered["terraform/monitoring_aws.tf"]
    assert f'metric_name       = "{props["MetricName"]}"' in tf
    assert '"error.type"   = "-32603"' in tf and 'statistic           = "SampleCount"' in tf
    assert '"service.name" = lookup(var.env_vars, "OTEL_SERVICE_NAME", local.name)' in tf
    tfvars = rendered["terraform/production.tfvars"]
    assert re.search(rf'^\s*OTEL_SERVICE_NAME\s*=\s*"{full.service.name}"$', tfvars, re.M)


def _cfn_loader() -> type:
    """A YAML loader that reads CloudFormation's short tags (`!Ref`, `!Sub`) as plain values."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)  # type: ignore[arg-type]

    yaml.add_multi_constructor("!", tagged, Loader=Loader)
    return Loader
