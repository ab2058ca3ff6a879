"""Real traffic of both eras against `cloudmcp serve`, then /metrics and the log lines."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).parent))

from ops_calls import Session, call_tool, modern
from ops_serving import Live

from cloudmcp.ops.summary import MCP_METHODS

SECRET = "sk-live-do-not-log-0123456789"


def scrape(base: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> [(labels, value)]."""
    text = httpx.get(base + "/metrics").text
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(
    samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float:
    return sum(v for found, v in samples.get(name, []) if labels.items() <= found.items())


OPERATION = "mcp_server_operation_duration_seconds"
SESSION = "mcp_server_session_duration_seconds"
#: The conventions' attributes, as OpenTelemetry's Prometheus exporter names them.
OPERATION_LABELS = {
    "mcp_method_name",
    "gen_ai_tool_name",
    "gen_ai_prompt_name",
    "gen_ai_operation_name",
    "mcp_protocol_version",
    "error_type",
    "rpc_response_status_code",
    "network_transport",
    "network_protocol_name",
}
#: The conventions' boundaries for mcp.server.operation.duration.
CONVENTION_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]


@pytest.fixture
def traffic(live: Live) -> Live:
    """Every kind of request the metrics distinguish, once or a known number of times:
    each method of each era, tool errors, protocol errors, refusals."""
    with httpx.Client(timeout=10) as client:
        url = live.url
        for _ in range(3):
            assert call_tool(client, url, "echo", text="hi").status_code == 200
        failed = call_tool(client, url, "fails")
        assert failed.json()["result"]["isError"] is True
        assert call_tool(client, url, "secret_echo", api_key=SECRET).status_code == 200
        for method in ("tools/list", "server/discover", "resources/list", "prompts/list"):
            assert modern(client, url, method).status_code == 200, method
        assert modern(client, url, "resources/templates/list").status_code == 200
        assert modern(client, url, "resources/read", {"uri": "notes://today"}).status_code == 200
        got = modern(client, url, "prompts/get", {"name": "review", "arguments": {"code": "x"}})
        assert "result" in got.json()
        completion = {"ref": {"type": "ref/prompt", "name": "review"},
                      "argument": {"name": "code", "value": "x"}}  # fmt: skip
        assert modern(client, url, "completion/complete", completion).status_code == 200
        # Protocol errors: bad params, a method no revision has.
        bad = modern(client, url, "prompts/get", {"name": "review", "arguments": {"code": 5}})
        assert bad.json()["error"]["code"] == -32602
        assert modern(client, url, "made/up").json()["error"]["code"] == -32601

        session = Session(client, url)
        assert session.call("echo", text="legacy").status_code == 200
        assert session.send("tools/list").status_code == 200
        assert session.call("secret_echo", api_key=SECRET).status_code == 200
        assert session.send("ping").status_code == 200
        assert session.send("logging/setLevel", {"level": "info"}).status_code == 200
        assert session.send("resources/subscribe", {"uri": "notes://today"}).status_code == 200
        assert session.send("resources/unsubscribe", {"uri": "notes://today"}).status_code == 200
        assert session.send("prompts/get", {"name": "nope"}).json()["error"]["code"] == -32602
        assert session.close().status_code == 204

        # Refusals, one of each cause.
        json_only = {"content-type": "application/json", "accept": "text/html"}
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        assert client.post(url, json=body, headers=json_only).status_code == 406
        big = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * 5_000_000 + b'"}}'
        too_big = client.post(url, content=big, headers={"content-type": "application/json"})
        assert too_big.status_code == 413
        evil_host = {"host": "evil.example", "content-type": "application/json"}
        assert client.post(url, json=body, headers=evil_host).status_code == 421
        evil_origin = {"origin": "http://evil.example", "content-type": "application/json"}
        assert client.post(url, json=body, headers=evil_origin).status_code == 403
        gone = {"mcp-session-id": "no-such-session", "content-type": "application/json"}
        assert client.post(url, json=body, headers=gone).status_code == 404
    return live


def test_metrics_follow_the_mcp_conventions(traffic: Live) -> None:
    # Types and units as OpenMetrics states them.
    text = httpx.get(
        traffic.base + "/metrics", headers={"accept": "application/openmetrics-text"}
    ).text
    stated = {(kind, name): what for kind, name, what in re.findall(
        r"^# (TYPE|UNIT) (\S+) (\S+)$", text, re.M)}  # fmt: skip
    for name in (OPERATION, SESSION):
        assert stated["TYPE", name] == "histogram", name
        assert stated["UNIT", name] == "seconds", name
    # Every series but the conventions' two is cloudmcp's own.
    assert {name for _, name in stated if not name.startswith("cloudmcp_")} == {OPERATION, SESSION}

    samples = scrape(traffic.base)
    count = OPERATION + "_count"
    for labels, _ in samples[count]:
        assert set(labels) == OPERATION_LABELS, labels
        assert labels["network_transport"] == "tcp"
        assert labels["network_protocol_name"] == "http"
    stateless = {"mcp_protocol_version": "2026-07-28"}
    tool = {"mcp_method_name": "tools/call", "gen_ai_operation_name": "execute_tool"}
    assert value(samples, count, gen_ai_tool_name="echo", error_type="", **tool, **stateless) == 3
    failed = value(samples, count, gen_ai_tool_name="fails", **tool, **stateless)
    assert failed == value(samples, count, error_type="tool_error", **stateless) == 1
    for method in ("tools/list", "server/discover", "resources/list", "prompts/list",
                   "resources/templates/list", "completion/complete"):  # fmt: skip
        assert value(samples, count, mcp_method_name=method, error_type="", **stateless) == 1
    read = {"mcp_method_name": "resources/read", **stateless}
    assert value(samples, count, error_type="", gen_ai_tool_name="", **read) == 1
    # The resource URI is not a label (the conventions make it opt-in; it is unbounded).
    assert not any("mcp_resource_uri" in labels for labels, _ in samples[count])
    prompt = {"mcp_method_name": "prompts/get", "gen_ai_prompt_name": "review"}
    assert value(samples, count, error_type="", **prompt, **stateless) == 1
    # A protocol error's type is its JSON-RPC code, also its rpc status code.
    assert value(samples, count, error_type="-32602", rpc_response_status_code="-32602",
                 **prompt, **stateless) == 1  # fmt: skip
    assert value(samples, count, mcp_method_name="_OTHER", error_type="-32601") == 1

    legacy = {"mcp_protocol_version": "2025-11-25"}
    assert value(samples, count, gen_ai_tool_name="echo", error_type="", **tool, **legacy) == 1
    for method in ("initialize", "notifications/initialized", "tools/list", "ping",
                   "logging/setLevel", "resources/subscribe", "resources/unsubscribe"):  # fmt: skip
        assert value(samples, count, mcp_method_name=method, error_type="", **legacy) == 1, method
    unknown_prompt = {"mcp_method_name": "prompts/get", "gen_ai_prompt_name": "_OTHER"}
    assert value(samples, count, error_type="-32602", **unknown_prompt, **legacy) == 1

    # Buckets: every boundary the conventions give, in seconds.
    bounds = {float(labels["le"]) for labels, _ in samples[OPERATION + "_bucket"]}
    assert set(CONVENTION_BUCKETS) <= bounds and float("inf") in bounds
    assert value(samples, OPERATION + "_sum", mcp_method_name="tools/call") > 0

    # The legacy session, from initialize to DELETE.
    assert value(samples, SESSION + "_count", **legacy, network_transport="tcp") == 1
    assert 0 < value(samples, SESSION + "_sum", **legacy) < 60

    # Refusals by cause.
    for cause in ("not_acceptable", "too_large", "misdirected_host", "origin", "unknown_session"):
        assert value(samples, "cloudmcp_rejections_total", cause=cause) == 1, cause

    # Sessions, cold start, build info.
    assert value(samples, "cloudmcp_legacy_sessions_opened_total") == 1
    assert value(samples, "cloudmcp_legacy_sessions_closed_total") == 1
    assert value(samples, "cloudmcp_legacy_sessions_active") == 0
    assert value(samples, "cloudmcp_cold_start_seconds_count") == 1
    assert value(samples, "cloudmcp_build_info", server="ops-test", version="1.2.3") == 1

    # Method labels are a closed set: health checks and scrapes are not MCP operations.
    methods = {labels["mcp_method_name"] for labels, _ in samples[count]}
    assert methods <= MCP_METHODS | {"_OTHER"}


def test_unknown_methods_and_tools_do_not_make_new_series(live: Live) -> None:
    with httpx.Client(timeout=10) as client:
        call_tool(client, live.url, "no_such_tool_0")
        before = {
            tuple(sorted(labels.items())) for labels, _ in scrape(live.base)[OPERATION + "_count"]
        }
        for i in range(10_000):  # distinct names, each an unknown tool, a method, a URI
            call_tool(client, live.url, f"no_such_tool_{i}")
            if i % 1000 == 0:
                modern(client, live.url, f"made/up/{i}")
                modern(client, live.url, "resources/read", {"uri": f"notes://nowhere/{i}"})
    samples = scrape(live.base)
    after = {tuple(sorted(labels.items())) for labels, _ in samples[OPERATION + "_count"]}
    added = after - before
    # One series for unknown methods and one for unknown resources, whatever the names.
    assert {dict(labels)["mcp_method_name"] for labels in added} <= {"_OTHER", "resources/read"}
    assert len(added) <= 2, added
    tools = {labels["gen_ai_tool_name"] for labels, _ in samples[OPERATION + "_count"]}
    assert tools <= {"", "_OTHER"}
    assert value(samples, OPERATION + "_count", gen_ai_tool_name="_OTHER") == 10_001


def test_every_log_line_is_json_with_the_request_fields(traffic: Live) -> None:
    lines = traffic.lines()
    records = [json.loads(line) for line in lines]  # every line, uvicorn's included
    assert all({"time", "severity", "message", "logger"} <= r.keys() for r in records)
    access = [r for r in records if r["logger"] == "cloudmcp.access"]
    calls = [r for r in access if r.get("method") == "tools/call" and r.get("tool") == "echo"]
    assert len(calls) == 4
    for record in calls:
        assert record["status"] == 200
        assert record["severity"] == "INFO"
        assert record["era"] in ("stateless", "legacy")
        assert isinstance(record["duration_ms"], float)
        assert len(record["request_id"]) >= 8
    legacy = [r for r in calls if r["era"] == "legacy"]
    assert legacy[0]["protocol_version"] == "2025-11-25" and "session" in legacy[0]
    refused = {r.get("rejected") for r in access if r["status"] >= 400}
    assert {"not_acceptable", "too_large", "misdirected_host", "origin"} <= refused
    assert all(r["severity"] == "WARNING" for r in access if 400 <= r["status"] < 500)
    # No health-check noise, no secrets, no session ids.
    assert not [r for r in access if r["path"] in ("/health", "/metrics")]
    text = traffic.log.read_text()
    assert SECRET not in text


def test_names_with_percent_signs_are_logged_as_sent(live: Live) -> None:
    """Lines are %-format templates per kind of request: a `%` a client sends stays text."""
    with httpx.Client(timeout=10) as client:
        for _ in range(2):
            assert call_tool(client, live.url, "100%25-made-up").status_code == 200
    access = [json.loads(line) for line in live.lines() if '"cloudmcp.access"' in line]
    assert [r["tool"] for r in access if r.get("method") == "tools/call"][-2:] == [
        "100%25-made-up"
    ] * 2


def test_text_access_lines_name_the_call_and_its_duration(tmp_path: Path) -> None:
    from ops_serving import start, stop

    server = start(tmp_path, {"LOG_FORMAT": "text"})
    try:
        with httpx.Client(timeout=10) as client:
            assert call_tool(client, server.url, "echo", text="hi").status_code == 200
            assert modern(client, server.url, "made/up%s").status_code == 404
        access = [line for line in server.lines() if "cloudmcp.access:" in line]
        assert re.fullmatch(
            r"INFO +cloudmcp\.access: tools/call echo 200 in \d+\.\d{3} ms", access[-2]
        )
        assert re.fullmatch(r"WARNING cloudmcp\.access: made/up%s 404 in \d+\.\d{3} ms", access[-1])
    finally:
        stop(server)


def test_sampled_access_lines_keep_every_failure_and_metrics_count_everything(
    tmp_path: Path,
) -> None:
    from ops_serving import start, stop

    server = start(tmp_path, {"ACCESS_LOG_SAMPLE_RATE": "0.25"})
    try:
        with httpx.Client(timeout=10) as client:
            for number in range(9):
                assert call_tool(client, server.url, "echo", text=f"n{number}").status_code == 200
            for _ in range(3):
                assert call_tool(client, server.url, "fails").json()["result"]["isError"]
            samples = scrape(server.base)
        access = [json.loads(line) for line in server.lines() if '"cloudmcp.access"' in line]
        echoes = [r for r in access if r.get("tool") == "echo"]
        # The first of the kind, then one in four.
        assert len(echoes) == 3 and all(r["sample_rate"] == 0.25 for r in echoes)
        failures = [r for r in access if r.get("tool") == "fails"]
        assert len(failures) == 3 and all("sample_rate" not in r for r in failures)
        assert value(samples, OPERATION + "_count", gen_ai_tool_name="echo") == 9
    finally:
        stop(server)


def test_past_the_budget_a_second_each_line_stands_for_several_requests(tmp_path: Path) -> None:
    from ops_serving import start, stop

    server = start(tmp_path, {"ACCESS_LOG_PER_SECOND": "3"})
    try:
        with httpx.Client(timeout=10) as client:
            started = time.monotonic()
            for number in range(12):
                assert call_tool(client, server.url, "echo", text=f"n{number}").status_code == 200
                assert call_tool(client, server.url, "fails").json()["result"]["isError"]
            took = time.monotonic() - started
            samples = scrape(server.base)
        access = [json.loads(line) for line in server.lines() if '"cloudmcp.access"' in line]
        for tool in ("echo", "fails"):  # a failing call is thinned like any other kind
            lines = [r for r in access if r.get("tool") == tool]
            weights = [round(1 / r.get("sample_rate", 1)) for r in lines]
            assert set(weights) <= {1, 3} and weights[:3] == [1, 1, 1]
            # Each second: three lines, then one per three requests (at most two left over).
            seconds = int(took) + 1
            assert 12 - 2 * seconds <= sum(weights) <= 12
            if seconds == 1:
                assert weights == [1, 1, 1, 3, 3, 3]
        assert value(samples, OPERATION + "_count", gen_ai_tool_name="echo") == 12
    finally:
        stop(server)


def test_a_malformed_switch_is_a_clear_error(tmp_path: Path) -> None:
    from ops_serving import refusal

    malformed = (
        ("ACCESS_LOG_SAMPLE_RATE", "1.5"),
        ("ACCESS_LOG_PER_SECOND", "-1"),
        ("LOG_FORMAT", "xml"),
    )
    for name, raw in malformed:
        stderr = refusal({**os.environ, name: raw}, "--port", "1")
        assert stderr.startswith(f"cloudmcp serve: {name}=")


def test_cloud_run_trace_fields(tmp_path: Path) -> None:
    from ops_serving import start, stop

    server = start(tmp_path, {"K_SERVICE": "svc", "GOOGLE_CLOUD_PROJECT": "my-proj"})
    try:
        trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        with httpx.Client(timeout=10) as client:
            traceparent = f"00-{trace}-00f067aa0ba902b7-01"
            modern(client, server.url, "tools/list", headers={"traceparent": traceparent})
            cloud = f"{'a' * 32}/12345;o=1"
            modern(client, server.url, "tools/list", headers={"x-cloud-trace-context": cloud})
            # SEP-414: the MCP client's context in `_meta` outranks the HTTP hop's.
            meta = {"traceparent": f"00-{'b' * 32}-{'c' * 16}-00"}
            modern(
                client, server.url, "tools/list", meta=meta, headers={"traceparent": traceparent}
            )
        access = [json.loads(line) for line in server.lines() if '"cloudmcp.access"' in line]
        first, second, third = access[-3:]
        assert first["logging.googleapis.com/trace"] == f"projects/my-proj/traces/{trace}"
        assert first["logging.googleapis.com/spanId"] == "00f067aa0ba902b7"
        assert first["logging.googleapis.com/trace_sampled"] is True
        assert second["logging.googleapis.com/trace"] == f"projects/my-proj/traces/{'a' * 32}"
        assert second["logging.googleapis.com/spanId"] == f"{12345:016x}"
        assert third["logging.googleapis.com/trace"] == f"projects/my-proj/traces/{'b' * 32}"
        assert third["logging.googleapis.com/trace_sampled"] is False
        assert third["rpc_id"] == 1
    finally:
        stop(server)


def test_app_log_records_are_json_and_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    from cloudmcp.ops.config import OpsConfig
    from cloudmcp.ops.logs import configure_logging

    configure_logging(OpsConfig(log_format="json"))
    logger = logging.getLogger("cloudmcp.app")
    logger.warning(
        "calling upstream with Bearer abc.def.ghi", extra={"api_key": SECRET, "user": "ann"}
    )
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("tool failed")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    first, second = lines[-2], lines[-1]
    assert first["severity"] == "WARNING" and first["logger"] == "cloudmcp.app"
    assert first["api_key"] == "[redacted]" and first["user"] == "ann"
    assert "abc.def.ghi" not in first["message"]
    assert second["severity"] == "ERROR" and "RuntimeError: boom" in second["exception"]
    configure_logging(OpsConfig(log_format="text"))
