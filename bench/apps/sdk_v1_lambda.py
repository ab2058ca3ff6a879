"""The SDK v1 app's stateless JSON ASGI app on Lambda through Mangum (its own path)."""

from mangum import Mangum
from sdk_v1_app import mcp

handler = Mangum(mcp.streamable_http_app(), lifespan="auto")
