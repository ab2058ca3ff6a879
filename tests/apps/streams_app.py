"""An app for the stream tests: progress, detached streams, notifications, slow calls."""

from __future__ import annotations

import asyncio

from cloudmcp import Context, MCPApp

app = MCPApp("streams-test")
running = 0


@app.tool()
async def count(to: int, ctx: Context) -> str:
    """Report progress from 1 to `to`."""
    for step in range(1, to + 1):
        await ctx.report_progress(step, total=to)
    return f"counted to {to}"


@app.tool()
async def detach_then_finish(ctx: Context) -> str:
    """End the response stream early; the result arrives on resumption."""
    await ctx.close_stream()
    await asyncio.sleep(0.3)
    return "finished after detaching"


@app.tool()
async def change_tools() -> str:
    """Announce that the tool list changed."""
    await app.notify_list_changed("tools")
    return "announced"


@app.tool()
async def touch_note() -> str:
    """Announce that note://today changed."""
    await app.notify_resource_updated("note://today")
    return "touched"


@app.tool()
async def sleep(seconds: float, ctx: Context) -> str:
    """Sleep, after one progress report; counts as running meanwhile."""
    global running
    running += 1
    try:
        await ctx.report_progress(0, total=seconds)
        await asyncio.sleep(seconds)
        return "slept"
    finally:
        running -= 1


@app.tool()
def sleeping() -> int:
    """How many `sleep` calls are running."""
    return running


@app.resource("note://today", mime_type="text/plain")
def today() -> str:
    return "remember the milk"


@app.prompt()
def greet(name: str) -> str:
    return f"Say hello to {name}."
