"""cloudmcp mounted inside a FastAPI app, with the MCP app's lifespan running FastAPI's."""

from __future__ import annotations

from fastapi import FastAPI

from cloudmcp import Context, MCPApp

mcp = MCPApp("mounted")
started: list[str] = []


@mcp.tool()
async def add(a: int, b: int, ctx: Context) -> int:
    """Add two integers."""
    return a + b


@mcp.tool()
def lifespan_state() -> list[str]:
    """What the lifespan recorded."""
    return started


async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    async with mcp.lifespan(app):
        started.append(f"store={mcp.compose().store.backend}")
        yield


api = FastAPI(lifespan=lifespan)


@api.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}


api.mount("/mcp", mcp.http_app(path="/"))
