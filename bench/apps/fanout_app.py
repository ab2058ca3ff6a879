"""The app of bench/redis_fanout.py: one tool that changes the tool list."""

from cloudmcp import MCPApp

app = MCPApp("fanout")


@app.tool()
async def change_tools() -> str:
    await app.notify_list_changed("tools")
    return "notified"
