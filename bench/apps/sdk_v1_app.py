"""The official SDK's v1 contender (`mcp` 1.x `FastMCP`), the same tools as the others.

cloudmcp serves it unchanged (`CLOUDMCP_APP=sdk_v1_app.py:mcp`); `sdk_v1_lambda.py` runs
it through Mangum, the way its users deploy it on Lambda today.
"""

from mcp.server.fastmcp import FastMCP
from mcp.server.transport_security import TransportSecuritySettings

# Behind API Gateway the Host is the API's domain: no DNS-rebinding check.
mcp = FastMCP(
    "bench",
    stateless_http=True,
    json_response=True,
    transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
)


@mcp.tool()
def echo(text: str) -> str:
    return text


@mcp.tool()
def add(a: float, b: float) -> float:
    return a + b
