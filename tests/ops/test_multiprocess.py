"""Several uvicorn workers: every scrape, whichever worker answers it, counts every request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ops_calls import Session, call_tool, modern
from ops_serving import ROOT, cloudmcp_command, free_port, refusal, wait_for
from test_metrics_and_logs import scrape, value

REQUESTS = 40
STATE_APP = Path(__file__).parents[1] / "multi_instance" / "state_app.py"


OPERATION = "mcp_server_operation_duration_seconds_count"


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
            count = value(samples, OPERATION, mcp_method_name="tools/call")
            assert count == REQUESTS
            assert value(samples, OPERATION, gen_ai_tool_name="echo") == REQUESTS
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_workers_share_sessions_state_and_metrics_and_exit_cleanly(tmp_path: Path) -> None:
    """`cloudmcp serve --workers 2`: requests spread over both workers; a legacy session
    and a 2026-07-28 `requestState` continue on whichever worker the next request
    reaches; a scrape from either adds up both; SIGTERM ends all with status 0."""
    from redis_support import REDIS_URL, require_redis

    require_redis()
    temp = tmp_path / "tmp"  # where serve makes its metrics folder
    temp.mkdir()
    port = free_port()
    unset = ("PORT", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "WORKERS", "STATE_KEYS")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(
        REDIS_URL=REDIS_URL,
        KEY_PREFIX=f"serve-workers-{port}:",
        LOG_FORMAT="json",
        TMPDIR=str(temp),
    )
    log = tmp_path / "serve.log"
    command = [*cloudmcp_command(), "serve", str(STATE_APP), "--port", str(port), "--workers", "2"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/mcp"
    fresh = httpx.Limits(max_keepalive_connections=0)  # every request connects anew
    try:
        wait_for(f"http://127.0.0.1:{port}/health", process, log)
        with httpx.Client(timeout=10, limits=fresh) as client:

            def served_by(answer: httpx.Response) -> str:
                assert answer.status_code == 200, answer.text
                return answer.headers["x-cloudmcp-instance"]

            # Until both workers are up and have answered (the second may still start).
            workers: set[str] = set()
            stateless = 0
            while len(workers) < 2 and stateless < 200:
                workers.add(served_by(call_tool(client, url, "whoami")))
                stateless += 1
            assert len(workers) == 2, f"one worker served everything: {workers}"

            session = Session(client, url)
            session_served_by: set[str] = set()
            legacy = 0
            while session_served_by != workers and legacy < 200:
                session_served_by.add(served_by(session.call("whoami")))
                legacy += 1
            assert session_served_by == workers
            assert session.close().status_code == 204

            # An answer to a question sealed by one worker opens on the other.
            elicits = {"io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}
            ask = {"name": "ask_name", "arguments": {}}
            answers = {"input-1": {"action": "accept", "content": {"name": "Grace"}}}
            crossed = rounds = 0
            while not crossed and rounds < 100:
                rounds += 1
                asked = modern(client, url, "tools/call", ask, meta=elicits)
                first = asked.json()["result"]
                assert first["resultType"] == "input_required"
                state = {"inputResponses": answers, "requestState": first["requestState"]}
                retry = modern(client, url, "tools/call", ask | state, meta=elicits)
                assert retry.json()["result"]["content"][0]["text"].startswith("hello Grace")
                crossed = served_by(asked) != served_by(retry)
            assert crossed

        time.sleep(1.5)  # each worker hands its counts to the shared files once a second
        calls = {"mcp_method_name": "tools/call"}
        for _ in range(6):  # scrapes land on either worker; each must see the sum
            samples = scrape(f"http://127.0.0.1:{port}")
            total = stateless + 2 * rounds
            stateless_calls = value(samples, OPERATION, mcp_protocol_version="2026-07-28", **calls)
            assert stateless_calls == total
            assert value(samples, OPERATION, mcp_protocol_version="2025-11-25", **calls) == legacy
            # Each worker: its command pool, and one subscriber connection (the watch for
            # relayed cancellations, started by its first legacy call).
            assert value(samples, "cloudmcp_store_connections", kind="subscribers") == 2
            assert value(samples, "cloudmcp_store_connections", kind="commands") >= 2
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()[-3000:]
    assert not any(temp.iterdir()), "the metrics folder outlived the server"
    assert "Traceback" not in log.read_text()


@pytest.mark.parametrize(
    ("workers", "refusal_text"),
    [
        ("2", "--workers 2 needs REDIS_URL"),
        ("0", "--workers 0: expected a whole number, 1 or more"),
    ],
)
def test_serve_workers_that_cannot_work_are_refused(workers: str, refusal_text: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    stderr = refusal(env, "--workers", workers, "--port", "1")
    assert stderr.startswith(f"cloudmcp serve: {refusal_text}")
