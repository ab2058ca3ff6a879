"""Tasks survive their instance: three `cloudmcp serve` processes share the real Redis, and
the one running a task is killed, paused, told to cancel from elsewhere, or shut down.

The task record (read straight from Redis) says who ran the work and under which attempt
(the fencing token); `retries` counts take-overs from a worker whose lease ran out.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from instances import Instance, start_many
from redis_support import REDIS_URL, delete_prefix
from wire import tasks_request

TASKS_APP = Path(__file__).resolve().parent / "tasks_app.py"
WAIT = 60.0


@pytest.fixture
def prefix() -> Iterator[str]:
    prefix = f"cloudmcp-test:{secrets.token_hex(6)}:"
    yield prefix
    asyncio.run(delete_prefix(prefix))


def _trio(tmp_path: Path, prefix: str, **env: str) -> list[Instance]:
    settings = {"KEY_PREFIX": prefix, "TASK_SWEEP_INTERVAL": "0.5", **env}
    return start_many(3, TASKS_APP, tmp_path, settings)


@pytest.fixture
def stop_all() -> Iterator[list[Instance]]:
    started: list[Instance] = []
    yield started
    for instance in started:
        if instance.process.poll() is None:
            instance.process.send_signal(signal.SIGCONT)  # a paused one must hear SIGTERM
        instance.stop()


def _record(prefix: str, task_id: str) -> dict[str, Any] | None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        raw = client.get(f"{prefix}task:{{{task_id}}}")
    finally:
        client.close()
    return None if raw is None else json.loads(raw)


def _until(what: str, check: Callable[[], Any], instances: list[Instance]) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    logs = "\n".join(f"--- {i.name}\n{i.log_tail(15)}" for i in instances)
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def _create(instance: Instance, seconds: float, marker: str = "") -> str:
    with httpx.Client(timeout=10) as client:
        created = tasks_request(
            client,
            instance.url,
            "tools/call",
            {"name": "work", "arguments": {"seconds": seconds, "marker": marker}},
        )
    assert created["result"]["resultType"] == "task", created
    task_id: str = created["result"]["taskId"]
    return task_id


def _get(instance: Instance, task_id: str) -> dict[str, Any]:
    with httpx.Client(timeout=10) as client:
        answer = tasks_request(client, instance.url, "tasks/get", {"taskId": task_id})
    result: dict[str, Any] = answer["result"]
    return result


def _running_on(prefix: str, task_id: str, instance: Instance) -> bool:
    record = _record(prefix, task_id)
    return bool(
        record and record["state"] == "running" and record["worker"].startswith(instance.name)
    )


def test_killed_worker_task_finished_by_another(
    tmp_path: Path, prefix: str, stop_all: list[Instance]
) -> None:
    stop_all += (trio := _trio(tmp_path, prefix, TASK_LEASE="2"))
    a, b, c = trio
    task_id = _create(a, 3)
    _until("A to run the task", lambda: _running_on(prefix, task_id, a), trio)

    a.process.send_signal(signal.SIGKILL)
    a.process.wait()

    done = _until("the task to complete", lambda: _get(b, task_id)["status"] == "completed", trio)
    result = _get(c, task_id)
    text = result["result"]["content"][0]["text"]
    assert done and text in ("done by instance-2", "done by instance-3")
    record = _record(prefix, task_id)
    assert record is not None
    assert record["attempt"] == 2 and record["retries"] == 1  # taken over once, after the lease


def test_paused_worker_late_write_is_refused(
    tmp_path: Path, prefix: str, stop_all: list[Instance]
) -> None:
    stop_all += (trio := _trio(tmp_path, prefix, TASK_LEASE="2"))
    a, b, c = trio
    task_id = _create(a, 4)
    _until("A to run the task", lambda: _running_on(prefix, task_id, a), trio)

    a.process.send_signal(signal.SIGSTOP)  # presumed dead once its lease runs out
    _until("another to finish", lambda: _get(b, task_id)["status"] == "completed", trio)
    finished = _record(prefix, task_id)
    assert finished is not None and finished["attempt"] == 2
    winner = _get(c, task_id)["result"]

    a.process.send_signal(signal.SIGCONT)
    _until("A to find its claim lost", lambda: "lost its claim" in a.log.read_text(), trio)
    # A's renewal or result under attempt 1 was refused: the record is as the winner left it.
    assert _record(prefix, task_id) == finished
    assert _get(a, task_id)["result"] == winner
    assert winner["content"][0]["text"] != "done by instance-1"


def test_cancel_from_a_third_instance_stops_the_work(
    tmp_path: Path, prefix: str, stop_all: list[Instance]
) -> None:
    stop_all += (trio := _trio(tmp_path, prefix))
    a, b, c = trio
    marker = tmp_path / "cancelled-on"
    task_id = _create(a, 30, str(marker))
    _until("A to run the task", lambda: _running_on(prefix, task_id, a), trio)

    with httpx.Client(timeout=10) as client:
        ack = tasks_request(client, c.url, "tasks/cancel", {"taskId": task_id})
    assert ack["result"]["resultType"] == "complete"
    assert _get(b, task_id)["status"] == "cancelled"  # at once, for every instance

    # The tool itself stopped, where it ran: on A.
    assert _until("the tool to stop", marker.exists, trio)
    assert marker.read_text() == "instance-1"
    # The marker is written as the tool stops; the log line follows, flushed in its batch.
    assert _until("A's log line", lambda: "cancelled: its run stopped" in a.log.read_text(), trio)
    record = _record(prefix, task_id)
    assert record is not None and record["state"] == "cancelled" and "result" not in record


def test_sigterm_hands_the_task_to_another(
    tmp_path: Path, prefix: str, stop_all: list[Instance]
) -> None:
    # A long lease: only a hand-back, not a take-over after the lease, can move the task.
    stop_all += (trio := _trio(tmp_path, prefix, TASK_LEASE="600"))
    a, b, c = trio
    task_id = _create(a, 3)
    _until("A to run the task", lambda: _running_on(prefix, task_id, a), trio)

    a.process.send_signal(signal.SIGTERM)
    assert a.process.wait(timeout=30) == 0

    _until("another to finish", lambda: _get(b, task_id)["status"] == "completed", trio)
    text = _get(c, task_id)["result"]["content"][0]["text"]
    assert text in ("done by instance-2", "done by instance-3")
    assert "handed back at shutdown" in a.log.read_text()
    record = _record(prefix, task_id)
    assert record is not None and record["attempt"] == 2 and "retries" not in record


def test_a_task_is_readable_everywhere_once_its_id_is_returned(
    tmp_path: Path, prefix: str, stop_all: list[Instance]
) -> None:
    stop_all += (pair := start_many(2, TASKS_APP, tmp_path, {"KEY_PREFIX": prefix}))
    a, b = pair
    with httpx.Client(timeout=10) as client:
        for i in range(100):
            created = tasks_request(
                client, a.url, "tools/call", {"name": "work", "arguments": {"seconds": 0}}, id=i
            )
            task_id = created["result"]["taskId"]
            found = tasks_request(client, b.url, "tasks/get", {"taskId": task_id}, id=i)
            assert found["result"]["taskId"] == task_id, found
