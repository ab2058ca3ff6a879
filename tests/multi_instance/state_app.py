"""An app whose tools show which instance served them, for the shared-state tests."""

from __future__ import annotations

import asyncio
import os

from cloudmcp import Context, MCPApp, ToolError

app = MCPApp("cloudmcp-state-test", version="1.0.0")
calls = {"cached": 0}


@app.tool(description="The process that ran this call")
async def whoami() -> str:
    return str(os.getpid())


@app.tool(description="Sleeps, reporting progress each step")
async def slow(ctx: Context, steps: int = 50, delay: float = 0.1) -> str:
    for step in range(steps):
        await ctx.report_progress(step + 1, steps)
        await asyncio.sleep(delay)
    return f"slept {steps} steps in {os.getpid()}"


@app.tool(description="Asks the user's name", cache_ttl=300)
async def ask_name(ctx: Context) -> str:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    answer = await ctx.elicit("What is your name?", schema)
    name = (answer.content or {}).get("name", "nobody")
    return f"hello {name} from {os.getpid()}"


@app.tool(description="Cached: says which process computed it and how often", cache_ttl=300)
async def cached(x: int) -> str:
    calls["cached"] += 1
    return f"{x} computed by {os.getpid()} call {calls['cached']}"


@app.tool(description="Cached, but fails: never kept", cache_ttl=300)
async def cached_failure(x: int) -> str:
    raise ToolError(f"failed {x} in {os.getpid()}")


@app.tool(description="At most three calls a minute per caller", rate_limit="3/60")
async def limited() -> str:
    return "ok"


@app.tool(description="Tells every listener that the tool list changed")
async def change_tools() -> str:
    await app.notify_list_changed("tools")
    return "notified"


@app.tool(description="Tells subscribers that a resource changed")
async def touch(uri: str) -> str:
    await app.notify_resource_updated(uri)
    return "touched"


@app.resource("test://watched", mime_type="text/plain")
def watched() -> str:
    return "watched"
