"""SSE on the wire: event ids, resumption with Last-Event-ID, the legacy GET stream,
`subscriptions/listen`, and cancellation, against a real `cloudmcp serve`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cloudmcp_serving import Served, serve
from wire import Session, event_ids, events, meta, modern, modern_headers

APP = Path(__file__).resolve().parents[1] / "apps" / "streams_app.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(APP, tmp_path_factory.mktemp("streams") / "server.log")


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15) as client:
        yield client


def _call(
    name: str, arguments: dict[str, object], id: int = 1, **meta_: object
) -> dict[str, object]:
    params: dict[str, object] = {"name": name, "arguments": arguments}
    if meta_:
        params["_meta"] = meta_
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}


def test_progress_streams_with_event_ids_and_a_retry_hint(
    client: httpx.Client, server: Served
) -> None:
    session = Session(client, server.url)
    response = session.post(_call("count", {"to": 3}, progressToken="p1"))
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-accel-buffering"] == "no"
    assert "retry: " in response.text  # 2025-11-25 primes the stream for polling
    messages = events(response.text)
    assert [m["params"]["progress"] for m in messages[:-1]] == [1, 2, 3]
    assert messages[-1]["result"]["content"][0]["text"] == "counted to 3"
    ids = event_ids(response.text)
    assert len(set(ids)) == len(ids) == 5  # priming event + 3 progress + the result


def test_quick_calls_answer_plain_json(client: httpx.Client, server: Served) -> None:
    session = Session(client, server.url)
    response = session.post(_call("count", {"to": 0}))
    assert response.headers["content-type"] == "application/json"
    assert response.json()["result"]["content"][0]["text"] == "counted to 0"


def test_resume_a_closed_stream_with_last_event_id(client: httpx.Client, server: Served) -> None:
    session = Session(client, server.url)
    first = session.post(_call("detach_then_finish", {}))
    # The server closed the stream after priming it; the result comes on resumption.
    assert events(first.text) == []
    last = event_ids(first.text)[-1]
    resumed = client.get(server.url, headers={**session.headers, "last-event-id": last})
    assert resumed.status_code == 200
    messages = events(resumed.text)
    assert messages[-1]["id"] == 1
    assert messages[-1]["result"]["content"][0]["text"] == "finished after detaching"
    # Replaying again from the same id gives the same events: nothing is consumed.
    again = client.get(server.url, headers={**session.headers, "last-event-id": last})
    assert events(again.text) == messages


def test_get_stream_carries_list_changes(client: httpx.Client, server: Served) -> None:
    session = Session(client, server.url)
    received: list[dict[str, object]] = []

    def listen() -> None:
        with client.stream("GET", server.url, headers=session.headers, timeout=10) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and line[5:].strip():
                    received.append(json.loads(line[5:]))
                    return

    reader = threading.Thread(target=listen)
    reader.start()
    time.sleep(0.5)
    with httpx.Client(timeout=10) as other:
        assert Session(other, server.url).call("tools/call", {"name": "change_tools"})["result"]
    reader.join(timeout=10)
    assert received == [
        {"jsonrpc": "2.0", "method": "notifications/tools/list_changed", "params": {}}
    ]


def test_resource_updates_reach_subscribers(client: httpx.Client, server: Served) -> None:
    session = Session(client, server.url)
    assert session.call("resources/subscribe", {"uri": "note://today"})["result"] == {}
    session.call("tools/call", {"name": "touch_note", "arguments": {}})
    # Nothing was listening yet: the update waits in the session's GET stream log.
    headers = {**session.headers, "last-event-id": "get.0"}
    with client.stream("GET", server.url, headers=headers, timeout=10) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and line[5:].strip():
                update = json.loads(line[5:])
                break
    assert update["method"] == "notifications/resources/updated"
    assert update["params"] == {"uri": "note://today"}


def test_listen_acknowledges_and_filters(client: httpx.Client, server: Served) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": "sub-1",
        "method": "subscriptions/listen",
        "params": {
            "_meta": meta(),
            "notifications": {
                "promptsListChanged": True,
                "resourceSubscriptions": ["note://today"],
            },
        },
    }
    received: list[dict[str, object]] = []

    def listen() -> None:
        headers = modern_headers("subscriptions/listen")
        with client.stream("POST", server.url, json=body, headers=headers, timeout=10) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    received.append(json.loads(line[5:]))
                    if len(received) == 2:
                        return

    reader = threading.Thread(target=listen)
    reader.start()
    time.sleep(0.5)
    with httpx.Client(timeout=10) as other:
        # Not asked for: must not arrive. Then one that was.
        assert modern(
            other, server.url, "tools/call", {"name": "change_tools", "arguments": {}}
        ).is_success
        assert modern(
            other, server.url, "tools/call", {"name": "touch_note", "arguments": {}}
        ).is_success
    reader.join(timeout=10)
    tag = {"io.modelcontextprotocol/subscriptionId": "sub-1"}
    assert received[0] == {
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": {
            "_meta": tag,
            "notifications": {
                "promptsListChanged": True,
                "resourceSubscriptions": ["note://today"],
            },
        },
    }
    assert received[1]["method"] == "notifications/resources/updated"
    assert received[1]["params"] == {"uri": "note://today", "_meta": tag}


def test_cancelled_notification_stops_a_legacy_call(client: httpx.Client, server: Served) -> None:
    session = Session(client, server.url)
    answer: list[httpx.Response] = []
    caller = threading.Thread(
        target=lambda: answer.append(session.post(_call("sleep", {"seconds": 30}, id=77)))
    )
    started = time.monotonic()
    caller.start()
    time.sleep(0.5)
    with httpx.Client(timeout=10) as other:
        cancel = other.post(
            server.url,
            json={
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": 77},
            },
            headers=session.headers,
        )
    assert cancel.status_code == 202
    caller.join(timeout=10)
    assert time.monotonic() - started < 20, "the call ran on after it was cancelled"
    assert answer[0].json()["error"]["code"] == -32800
    # The session is fine afterwards.
    assert session.call("ping", id=78)["result"] == {}


def test_closing_a_modern_stream_cancels_the_call(client: httpx.Client, server: Served) -> None:
    params = {"name": "sleep", "arguments": {"seconds": 30}, "_meta": meta(progressToken="s")}
    body = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": params}
    with client.stream(
        "POST", server.url, json=body, headers=modern_headers("tools/call", "sleep")
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                break  # the first progress event: the call is running; now hang up
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = modern(client, server.url, "tools/call", {"name": "sleeping", "arguments": {}})
        if status.json()["result"]["structuredContent"]["result"] == 0:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the tool kept running after its stream closed")
