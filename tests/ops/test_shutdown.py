"""SIGTERM: calls in flight finish, open streams end with a retry hint, exit status 0."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from ops_calls import Session, call_tool
from ops_serving import start, stop

GRACE = 6.0


def test_sigterm_lets_the_call_finish_and_exits_zero(tmp_path: Path) -> None:
    server = start(tmp_path, {"GRACEFUL_TIMEOUT": str(GRACE)})
    outcome: dict[str, object] = {}
    stream_text: list[str] = []
    try:
        with httpx.Client(timeout=30) as client:
            session = Session(client, server.url)

            def slow_call() -> None:
                response = call_tool(client, server.url, "slow", seconds=2.0)
                outcome["status"] = response.status_code
                outcome["body"] = response.json()
                outcome["at"] = time.monotonic()

            def get_stream() -> None:
                headers = {**session.headers(), "accept": "text/event-stream"}
                with httpx.stream("GET", server.url, headers=headers, timeout=30) as response:
                    for text in response.iter_text():
                        stream_text.append(text)
                outcome["stream_ended"] = time.monotonic()

            caller = threading.Thread(target=slow_call)
            reader = threading.Thread(target=get_stream)
            reader.start()
            caller.start()
            time.sleep(0.7)  # both requests are in flight
            terminated = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            code = server.process.wait(timeout=GRACE + 5)
            exited = time.monotonic()
            caller.join(5)
            reader.join(5)
    finally:
        stop(server)

    assert code == 0, server.log.read_text()[-2000:]
    assert exited - terminated < GRACE
    # The call that was running completed, with its result.
    assert outcome["status"] == 200
    assert outcome["body"]["result"]["content"][0]["text"] == "slept 2.0"
    # The standalone stream ended promptly, telling the client when to reconnect and
    # where to resume.
    assert float(outcome["stream_ended"]) - terminated < 1.0  # type: ignore[arg-type]
    text = "".join(stream_text)
    assert text.rstrip().endswith("data:") and "retry: 1000" in text.split("\n\n")[-2]
    lines = server.log.read_text()
    assert "Waiting for application shutdown" in lines


def test_new_connections_are_refused_after_sigterm(tmp_path: Path) -> None:
    server = start(tmp_path, {"GRACEFUL_TIMEOUT": str(GRACE)})
    try:
        with httpx.Client(timeout=30) as client:
            caller = threading.Thread(
                target=lambda: call_tool(client, server.url, "slow", seconds=1.5)
            )
            caller.start()
            time.sleep(0.4)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.4)
            try:
                late = httpx.get(server.base + "/ready", timeout=2).status_code
            except httpx.HTTPError:
                late = None  # the listener is closed: what a load balancer should see
            assert late in (None, 503)
            caller.join(5)
        assert server.process.wait(timeout=GRACE + 5) == 0
    finally:
        stop(server)


def test_a_call_past_the_grace_period_gets_a_json_rpc_error(tmp_path: Path) -> None:
    server = start(tmp_path, {"GRACEFUL_TIMEOUT": "1"})
    outcome: dict[str, object] = {}
    try:
        with httpx.Client(timeout=30) as client:

            def slow_call() -> None:
                response = call_tool(client, server.url, "slow", seconds=8.0)
                outcome["status"] = response.status_code
                outcome["body"] = response.json()

            caller = threading.Thread(target=slow_call)
            caller.start()
            time.sleep(0.7)
            server.process.send_signal(signal.SIGTERM)
            code = server.process.wait(timeout=10)
            caller.join(5)
    finally:
        stop(server)
    log = server.log.read_text()
    assert code == 0, log[-2000:]
    assert outcome["status"] == 503
    assert outcome["body"]["error"]["code"] == -31000  # type: ignore[index]
    assert "Traceback" not in log and "Exception in ASGI application" not in log
