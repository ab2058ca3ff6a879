"""A test app for tasks across instances: `work` runs only as a task, for `seconds`, and
says which instance finished it; stopped by a cancellation, it leaves a marker file
naming the instance it ran on."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from cloudmcp import MCPApp

app = MCPApp("tasks-test")


@app.tool(task="required")
async def work(seconds: float, marker: str = "") -> str:
    """Work for `seconds` in small steps."""
    try:
        for _ in range(int(seconds * 10)):
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        if marker:
            Path(marker).write_text(os.environ.get("INSTANCE_ID", "?"))
        raise
    return f"done by {os.environ.get('INSTANCE_ID', '?')}"
