"""The FastMCP (`fastmcp` 4.x) contender in its stateless JSON mode."""

from fastmcp import FastMCP

server = FastMCP("bench")


@server.tool
def echo(text: str) -> str:
    return text


@server.tool
def add(a: float, b: float) -> float:
    return a + b


json_app = server.http_app(stateless_http=True, json_response=True)
