"""The cloudmcp contender: the app `cloudmcp serve bench/apps/cloudmcp_app.py:app` runs."""

from cloudmcp import MCPApp

app = MCPApp("bench")


@app.tool()
def echo(text: str) -> str:
    return text


@app.tool()
def add(a: float, b: float) -> float:
    return a + b
