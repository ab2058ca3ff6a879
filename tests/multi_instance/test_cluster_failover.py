"""A Redis Cluster master fails over (`CLUSTER FAILOVER` on its replica) in the middle
of legacy sessions, open GET streams and a pending elicitation: afterwards every session
carries on, the elicitation completes, and no acknowledged event is lost.

The cluster is this module's own (3 masters, 3 replicas), and every master is failed
over in turn, so whatever slot a session, the notifications log or a reply lives in
changes hands while the instances use it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from instances import STATE_APP, Instance, start_many, state_key
from redis_support import LocalCluster, cluster_target, start_cluster
from session_client import events, headers, initialize, post, request, result, tool

pytestmark = [pytest.mark.redis_cluster, pytest.mark.slow]

SESSIONS = 6


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = start_cluster(tmp_path_factory.mktemp("failover"), masters=3, replicas=1)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, cluster: LocalCluster
) -> Iterator[list[Instance]]:
    env = {
        "KEY_PREFIX": f"failover-{secrets.token_hex(4)}:",
        "STATE_KEYS": state_key("k1"),
        "SSE_KEEPALIVE": "1",
        "RATE_LIMIT": "",
    }
    target = cluster_target("cluster", cluster)
    instances = start_many(2, STATE_APP, tmp_path_factory.mktemp("pair"), env, target)
    yield instances
    for instance in instances:
        instance.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


class Follower:
    """A session's standalone GET stream, reopened with `Last-Event-ID` whenever it ends,
    alternating instances: which `resources/updated` events arrived, by id."""

    def __init__(self, client: httpx.AsyncClient, urls: list[str], session: str) -> None:
        self.client, self.urls, self.session = client, urls, session
        self.updates: dict[str, Any] = {}
        self.reconnects = 0
        self.open = asyncio.Event()
        self.task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        last: str | None = None
        while True:
            url = self.urls[self.reconnects % len(self.urls)]
            extra = {"last-event-id": last} if last else {}
            try:
                async with self.client.stream(
                    "GET", url, headers=headers(self.session, **extra)
                ) as stream:
                    if stream.status_code == 200:
                        self.open.set()
                        async for event_id, message in events(stream):
                            if event_id:
                                last = event_id
                            if message.get("method") == "notifications/resources/updated":
                                assert event_id is not None
                                self.updates[event_id] = message
            except httpx.TransportError:
                pass
            self.reconnects += 1
            await asyncio.sleep(0.2)


async def test_sessions_streams_and_an_elicitation_survive_failovers(
    client: httpx.AsyncClient, pair: list[Instance], cluster: LocalCluster
) -> None:
    a, b = pair
    urls = [a.url, b.url]
    sessions = [await initialize(client, urls[i % 2]) for i in range(SESSIONS)]
    uris = {session: f"test://watched/{secrets.token_hex(4)}" for session in sessions}
    for i, session in enumerate(sessions):
        subscribe = request("resources/subscribe", {"uri": uris[session]}, id=2)
        assert "result" in result(await post(client, urls[i % 2], session, subscribe))
    followers = [Follower(client, urls, session) for session in sessions]
    async with asyncio.timeout(10):
        for follower in followers:
            await follower.open.wait()
    await asyncio.sleep(0.3)  # the streams take their positions

    acknowledged = dict.fromkeys(sessions, 0)
    attempted = dict.fromkeys(sessions, 0)
    refused: list[int] = []

    async def touch_all(round_trip: int) -> None:
        for i, session in enumerate(sessions):
            attempted[session] += 1
            call = tool("touch", {"uri": uris[session]}, id=f"t{round_trip}-{i}")
            response = await post(client, urls[(i + round_trip) % 2], session, call)
            if response.status_code == 200 and "result" in result(response):
                acknowledged[session] += 1
            else:
                refused.append(response.status_code)

    # An elicitation waits on A for an answer that will come through B after failovers.
    asked = asyncio.Event()
    question: dict[str, Any] = {}

    async def elicit() -> str:
        body = tool("ask_name", id="ask")
        async with client.stream("POST", a.url, json=body, headers=headers(sessions[0])) as stream:
            async for _, message in events(stream):
                if message.get("method") == "elicitation/create":
                    question.update(message)
                    asked.set()
                elif message.get("id") == "ask":
                    return str(message["result"]["content"][0]["text"])
        raise AssertionError("the elicitation stream ended without a result")

    elicitation = asyncio.create_task(elicit())
    async with asyncio.timeout(10):
        await asyncio.wait(
            {elicitation, asyncio.create_task(asked.wait())}, return_when="FIRST_COMPLETED"
        )
    assert asked.is_set(), elicitation

    for round_trip in range(3):
        await touch_all(round_trip)

    old_masters = [node.port for node in cluster.masters()]
    replicas = [cluster.replica_of(master) for master in cluster.masters()]

    async def fail_over() -> None:
        for replica in replicas:
            await asyncio.to_thread(cluster.failover, replica)

    failing = asyncio.create_task(fail_over())
    round_trip = 3
    while not failing.done():
        await touch_all(round_trip)
        round_trip += 1
    await failing
    assert {node.port for node in cluster.masters()} == {r.port for r in replicas}
    assert not {node.port for node in cluster.masters()} & set(old_masters)
    for _ in range(3):
        await touch_all(round_trip)
        round_trip += 1

    # The elicitation, asked before the failovers, is answered through the other instance.
    answer = {
        "jsonrpc": "2.0",
        "id": question["id"],
        "result": {"action": "accept", "content": {"name": "Ada"}},
    }
    assert (await post(client, b.url, sessions[0], answer)).status_code == 202
    async with asyncio.timeout(15):
        assert (await elicitation).startswith("hello Ada from ")

    # Every acknowledged update reached its session's stream, live or on resumption.
    async with asyncio.timeout(15):
        while any(len(f.updates) < acknowledged[f.session] for f in followers):
            await asyncio.sleep(0.1)
    for follower in followers:
        assert acknowledged[follower.session] <= len(follower.updates)
        assert len(follower.updates) <= attempted[follower.session]
        assert {m["params"]["uri"] for m in follower.updates.values()} == {uris[follower.session]}
    # Every session carries on, on both instances.
    for session in sessions:
        for url in urls:
            assert result(await post(client, url, session, request("ping", id=99)))["result"] == {}
    print(
        f"{round_trip} rounds of {SESSIONS} touches, {sum(acknowledged.values())} acknowledged,"
        f" refused: {refused}, stream reconnects: {[f.reconnects for f in followers]}"
    )
    for follower in followers:
        follower.task.cancel()
    await asyncio.gather(*(f.task for f in followers), return_exceptions=True)
