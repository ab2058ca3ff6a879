"""cloudmcp: Model Context Protocol servers in production.

Write tools, resources and prompts once with `MCPApp`; serve them with
`cloudmcp serve`, on Cloud Run, or on AWS Lambda.
"""

from cloudmcp.app.application import MCPApp
from cloudmcp.app.content import (
    Audio,
    Content,
    EmbeddedResource,
    Image,
    ResourceLink,
    TextContent,
    ToolResult,
)
from cloudmcp.app.schema import Header
from cloudmcp.app.tools import ToolError
from cloudmcp.protocol.context import Context, ElicitResult
from cloudmcp.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "Audio",
    "Content",
    "Context",
    "ElicitResult",
    "EmbeddedResource",
    "Header",
    "Image",
    "MCPApp",
    "ResourceLink",
    "Settings",
    "TextContent",
    "ToolError",
    "ToolResult",
]
