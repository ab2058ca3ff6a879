"""The official Python SDK (`mcp` 2.x) contender: one `MCPServer`, two HTTP modes.

`json_app` is the stateless JSON mode; `stateful_app` is the default (sessions, SSE).
"""

from mcp.server import MCPServer
from starlette.applications import Starlette

server = MCPServer("bench")


@server.tool()
def echo(text: str) -> str:
    return text


@server.tool()
def add(a: float, b: float) -> float:
    return a + b


def json_app() -> Starlette:
    """Stateless JSON mode (uvicorn `--factory`)."""
    return server.streamable_http_app(stateless_http=True, json_response=True)


def stateful_app() -> Starlette:
    """The default mode: legacy sessions, SSE responses (uvicorn `--factory`)."""
    return server.streamable_http_app()
