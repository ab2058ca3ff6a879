"""A tiny app for the operations tests: a slow tool, a failing one, a quick one."""

from __future__ import annotations

import asyncio
import os

from cloudmcp import MCPApp

app = MCPApp("ops-test", "1.2.3")


@app.tool()
async def slow(seconds: float = 2.0) -> str:
    """Sleeps, then answers: a call in flight when SIGTERM arrives."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@app.tool()
def echo(text: str) -> str:
    """Answers with its argument."""
    return text


@app.tool()
def fails(reason: str = "boom") -> str:
    """Always fails: a tool error (isError: true)."""
    raise ValueError(reason)


@app.tool()
def secret_echo(api_key: str) -> str:
    """Takes a secret argument that must never reach a log line."""
    return "ok" if api_key else "missing"


@app.prompt()
def review(code: str) -> str:
    """Asks for a review of `code`."""
    return f"Review this: {code}"


@app.resource("notes://today")
def today() -> str:
    """Today's notes."""
    return "nothing yet"


@app.resource("notes://day/{day}")
def day(day: str) -> str:
    """One day's notes."""
    return f"notes of {day}"


def factory():  # type: ignore[no-untyped-def]
    """For `uvicorn --factory --workers N tests.ops.slow_app:factory`."""
    from cloudmcp.ops import OpsConfig

    host = os.environ.get("BIND_HOST", "127.0.0.1")
    return app.http_app(bind_host=host, operations=OpsConfig.from_env())
