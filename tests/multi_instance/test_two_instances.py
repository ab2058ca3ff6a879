"""Two processes, one Redis: whatever one instance starts, the other can continue.

Each test picks which instance serves which request, so every hand-over is exercised
on purpose rather than by a load balancer's luck.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from instances import STATE_APP, Instance, start, state_key
from redis_support import RedisTarget
from session_client import (
    events,
    headers,
    initialize,
    modern_call,
    post,
    request,
    result,
    tool,
)
from wire import meta, modern_headers

from cloudmcp.protocol.errors import RATE_LIMITED

CANCELLED = -32800


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15) as client:
        yield client


def pid(instance: Instance) -> str:
    return str(instance.process.pid)


async def test_instance_header_names_each_instance(
    client: httpx.AsyncClient, pair: list[Instance]
) -> None:
    names = {
        (await client.get(i.url.replace("/mcp", "/health"))).headers["x-cloudmcp-instance"]
        for i in pair
    }
    assert names == {"instance-1", "instance-2"}


async def test_a_session_opened_on_one_instance_is_served_by_the_other(
    client: httpx.AsyncClient, pair: list[Instance]
) -> None:
    a, b = pair
    session = await initialize(client, a.url)
    answer = result(await post(client, b.url, session, tool("whoami")))
    assert answer["result"]["content"][0]["text"] == pid(b)
    level = request("logging/setLevel", {"level": "error"}, id=2)
    assert "result" in result(await post(client, b.url, session, level))
    assert "result" in result(await post(client, a.url, session, request("ping", id=3)))


async def test_a_sessions_keys_share_one_slot(
    client: httpx.AsyncClient, pair: list[Instance], key_prefix: str, redis_target: RedisTarget
) -> None:
    """On a cluster, a session's record and its SSE logs live in one hash slot (its id
    is their hash tag), on the master that serves it; sessions spread over the masters."""
    cluster = redis_target.cluster
    if cluster is None:
        return  # one Redis: no slots to share
    a, b = pair
    masters: set[int] = set()
    for _ in range(30):  # every master gets some: all but certain (1 - 3 * (2/3)**30)
        session = await initialize(client, a.url)
        call = tool("slow", {"steps": 1, "delay": 0}, progressToken="p")
        assert "result" in result(await post(client, b.url, session, call))
        record = f"{key_prefix}session:{{{session}}}"
        master = cluster.master_of(record)
        masters.add(master.port)
        slot = master.cli("cluster", "keyslot", record).strip()
        keys = master.cli("cluster", "getkeysinslot", slot, "100").split()
        assert record in keys
        # The POST that streamed progress logged its events beside the record.
        assert any(key.startswith(f"{key_prefix}sse:{{{session}}}:") for key in keys), keys
    assert len(masters) == len(cluster.masters())


async def test_delete_on_one_instance_ends_the_session_everywhere(
    client: httpx.AsyncClient, pair: list[Instance]
) -> None:
    a, b = pair
    session = await initialize(client, a.url)
    async with client.stream("GET", a.url, headers=headers(session)) as stream:
        assert stream.status_code == 200
        deleted = await client.delete(b.url, headers=headers(session))
        assert deleted.status_code == 204
        # A's standalone stream ends: the DELETE reached it through the store.
        async with asyncio.timeout(5):
            async for _ in stream.aiter_bytes():
                pass
    for instance in pair:
        gone = await post(client, instance.url, session, request("ping", id=9))
        assert gone.status_code == 404


async def test_the_client_answers_an_elicitation_through_the_other_instance(
    client: httpx.AsyncClient, pair: list[Instance]
) -> None:
    a, b = pair
    session = await initialize(client, a.url)
    for round_trip in range(2):  # a result that needed input is never cached
        body = tool("ask_name", id=f"call-{round_trip}")
        async with client.stream("POST", a.url, json=body, headers=headers(session)) as stream:
            async with asyncio.timeout(10):
                async for _, message in events(stream):
                    if message.get("method") == "elicitation/create":
                        answer = {
                            "jsonrpc": "2.0",
                            "id": message["id"],
                            "result": {"action": "accept", "content": {"name": f"Ada{round_trip}"}},
                        }
                        delivered = await post(client, b.url, session, answer)
                        assert delivered.status_code == 202
                    elif "result" in message:
                        text = message["result"]["content"][0]["text"]
                        assert text == f"hello Ada{round_trip} from {pid(a)}"
                        break
                else:
                    pytest.fail("the stream ended without a result")


async def test_a_stream_cut_on_one_instance_resumes_on_the_other(
    client: httpx.AsyncClient, pair: list[Instance]
) -> None:
    a, b = pair
    session = await initialize(client, a.url)
    body = tool("slow", {"steps": 6, "delay": 0.2}, id="resumable", progressToken="p")
    seen: list[str] = []
    async with client.stream("POST", a.url, json=body, headers=headers(session)) as stream:
        async for event_id, message in events(stream):
            if message.get("method") == "notifications/progress":
                assert event_id is not None
                seen.append(event_id)
                if len(seen) == 2:
                    break  # the connection drops here
    resume = headers(session, **{"last-event-id": seen[-1]})
    replayed: list[tuple[str | None, dict[str, object]]] = []
    async with client.stream("GET", b.url, headers=resume) as stream:
        assert stream.status_code == 200
        async with asyncio.timeout(10):
            async for event in events(stream):
                replayed.append(event)
    progress = [m["params"]["progress"] for _, m in replayed if "method" in m]  # type: ignore[index]
    assert progress == [3, 4, 5, 6]
    final = replayed[-1][1]
    assert final["id"] == "resumable"
    assert final["result"]["content"][0]["text"] == f"slept 6 steps in {pid(a)}"  # type: ignore[index]
    ids = [event_id for event_id, _ in replayed]
    assert len(set(ids)) == len(ids) and not set(ids) & set(seen)


async def test_a_cancellation_sent_to_the_other_instance_stops_the_call(
    client: httpx.AsyncClient, pair: list[Instance]
) -> None:
    a, b = pair
    session = await initialize(client, a.url)
    body = tool("slow", {"steps": 100, "delay": 0.1}, id="doomed", progressToken="p")
    started = asyncio.get_running_loop().time()
    async with client.stream("POST", a.url, json=body, headers=headers(session)) as stream:
        async with asyncio.timeout(8):
            async for _, message in events(stream):
                if message.get("method") == "notifications/progress":
                    if message["params"]["progress"] == 2:
                        cancel = {
                            "jsonrpc": "2.0",
                            "method": "notifications/cancelled",
                            "params": {"requestId": "doomed", "reason": "test"},
                        }
                        assert (await post(client, b.url, session, cancel)).status_code == 202
                elif "id" in message:
                    assert message["error"]["code"] == CANCELLED
                    break
    assert asyncio.get_running_loop().time() - started < 5  # not the 10 s the call would take


async def test_tool_rate_limit_holds_across_instances(
    client: httpx.AsyncClient, pair: list[Instance]
) -> None:
    a, b = pair
    session = await initialize(client, a.url)
    for instance in (a, b, a):
        assert "result" in result(await post(client, instance.url, session, tool("limited")))
    refused = await post(client, b.url, session, tool("limited", id=7))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    error = refused.json()
    assert error["id"] == 7
    assert error["error"]["code"] == RATE_LIMITED
    assert "3/60s" in error["error"]["message"] and "limited" in error["error"]["message"]
    # Other tools are not limited; 2026-07-28 calls count toward the same window.
    assert "result" in result(await post(client, b.url, session, tool("whoami")))
    stateless = await modern_call(client, a.url, "limited", {})
    assert stateless.status_code == 429 and "retry-after" in stateless.headers


async def test_cached_results_are_shared_but_failures_are_not(
    client: httpx.AsyncClient, pair: list[Instance]
) -> None:
    a, b = pair
    x = secrets.randbelow(10**9)
    first = await modern_call(client, a.url, "cached", {"x": x})
    text = first.json()["result"]["content"][0]["text"]
    assert text.startswith(f"{x} computed by {pid(a)}")
    session = await initialize(client, b.url)
    again = result(await post(client, b.url, session, tool("cached", {"x": x})))
    assert again["result"]["content"][0]["text"] == text  # B served A's result
    other = await modern_call(client, b.url, "cached", {"x": x + 1})
    assert f"computed by {pid(b)}" in other.json()["result"]["content"][0]["text"]
    for instance in (a, b):
        failed = await modern_call(client, instance.url, "cached_failure", {"x": x})
        assert failed.json()["result"]["isError"] is True
        assert pid(instance) in failed.json()["result"]["content"][0]["text"]


async def test_listen_streams_get_changes_made_on_another_instance(
    client: httpx.AsyncClient, pair: list[Instance]
) -> None:
    a, b = pair
    body = {
        "jsonrpc": "2.0",
        "id": "listen-1",
        "method": "subscriptions/listen",
        "params": {"notifications": {"toolsListChanged": True}, "_meta": meta()},
    }
    listen = modern_headers("subscriptions/listen")
    async with client.stream("POST", a.url, json=body, headers=listen) as stream:
        async with asyncio.timeout(10):
            async for _, message in events(stream):
                if message.get("method") == "notifications/subscriptions/acknowledged":
                    changed = await modern_call(client, b.url, "change_tools", {})
                    assert changed.status_code == 200
                elif message.get("method") == "notifications/tools/list_changed":
                    assert message["params"]["_meta"] == {
                        "io.modelcontextprotocol/subscriptionId": "listen-1"
                    }
                    break


async def test_legacy_subscribers_hear_of_updates_made_on_another_instance(
    client: httpx.AsyncClient, pair: list[Instance]
) -> None:
    a, b = pair
    session = await initialize(client, a.url)
    uri = f"test://watched/{secrets.token_hex(4)}"
    subscribe = request("resources/subscribe", {"uri": uri}, id=2)
    assert "result" in result(await post(client, b.url, session, subscribe))
    async with client.stream("GET", a.url, headers=headers(session)) as stream:
        await asyncio.sleep(0.3)  # let the stream take its position
        other = await initialize(client, b.url)
        assert "result" in result(await post(client, b.url, other, tool("touch", {"uri": uri})))
        async with asyncio.timeout(10):
            async for _, message in events(stream):
                if message.get("method") == "notifications/resources/updated":
                    assert message["params"]["uri"] == uri
                    break


async def test_request_state_keys_rotate_across_instances(
    client: httpx.AsyncClient, tmp_path: Path, key_prefix: str, redis_target: RedisTarget
) -> None:
    """An instance still on the old key and one already sealing with the new: state
    sealed with the old key opens on both; state sealed with the new opens only where
    the new key is known."""
    old_key, new_key = state_key("k1"), state_key("k2")
    common = {"KEY_PREFIX": key_prefix, "REDIS_URL": redis_target.url(0)}
    old = start("old-ring", STATE_APP, tmp_path, {**common, "STATE_KEYS": old_key})
    new = start("new-ring", STATE_APP, tmp_path, {**common, "STATE_KEYS": f"{new_key},{old_key}"})
    try:
        answers = {"input-1": {"action": "accept", "content": {"name": "Grace"}}}
        for sealer, opener, opens in ((old, new, True), (new, old, False), (new, new, True)):
            first = (await modern_call(client, sealer.url, "ask_name", {})).json()["result"]
            assert first["resultType"] == "input_required"
            state = first["requestState"]
            assert state.startswith("k2." if sealer is new else "k1.")
            retry = await modern_call(
                client, opener.url, "ask_name", {}, inputResponses=answers, requestState=state
            )
            body = retry.json()
            if opens:
                assert body["result"]["content"][0]["text"].startswith("hello Grace")
            else:
                assert body["error"]["code"] == -32602
    finally:
        old.stop()
        new.stop()
