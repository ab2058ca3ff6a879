"""Several uvicorn workers: every scrape, whichever worker answers it, counts every request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from ops_calls import Session, call_tool
from ops_serving import ROOT, SLOW_APP, cloudmcp_command, free_port, wait_for
from test_metrics_and_logs import scrape, value

REQUESTS = 40


def test_two_workers_add_up(tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "REDIS_URL")}
    env.update({"PROMETHEUS_MULTIPROC_DIR": str(folder), "LOG_FORMAT": "json"})
    log = tmp_path / "uvicorn.log"
    command = [
        str(ROOT / ".venv" / "bin" / "uvicorn"),
        "--factory",
        "slow_app:factory",
        "--app-dir",
        str(Path(__file__).parent),
        "--workers",
        "2",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/health", process, log)
        for _ in range(REQUESTS):
            # A new connection each time, so the kernel spreads them over both workers.
            with httpx.Client(timeout=10) as client:
                assert call_tool(client, base + "/mcp", "echo", text="x").status_code == 200
        time.sleep(1.5)  # each worker hands its counts to the shared files once a second
        writers = {p.name.rsplit("_", 1)[-1] for p in folder.glob("counter_*.db")}
        assert len(writers) >= 2, f"one worker served everything: {writers}"
        for _ in range(6):  # scrapes land on either worker; each must see the sum
            samples = scrape(base)
            assert value(samples, "cloudmcp_requests_total", method="tools/call") == REQUESTS
            count = value(samples, "cloudmcp_tool_duration_seconds_count", tool="echo")
            assert count == REQUESTS
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_workers_share_sessions_and_metrics_and_exit_cleanly(tmp_path: Path) -> None:
    """`cloudmcp serve --workers 2`: a session's requests land on both workers and still
    find it (Redis), a scrape from either adds up both, SIGTERM ends all with status 0."""
    from redis_support import REDIS_URL, require_redis

    require_redis()
    temp = tmp_path / "tmp"  # where serve makes its metrics folder
    temp.mkdir()
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PORT", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "WORKERS")
    }
    env.update(
        REDIS_URL=REDIS_URL,
        KEY_PREFIX=f"serve-workers-{port}:",
        LOG_FORMAT="json",
        TMPDIR=str(temp),
    )
    log = tmp_path / "serve.log"
    command = [*cloudmcp_command(), "serve", str(SLOW_APP), "--port", str(port), "--workers", "2"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/health", process, log)
        served_by = set()
        for _ in range(REQUESTS):
            with httpx.Client(timeout=10) as client:  # a new connection each time
                answer = call_tool(client, base + "/mcp", "echo", text="x")
                assert answer.status_code == 200
                served_by.add(answer.headers["x-cloudmcp-instance"])
        assert len(served_by) == 2, f"one worker served everything: {served_by}"

        session_served_by = set()
        fresh = httpx.Limits(max_keepalive_connections=0)  # every request connects anew
        with httpx.Client(timeout=10, limits=fresh) as client:
            session = Session(client, base + "/mcp")
            for number in range(12):
                answer = session.call("echo", text=f"s{number}")
                assert answer.status_code == 200, answer.text
                session_served_by.add(answer.headers["x-cloudmcp-instance"])
            assert session.close().status_code == 204
        assert session_served_by == served_by

        time.sleep(1.5)  # each worker hands its counts to the shared files once a second
        for _ in range(6):  # scrapes land on either worker; each must see the sum
            calls = {"method": "tools/call"}
            samples = scrape(base)
            assert value(samples, "cloudmcp_requests_total", era="stateless", **calls) == REQUESTS
            assert value(samples, "cloudmcp_requests_total", era="legacy", **calls) == 12
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()[-3000:]
    assert not any(temp.iterdir()), "the metrics folder outlived the server"
    assert "Traceback" not in log.read_text()


def test_serve_workers_without_a_shared_store_is_refused() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    finished = subprocess.run(
        [*cloudmcp_command(), "serve", "--workers", "2", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert finished.stderr.startswith("cloudmcp serve: --workers 2 needs REDIS_URL")
    assert "Traceback" not in finished.stderr
