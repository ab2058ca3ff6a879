"""The child's lists, served from memory: a child's `list_changed` makes the bridge read
the list again, and when it differs from the one served, every listening client is told."""

from __future__ import annotations

import asyncio

from stdio_serving import EVERYTHING, require

from cloudmcp.stdio import StdioApp, StdioConfig


async def test_a_changed_list_is_read_again_and_announced() -> None:
    app = StdioApp([require(EVERYTHING)], StdioConfig(pool_size=2))
    service = app.compose()
    try:
        await app.start()
        # server-everything registers its tools for sampling, elicitation and roots just
        # after `initialized` and says so: the list read at start-up is replaced.
        for _ in range(100):
            if "trigger-sampling-request" in app.tools:
                break
            await asyncio.sleep(0.05)
        assert "trigger-sampling-request" in app.tools
        listed = set(app.tools)
        generation = app.generation
        log = service.engine.keys.notifications
        start = await service.store.tail(log)

        # A list that went stale (as when a child's tools change) is put right the next
        # time a child announces a change: here, a second child's start-up announcements.
        del app.tools["echo"]
        async with app.pool.lease(), app.pool.lease():
            for _ in range(100):
                if "echo" in app.tools:
                    break
                await asyncio.sleep(0.05)
        assert set(app.tools) == listed
        assert app.generation > generation
        events = await service.store.read({log: start}, timeout=1)
        assert b"notifications/tools/list_changed" in b"".join(e.data for e in events)
    finally:
        await app.close()
        await service.close()
