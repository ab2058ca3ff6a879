"""Tens of thousands of hostile but small requests leave memory and the store bounded:
refused sessions and subscriptions are never kept, invented names never become state."""

from __future__ import annotations

import gc
import os
import secrets
import tracemalloc

import pytest

from apps import make_app
from cloudmcp.settings import Settings
from cloudmcp.testing import TestClient, initialize_request

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
#: What 20,000 refused requests may leave behind in the process, at most.
BOUND = 2 * 1024 * 1024


async def hostile(client: TestClient, rounds: int) -> None:
    huge = {"x": "y" * 70_000}
    uris = [f"note://{n}" for n in range(101)]
    for n in range(rounds):
        refused = await client.http(
            "POST", initialize_request(capabilities=huge), headers={"accept": "application/json"}
        )
        assert refused.json()["error"]["code"] == -32602
        listen = client._message(
            "subscriptions/listen", {"notifications": {"resourceSubscriptions": uris}}
        )
        headers = client._headers("subscriptions/listen", {})
        assert (await client.http("POST", listen, headers=headers)).status == 200
        invented = f"tool-{n}-{secrets.token_hex(4)}"
        call = await client.http(
            "POST",
            client._message("tools/call", {"name": invented, "arguments": {}}),
            headers=client._headers("tools/call", {"name": invented}),
        )
        assert call.json()["error"]["code"] == -32602


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_hostile_requests_leave_memory_and_the_store_bounded(backend: str) -> None:
    prefix = f"bounded-{secrets.token_hex(4)}:"
    options: dict[str, object] = {}
    if backend == "redis":
        from cloudmcp.state.redis import RedisStore

        options["store"] = RedisStore(REDIS_URL)
    app = make_app(settings=Settings(key_prefix=prefix), **options)
    async with TestClient(app) as client:
        await hostile(client, 200)  # warm-up: caches and first-use allocations
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        await hostile(client, 6_700)  # about 20,000 requests
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        if backend == "redis":
            import redis.asyncio as aioredis

            raw = aioredis.from_url(REDIS_URL)
            keys = [k async for k in raw.scan_iter(match=f"{prefix}*", count=1000)]
            await raw.aclose()
            assert keys == [], keys[:5]
    assert grown < BOUND, f"{grown} bytes kept after 20,000 refused requests"
