"""`cloudmcp probe` against a live server and a dead port."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from cloudmcp_serving import cloudmcp_command
from ops_serving import ROOT, Live, free_port

STEPS = [
    "health",
    "server/discover",
    "initialize",
    "notifications/initialized",
    "tools/list",
    "tools/call echo",
    "DELETE session",
]


def probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cloudmcp_command(), "probe", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_step_passes_against_a_live_server(live: Live) -> None:
    result = probe(live.url, "--call", "echo", "--args", '{"text": "probe"}', "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    (target,) = report["targets"]
    assert target["url"] == live.url and target["ok"] is True
    assert [s["step"] for s in target["steps"]] == STEPS
    assert all(s["ok"] and s["ms"] >= 0 for s in target["steps"])
    details = {s["step"]: s["detail"] for s in target["steps"]}
    assert details["tools/call echo"] == "probe"
    assert "2026-07-28" in details["server/discover"]
    assert details["tools/list"].startswith("4 tools")


def test_the_table_for_people(live: Live) -> None:
    result = probe(live.url, "--header", "Authorization: Bearer not-needed-here")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{live.url}  OK"
    assert any(line.strip().startswith("ok    tools/list") for line in lines)
    assert "Bearer" not in result.stdout  # headers are sent, never printed


def test_a_dead_port_fails_clearly() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    result = probe(url, "--json", "--timeout", "2")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    steps = report["targets"][0]["steps"]
    assert steps[0]["step"] == "health" and not steps[0]["ok"]
    assert "connection refused" in steps[0]["detail"]
    assert steps[-1]["detail"] == "skipped: no session"
    table = probe(url, "--timeout", "2")
    assert table.returncode == 1
    assert "FAILED" in table.stdout and "connection refused" in table.stdout
    assert f"FAILED: {url}" in table.stderr


def test_several_urls_one_failing(live: Live) -> None:
    dead = f"http://127.0.0.1:{free_port()}/mcp"
    result = probe(live.url, dead, "--json", "--timeout", "2")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [t["ok"] for t in report["targets"]] == [True, False]


def test_a_failing_tool_call_fails_the_probe(live: Live) -> None:
    result = probe(live.url, "--call", "fails", "--json")
    assert result.returncode == 1
    steps = json.loads(result.stdout)["targets"][0]["steps"]
    failed = [s for s in steps if not s["ok"]]
    assert [s["step"] for s in failed] == ["tools/call fails"]
    assert "isError" in failed[0]["detail"]


def test_bad_arguments_are_a_usage_error() -> None:
    result = probe("http://127.0.0.1:1/mcp", "--args", "[1, 2]")
    assert result.returncode == 2 and "JSON object" in result.stderr
