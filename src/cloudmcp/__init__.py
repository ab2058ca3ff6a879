"""cloudmcp: Model Context Protocol servers in production.

Write tools, resources and prompts once with `MCPApp`; serve them with
`cloudmcp serve`, on Cloud Run, or on AWS Lambda. Test them in-process with
`cloudmcp.testing.TestClient`.
"""

from cloudmcp.app.content import (
    Audio,
    Content,
    EmbeddedResource,
    Image,
    ResourceLink,
    TextContent,
    ToolResult,
)
from cloudmcp.app.context import Context, ElicitResult
from cloudmcp.app.registry import Registry
from cloudmcp.app.schema import Header
from cloudmcp.application import MCPApp
from cloudmcp.errors import CloudMCPError, MCPError, ToolError
from cloudmcp.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "Audio",
    "CloudMCPError",
    "Content",
    "Context",
    "ElicitResult",
    "EmbeddedResource",
    "Header",
    "Image",
    "MCPApp",
    "MCPError",
    "Registry",
    "ResourceLink",
    "Settings",
    "TextContent",
    "ToolError",
    "ToolResult",
]
